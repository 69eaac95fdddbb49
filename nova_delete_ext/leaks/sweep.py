"""Sweep the deleted instances of every cell for what they left behind.

Deleted instances are read from each cell database through Nova's database
layer (its cell context managers and models), in batches in ``id`` order,
and only the columns a sweep needs: no Nova object is built, so reading is
cheap and memory does not grow with their number. Each batch is checked
with the bulk lookups of :mod:`nova_delete_ext.leaks.index`.

Which kinds are checked for an instance comes from the state it was
deleted from, through :meth:`nova_delete_ext.states.InstanceState.may_hold`.
The row of a deleted instance says ``vm_state`` ``deleted``; what it still
tells is its ``host`` and its ``system_metadata``, which Nova soft-deletes
with the instance (and so reads for deleted instances too). Shelve leaves
``shelved_image_id`` there until an unshelve removes it, and shelve offload
clears ``host``.

The allocations of an instance's migrations are checked with its own: the
placement consumers that are migrations deleted with their instance are
looked up in each cell's ``migrations`` table. Who created a port left
bound (Nova, which deletes it on repair, or the user) comes from the
network info cache the deleted instance kept, when it still tells; it is
read only for the instances whose ports are found.
"""

import collections
import dataclasses
import functools

from nova.compute import vm_states
from nova import context as nova_context
from nova.db.main import api as main_db
from nova.db.main import models
from nova import objects
from oslo_log import log as logging
import sqlalchemy as sa

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
DEFAULT_BATCH = 1000


class UnknownCell(exception.DeleteExtError):
    msg_fmt = 'No cell is named or has the uuid %(cell)s'


@dataclasses.dataclass(frozen=True)
class Filters:
    """Which deleted instances to sweep; times are naive UTC datetimes."""

    since: object = None
    before: object = None
    project_id: str | None = None
    cell: str | None = None


#: The columns of a deleted instance's row a sweep reads, as named in the
#: rows of :func:`deleted_batches` and :func:`candidate_batches`.
#: ``shelve_image_id`` is the ``shelved_image_id`` system_metadata entry.
DeletedRow = collections.namedtuple(
    'DeletedRow', 'id uuid host deleted vm_state shelve_image_id')


def state_at_delete(row):
    """The :class:`~nova_delete_ext.states.InstanceState` before the delete.

    Only what the row still tells: shelved (with or without a host),
    on a host, or never on one. The vm_state is a representative of each
    of those groups, not necessarily the exact one.
    """
    if row.shelve_image_id is not None:
        vm_state = (vm_states.SHELVED if row.host
                    else vm_states.SHELVED_OFFLOADED)
    else:
        vm_state = vm_states.ACTIVE if row.host else vm_states.ERROR
    return states.InstanceState(vm_state=vm_state, task_state=None,
                                power_state=None, host=row.host)


def restorable(row):
    """A soft-deleted instance still owns all it holds until reclaimed."""
    _id, _uuid, _host, deleted, vm_state, _image = row
    return not deleted and vm_state == vm_states.SOFT_DELETED


def wanted(row, kinds=SWEPT, migration_uuids=()):
    """The :class:`~nova_delete_ext.leaks.index.Wanted` for one row.

    :param migration_uuids: its migrations that still hold allocations;
        they are checked whatever state it was deleted from, as no
        migration of a deleted instance holds anything on purpose.
    """
    if restorable(row):
        return leak_index.Wanted(row[1], frozenset())
    _id, uuid, host, _deleted, _vm_state, shelve_image_id = row
    kinds = frozenset(kinds)
    held = _held(bool(host), shelve_image_id is not None, kinds)
    if migration_uuids and states.ALLOCATIONS in kinds:
        held |= {states.ALLOCATIONS}
    return leak_index.Wanted(uuid, held, shelve_image_id,
                             tuple(migration_uuids))


@functools.lru_cache(maxsize=64)
def _held(on_host, shelved, kinds):
    """What a row deleted on a host or not, shelved or not, may hold.

    The rows tell only these two things: four answers for every row.
    """
    row = DeletedRow(None, None, 'host' if on_host else None, 1,
                     vm_states.DELETED, 'image' if shelved else None)
    return state_at_delete(row).may_hold() & SWEPT & kinds


def select_cells(context, name_or_uuid=None):
    """Every cell mapping, or the one named (by name or uuid)."""
    cells = objects.CellMappingList.get_all(context)
    if not name_or_uuid:
        return list(cells)
    chosen = [c for c in cells if name_or_uuid in (c.uuid, c.name)]
    if not chosen:
        raise UnknownCell(cell=name_or_uuid)
    return chosen


def _query(filters):
    """The select of the deleted and soft-deleted rows ``filters`` asks.

    The same rows as Nova's instance list with its ``deleted`` filter (which
    includes soft-deleted instances and leaves hidden ones out), with only
    the columns of :data:`DeletedRow`. The window is compared with
    ``deleted_at``: a row without one is in no window.
    """
    inst = models.Instance
    meta = models.InstanceSystemMetadata
    # Nova hard-deletes a system_metadata entry it removes and soft-deletes
    # the rest with the instance: at most one row per key, deleted or not.
    query = sa.select(
        inst.id, inst.uuid, inst.host, inst.deleted, inst.vm_state,
        meta.value.label('shelve_image_id'),
    ).outerjoin(meta, sa.and_(meta.instance_uuid == inst.uuid,
                              meta.key == states.SHELVE_IMAGE_KEY)).where(
        sa.or_(inst.deleted == inst.id,
               inst.vm_state == vm_states.SOFT_DELETED),
        sa.or_(inst.hidden == sa.false(), inst.hidden == sa.null()))
    if filters.project_id:
        query = query.where(inst.project_id == filters.project_id)
    if filters.since is not None:
        query = query.where(inst.deleted_at >= filters.since)
    if filters.before is not None:
        query = query.where(inst.deleted_at < filters.before)
    return query.order_by(inst.id)


@main_db.pick_context_manager_reader_allow_async
def _read(context, query, **params):
    return context.session.execute(query, params).all()


def deleted_batches(cell_context, filters, batch_size=DEFAULT_BATCH):
    """Yield lists of deleted (and soft-deleted) rows of one cell.

    Each a list of up to ``batch_size`` rows with the fields of
    :data:`DeletedRow`, read after the last ``id`` of the one before.
    """
    # One statement for every batch, the marker a parameter: SQLAlchemy
    # compiles it once.
    query = _query(filters).where(
        models.Instance.id > sa.bindparam('marker')).limit(batch_size)
    marker = 0
    while True:
        batch = _read(cell_context, query, marker=marker)
        if not batch:
            return
        marker = batch[-1].id
        yield batch


def candidate_batches(cell_context, filters, uuids,
                      batch_size=DEFAULT_BATCH):
    """Yield lists of the deleted rows among ``uuids`` of one cell.

    For a sweep of indexed kinds only: the services named every instance
    that may leak, so only those rows are read, not every deleted one.
    """
    query = _query(filters)
    for start in range(0, len(uuids), batch_size):
        yield _read(cell_context, query.where(
            models.Instance.uuid.in_(uuids[start:start + batch_size])))


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
        self.finder = leak_index.BulkFinder(
            context, clients, owners=functools.partial(self._owners, context))
        self.counts = Counts()
        # {instance_uuid: [migration uuid]} of the cell being swept.
        self._migrations = {}

    def _owners(self, context, instance_uuid):
        return novadb.nova_created(self.clients.call(
            'nova', novadb.network_info, context, instance_uuid))

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
                items = [wanted(row, self.kinds,
                                self._migrations.get(row.uuid, ()))
                         for row in batch]
                self.counts.instances += len(items)
                self.counts.restorable += sum(1 for row in batch
                                              if restorable(row))
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
                batches = deleted_batches(cctxt, self.filters,
                                          self.batch_size)
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
