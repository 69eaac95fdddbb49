"""Sweep the deleted instances of every cell for what they left behind.

Deleted instances are read from each cell database through Nova's objects,
in batches (``id`` order, with a marker), so memory does not grow with
their number; each batch is checked with the bulk lookups of
:mod:`nova_delete_ext.leak_index`.

Which kinds are checked for an instance comes from the state it was
deleted from, through :meth:`nova_delete_ext.states.InstanceState.may_hold`.
The row of a deleted instance says ``vm_state`` ``deleted``; what it still
tells is its ``host`` and its ``system_metadata``, which Nova's instance
list reads for deleted instances too (it joins ``instance_system_metadata``
with ``read_deleted='yes'``). Shelve leaves ``shelved_image_id`` there until
an unshelve removes it, and shelve offload clears ``host``.

The allocations of an instance's migrations are checked with its own: the
placement consumers that are migrations deleted with their instance are
looked up in each cell's ``migrations`` table. Who created a port left
bound (Nova, which deletes it on repair, or the user) comes from the
network info cache the deleted instance kept, when it still tells.
"""

import dataclasses

from nova.compute import vm_states
from nova import context as nova_context
from nova import objects
from oslo_log import log as logging
from oslo_utils import timeutils

from nova_delete_ext import exception
from nova_delete_ext.leaks import index as leak_index
from nova_delete_ext.leaks import novadb
from nova_delete_ext import states

LOG = logging.getLogger(__name__)

#: The kinds a sweep can check. A domain needs the compute host's driver:
#: nova-compute's running_deleted_instance_action looks after it.
SWEPT = frozenset({states.ALLOCATIONS, states.PORTS, states.VOLUMES,
                   states.SHELVE_IMAGE})
#: Kinds whose bulk index names every instance that could leak them.
INDEXED = frozenset({states.ALLOCATIONS, states.VOLUMES})
DEFAULT_BATCH = 500


class UnknownCell(exception.DeleteExtError):
    msg_fmt = 'No cell is named or has the uuid %(cell)s'


@dataclasses.dataclass(frozen=True)
class Filters:
    """Which deleted instances to sweep; times are naive UTC datetimes."""

    since: object = None
    before: object = None
    project_id: str | None = None
    cell: str | None = None


def state_at_delete(instance):
    """The :class:`~nova_delete_ext.states.InstanceState` before the delete.

    Only what the row still tells: shelved (with or without a host),
    on a host, or never on one. The vm_state is a representative of each
    of those groups, not necessarily the exact one.
    """
    shelved = states.SHELVE_IMAGE_KEY in (instance.system_metadata or {})
    if shelved:
        vm_state = (vm_states.SHELVED if instance.host
                    else vm_states.SHELVED_OFFLOADED)
    else:
        vm_state = vm_states.ACTIVE if instance.host else vm_states.ERROR
    return states.InstanceState(vm_state=vm_state, task_state=None,
                                power_state=None, host=instance.host)


def restorable(instance):
    """A soft-deleted instance still owns all it holds until reclaimed."""
    return not instance.deleted and instance.vm_state == vm_states.SOFT_DELETED


def wanted(instance, kinds=SWEPT, migration_uuids=()):
    """The :class:`~nova_delete_ext.leak_index.Wanted` for one instance.

    :param migration_uuids: its migrations that still hold allocations;
        they are checked whatever state it was deleted from, as no
        migration of a deleted instance holds anything on purpose.
    """
    if restorable(instance):
        return leak_index.Wanted(instance.uuid, frozenset())
    kinds = frozenset(kinds)
    held = state_at_delete(instance).may_hold() & SWEPT & kinds
    if migration_uuids and states.ALLOCATIONS in kinds:
        held |= {states.ALLOCATIONS}
    created = None
    if (states.PORTS in held and instance.obj_attr_is_set('info_cache') and
            instance.info_cache is not None):
        created = novadb.nova_created(instance.info_cache.network_info)
    return leak_index.Wanted(
        instance.uuid, frozenset(held),
        (instance.system_metadata or {}).get(states.SHELVE_IMAGE_KEY),
        tuple(migration_uuids), created)


def select_cells(context, name_or_uuid=None):
    """Every cell mapping, or the one named (by name or uuid)."""
    cells = objects.CellMappingList.get_all(context)
    if not name_or_uuid:
        return list(cells)
    chosen = [c for c in cells if name_or_uuid in (c.uuid, c.name)]
    if not chosen:
        raise UnknownCell(cell=name_or_uuid)
    return chosen


def _in_window(instance, filters):
    deleted_at = instance.deleted_at
    if deleted_at is None:
        return filters.since is None and filters.before is None
    deleted_at = timeutils.normalize_time(deleted_at)
    if filters.since is not None and deleted_at < filters.since:
        return False
    return filters.before is None or deleted_at < filters.before


def _query(filters):
    """Nova's instance filters for ``filters``.

    Nova's ``deleted`` filter includes soft-deleted instances. ``since``
    also narrows the query with Nova's ``changes-since`` (the last change
    of a deleted row is its delete); both bounds are then compared with
    ``deleted_at``.
    """
    query = {'deleted': True}
    if filters.project_id:
        query['project_id'] = filters.project_id
    if filters.since is not None:
        query['changes-since'] = filters.since
    return query


def _without_cycles(instance_list):
    """The instances of an ``InstanceList``, as a plain list.

    Nova's objects point back at their owner from their collections: an
    ``InstanceList`` from its ``objects`` list, an ``Instance`` from its
    ``system_metadata`` dict. Such cycles are freed only by Python's full
    garbage collection, which in a process holding many objects runs
    rarely, so a sweep's memory would grow with every batch read. Dropping
    the list's ``objects`` here, and each instance's metadata in
    :func:`drop_cycles`, lets reference counting free a batch once it is done.
    """
    instances = list(instance_list)
    del instance_list.objects
    return instances


def drop_cycles(instances):
    """Let reference counting free ``instances`` the sweep is done with.

    That is, once :func:`wanted` has read them, or once they are left out
    of the window. Why, in :func:`_without_cycles`.
    """
    for instance in instances:
        for name in ('system_metadata', 'info_cache'):
            if instance.obj_attr_is_set(name):
                delattr(instance, name)


def _within(instances, filters):
    """The instances deleted within the window; the others are dropped."""
    inside = []
    for instance in instances:
        if _in_window(instance, filters):
            inside.append(instance)
        else:
            drop_cycles([instance])
    return inside


def deleted_batches(cell_context, filters, batch_size=DEFAULT_BATCH,
                    network_info=False):
    """Yield lists of deleted (and soft-deleted) instances of one cell.

    :param network_info: also read each one's network info cache.
    """
    query = _query(filters)
    attrs = ['system_metadata'] + (['info_cache'] if network_info else [])
    marker = None
    while True:
        batch = _without_cycles(objects.InstanceList.get_by_filters(
            cell_context, dict(query), sort_keys=['id'], sort_dirs=['asc'],
            limit=batch_size, marker=marker, expected_attrs=attrs))
        if not batch:
            return
        marker = batch[-1].uuid
        yield _within(batch, filters)


def candidate_batches(cell_context, filters, uuids,
                      batch_size=DEFAULT_BATCH):
    """Yield lists of the deleted instances among ``uuids`` of one cell.

    For a sweep of indexed kinds only: the services named every instance
    that may leak, so only those rows are read, not every deleted one.
    """
    query = _query(filters)
    for start in range(0, len(uuids), batch_size):
        batch = _without_cycles(objects.InstanceList.get_by_filters(
            cell_context, dict(query, uuid=uuids[start:start + batch_size]),
            sort_keys=['id'], sort_dirs=['asc'],
            expected_attrs=['system_metadata']))
        yield _within(batch, filters)


@dataclasses.dataclass
class Counts:
    instances: int = 0
    restorable: int = 0
    cells: int = 0
    failed_cells: list = dataclasses.field(default_factory=list)


class Sweep:
    """One sweep: iterate :meth:`leaks` and read :attr:`counts` after."""

    def __init__(self, context, clients, filters, kinds=SWEPT,
                 batch_size=DEFAULT_BATCH, progress=None):
        self.context = context
        self.filters = filters
        self.kinds = frozenset(kinds) & SWEPT
        self.batch_size = batch_size
        self.progress = progress or (lambda counts, found: None)
        self.clients = clients
        self.finder = leak_index.BulkFinder(context, clients)
        self.counts = Counts()
        # {instance_uuid: [migration uuid]} of the cell being swept.
        self._migrations = {}

    def leaks(self):
        """Yield each :class:`~nova_delete_ext.leaks.Leak` found.

        A cell whose database cannot be read is logged and named in
        ``counts.failed_cells``; the other cells are still swept. An error
        of a service the leaks are looked up in stops the sweep.
        """
        found = 0
        for cell in select_cells(self.context, self.filters.cell):
            self.counts.cells += 1
            batches = self._cell_batches(cell)
            for batch in batches:
                items = [wanted(inst, self.kinds,
                                self._migrations.get(inst.uuid, ()))
                         for inst in batch]
                self.counts.instances += len(items)
                self.counts.restorable += sum(1 for inst in batch
                                              if restorable(inst))
                drop_cycles(batch)
                for leak in self.finder.find(i for i in items if i.kinds):
                    found += 1
                    yield leak
                self.progress(self.counts, found)

    def _cell_batches(self, cell):
        self._migrations = {}
        # A service that cannot answer stops the sweep, as below.
        consumers = (list(self.finder.allocations())
                     if states.ALLOCATIONS in self.kinds else [])
        with nova_context.target_cell(self.context, cell) as cctxt:
            try:
                if consumers:
                    self._migrations = self.clients.call(
                        'nova', novadb.deleted_migrations, cctxt, consumers)
            except Exception:
                LOG.exception('Could not read the migrations of cell %s; '
                              'it is left out of this sweep.', cell.identity)
                self.counts.failed_cells.append(cell.identity)
                return
            if self.kinds <= INDEXED:
                uuids = set(self.finder.candidates(self.kinds))
                uuids.update(self._migrations)
                batches = candidate_batches(
                    cctxt, self.filters, sorted(uuids), self.batch_size)
            else:
                batches = deleted_batches(
                    cctxt, self.filters, self.batch_size,
                    network_info=states.PORTS in self.kinds)
            while True:
                try:
                    batch = next(batches)
                except StopIteration:
                    return
                except Exception:
                    LOG.exception('Could not read the deleted instances of '
                                  'cell %s; it is left out of this sweep.',
                                  cell.identity)
                    self.counts.failed_cells.append(cell.identity)
                    return
                yield batch
