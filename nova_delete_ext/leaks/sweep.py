#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

"""Sweep the deleted instances of every cell for what they left behind.

Deleted instances are read from each cell database through Nova's database
layer (its cell reader and tables), in pages in ``id`` order within one
reader transaction per cell, and only the columns a sweep needs: no Nova
object is built, so reading is cheap and memory does not grow with their
number. Each page is sorted into groups by what its rows may hold and
checked with the bulk lookups of :mod:`nova_delete_ext.leaks.index`. Where
it costs less, only the rows the services name are read (see
:meth:`Sweep._read_named`).

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
read only for the instances whose ports are found, a page's at once.
"""

import contextlib
import dataclasses
import functools
import operator

from nova.compute import vm_states
from nova import context as nova_context
from nova import objects
from oslo_log import log as logging

from nova_delete_ext import exception
from nova_delete_ext.leaks import index as leak_index
from nova_delete_ext.leaks import novadb
from nova_delete_ext.leaks import providers
from nova_delete_ext.leaks import rows as deleted_rows
from nova_delete_ext import states

LOG = logging.getLogger(__name__)

#: The kinds a sweep can check. A domain needs the compute host's driver:
#: nova-compute's running_deleted_instance_action looks after it.
SWEPT = frozenset({states.ALLOCATIONS, states.PORTS, states.VOLUMES,
                   states.SHELVE_IMAGE})
#: Kinds whose bulk index names every instance that could leak them.
INDEXED = frozenset({states.ALLOCATIONS, states.VOLUMES})
DEFAULT_BATCH = 1000
_UUID = operator.itemgetter(1)


class UnknownCell(exception.DeleteExtError):
    msg_fmt = 'No cell is named or has the uuid %(cell)s'


@dataclasses.dataclass(frozen=True)
class Filters:
    """Which deleted instances to sweep; times are naive UTC datetimes."""

    since: object = None
    before: object = None
    project_id: str | None = None
    cell: str | None = None


def state_at_delete(host, shelved):
    """The :class:`~nova_delete_ext.states.InstanceState` before the delete.

    Only what a deleted row still tells: shelved (with or without a host),
    on a host, or never on one. The vm_state is a representative of each
    of those groups, not necessarily the exact one.

    :param shelved: whether the row has a shelve snapshot recorded.
    """
    if shelved:
        vm_state = vm_states.SHELVED if host else vm_states.SHELVED_OFFLOADED
    else:
        vm_state = vm_states.ACTIVE if host else vm_states.ERROR
    return states.InstanceState(vm_state=vm_state, task_state=None,
                                power_state=None, host=host)


@functools.lru_cache(maxsize=64)
def held(on_host, shelved, kinds=SWEPT):
    """What a row deleted on a host or not, shelved or not, may hold.

    The rows tell only these two things: four answers for every row.
    """
    return (state_at_delete('host' if on_host else None, shelved).may_hold()
            & SWEPT & frozenset(kinds))


def shelve_matters(kinds=SWEPT):
    """Whether a row's shelve snapshot changes what it may hold.

    :returns: ``(on a host, on none)``: for a row deleted on a host, and
        for one deleted on none. Only then is the snapshot looked up: for
        allocations alone, only for the rows deleted on no host.
    """
    kinds = frozenset(kinds)
    return tuple(held(on_host, True, kinds) != held(on_host, False, kinds)
                 for on_host in (True, False))


def group(rows, shelved, kinds=SWEPT):
    """Sort one page of rows by what each may hold.

    :param rows: rows with the fields of
        :data:`~nova_delete_ext.leaks.rows.DeletedRow`.
    :param shelved: ``{instance uuid: shelve image id}``, naming at least
        the shelved instances among ``rows``.
    :returns: the :class:`~nova_delete_ext.leaks.index.Group` items, and
        the number of rows skipped as still restorable.
    """
    kinds = frozenset(kinds)
    on_host, off_host, images = [], [], ({}, {})
    restorable = 0
    # One pass, no object per row: at 100,000 rows a sweep's time is
    # counted in microseconds per row.
    for _id, uuid, host, is_restorable in rows:
        if is_restorable:
            restorable += 1
        elif uuid in shelved:
            images[bool(host)][uuid] = shelved[uuid]
        elif host:
            on_host.append(uuid)
        else:
            off_host.append(uuid)
    groups = [leak_index.Group(held(True, False, kinds), on_host),
              leak_index.Group(held(False, False, kinds), off_host)]
    groups += [leak_index.Group(held(on, True, kinds), list(found), found)
               for on, found in ((True, images[True]),
                                 (False, images[False])) if found]
    return [g for g in groups if g.kinds and g.instance_uuids], restorable


def select_cells(context, name_or_uuid=None):
    """Every cell mapping, or the one named (by name or uuid)."""
    cells = objects.CellMappingList.get_all(context)
    if not name_or_uuid:
        return list(cells)
    chosen = [c for c in cells if name_or_uuid in (c.uuid, c.name)]
    if not chosen:
        raise UnknownCell(cell=name_or_uuid)
    return chosen


@dataclasses.dataclass
class Counts:
    instances: int = 0
    restorable: int = 0
    cells: int = 0
    failed_cells: list = dataclasses.field(default_factory=list)


class Sweep:
    """One sweep: iterate :meth:`leaks` and read :attr:`counts` after."""

    def __init__(self, context, clients, filters, kinds=SWEPT,
                 batch_size=DEFAULT_BATCH, progress=None,
                 placement_concurrency=providers.DEFAULT_CONCURRENCY):
        self.context = context
        self.filters = filters
        self.kinds = frozenset(kinds) & SWEPT
        self.batch_size = batch_size
        self.progress = progress or (lambda counts, found: None)
        self.clients = clients
        self.finder = leak_index.BulkFinder(context, clients,
                                            placement_concurrency)
        self.counts = Counts()
        # {instance_uuid: [migration uuid]} of the cell being swept.
        self._migrations = {}
        # The cell's rows were counted by the database, not as read.
        self._counted = False

    @staticmethod
    def _owners(cell_context, instance_uuids):
        infos = novadb.network_infos(cell_context, instance_uuids)
        return {uuid: novadb.nova_created(info)
                for uuid, info in infos.items()}

    def leaks(self):
        """Yield each :class:`~nova_delete_ext.leaks.Leak` found.

        A cell whose database cannot be read is logged and named in
        ``counts.failed_cells``; the other cells are still swept. An error
        of a service the leaks are looked up in stops the sweep.
        """
        found = 0
        for cell in select_cells(self.context, self.filters.cell):
            self.counts.cells += 1
            for cctxt, rows, shelved in self._cell_pages(cell):
                groups, restorable = group(rows, shelved, self.kinds)
                if not self._counted:
                    self.counts.instances += len(rows)
                    self.counts.restorable += restorable
                for leak in self.finder.find(
                        groups, order=map(_UUID, rows),
                        migrations=self._page_migrations(rows),
                        owners=functools.partial(self._owners, cctxt)):
                    found += 1
                    yield leak
                self.progress(self.counts, found)

    def _page_migrations(self, rows):
        # Few deleted instances have migrations still holding allocations:
        # none at all, mostly, and then nothing is looked up per row.
        if not self._migrations:
            return None
        return {uuid: self._migrations[uuid] for uuid in map(_UUID, rows)
                if uuid in self._migrations}

    def _cell_pages(self, cell):
        self._migrations = {}
        self._counted = False
        # A service that cannot answer stops the sweep, as below.
        consumers = (list(self.finder.allocations())
                     if states.ALLOCATIONS in self.kinds else [])
        with nova_context.target_cell(self.context, cell) as cctxt, \
                contextlib.ExitStack() as cell_reads:
            try:
                # Every read of the cell in one transaction, the rows'
                # pages and the info caches asked for between them
                # included: each transaction costs a connection checkout.
                cell_reads.enter_context(deleted_rows.reader(cctxt))
                if consumers:
                    self._migrations = novadb.deleted_migrations(cctxt,
                                                                 consumers)
                counted = (None if self.kinds <= INDEXED
                           else deleted_rows.count(cctxt, self.filters))
            except Exception:
                self._left_out(cell)
                return
            if counted is not None and not counted[0]:
                return  # no deleted instance here: nothing to read
            shelved_for = shelve_matters(self.kinds)
            read_named = self._read_named(counted)
            self._counted = read_named and counted is not None
            if self._counted:
                self.counts.instances += counted[0]
                self.counts.restorable += counted[1]
            if read_named:
                uuids = set(self.finder.candidates(self.kinds))
                uuids.update(self._migrations)
                pages = deleted_rows.candidate_pages(
                    cctxt, self.filters, sorted(uuids), self.batch_size,
                    shelved_for,
                    shelve_named=states.SHELVE_IMAGE in self.kinds)
            else:
                pages = deleted_rows.deleted_pages(
                    cctxt, self.filters, self.batch_size, shelved_for)
            # Closed when the sweep stops early, before the transaction.
            cell_reads.enter_context(contextlib.closing(pages))
            while True:
                try:
                    page = next(pages)
                except StopIteration:
                    return
                except Exception:
                    self._left_out(cell)
                    return
                yield (cctxt, *page)

    def _left_out(self, cell):
        LOG.exception('Could not read the deleted instances of cell %s; it '
                      'is left out of this sweep.', cell.identity)
        self.counts.failed_cells.append(cell.identity)

    def _read_named(self, counted):
        """Whether to read only the rows the services name, not all.

        Every kind a sweep checks is named by a service's listing or by the
        rows' shelve snapshots, so the rows nothing names hold nothing.
        Indexed kinds alone are always read that way (``counts`` are then
        of the rows read). A sweep of other kinds has the database count
        the rows (``counted``), which it reports; it reads only the named
        rows unless it checks ports for fewer rows than make it list every
        port (see :data:`~nova_delete_ext.leaks.index.PORT_LISTING_AT`):
        then each row's ports are asked for instead.
        """
        return (counted is None or states.PORTS not in self.kinds or
                counted[0] >= leak_index.PORT_LISTING_AT)
