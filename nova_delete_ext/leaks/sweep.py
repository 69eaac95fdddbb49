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
"""

import collections
import contextlib
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
from nova_delete_ext import states

LOG = logging.getLogger(__name__)

#: The kinds a sweep can check. A domain needs the compute host's driver:
#: nova-compute's running_deleted_instance_action looks after it.
SWEPT = frozenset({states.ALLOCATIONS, states.PORTS, states.VOLUMES,
                   states.SHELVE_IMAGE})
#: Kinds whose bulk index names every instance that could leak them.
INDEXED = frozenset({states.ALLOCATIONS, states.VOLUMES})
DEFAULT_BATCH = 1000
_INSTANCES = models.Instance.__table__
_SYSTEM_METADATA = models.InstanceSystemMetadata.__table__


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
#: rows of :func:`deleted_pages` and :func:`candidate_pages`.
#: ``restorable`` (1 or 0): soft-deleted, so it still owns all it holds
#: until it is reclaimed.
DeletedRow = collections.namedtuple('DeletedRow', 'id uuid host restorable')


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


def group(rows, shelved, kinds=SWEPT):
    """Sort one page of rows by what each may hold.

    :param rows: rows with the fields of :data:`DeletedRow`.
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


def _where(query, filters):
    """``query`` limited to the deleted and soft-deleted rows ``filters`` asks.

    The same rows as Nova's instance list with its ``deleted`` filter (which
    includes soft-deleted instances and leaves hidden ones out). The window
    is compared with ``deleted_at``: a row without one is in no window.
    """
    inst = _INSTANCES.c
    query = query.where(
        sa.or_(inst.deleted == inst.id,
               inst.vm_state == vm_states.SOFT_DELETED),
        sa.or_(inst.hidden == sa.false(), inst.hidden == sa.null()))
    if filters.project_id:
        query = query.where(inst.project_id == filters.project_id)
    if filters.since is not None:
        query = query.where(inst.deleted_at >= filters.since)
    if filters.before is not None:
        query = query.where(inst.deleted_at < filters.before)
    return query


def _query(filters):
    """The select of the columns of :data:`DeletedRow`.

    Of the table's columns, not the model's attributes: a select of model
    attributes goes through the ORM's loading, row by row, which cost more
    than reading the rows. ``restorable`` is worked out by the database.
    """
    inst = _INSTANCES.c
    restorable = sa.case((sa.and_(inst.deleted == 0,
                                  inst.vm_state == vm_states.SOFT_DELETED),
                          1), else_=0)
    return _where(sa.select(inst.id, inst.uuid, inst.host,
                            restorable.label('restorable')), filters)


def _shelved_query(filters):
    """``(instance uuid, image id)`` of the rows with a shelve snapshot.

    Apart from the rows, not joined to each: ``instance_system_metadata``
    has no index on its key, so the join cost an index lookup by instance
    for every row read (two thirds of a sweep), where this reads the
    entries with that key once. Shelve leaves the entry until an unshelve
    removes it, so only instances deleted while shelved (and the shelved
    ones still there) have one.
    """
    meta = _SYSTEM_METADATA.c
    return _where(
        sa.select(meta.instance_uuid, meta.value).select_from(
            _SYSTEM_METADATA).join(
                _INSTANCES, _INSTANCES.c.uuid == meta.instance_uuid).where(
                    meta.key == states.SHELVE_IMAGE_KEY), filters)


def _read(session, query, **params):
    return session.execute(query, params).all()


def _reader(cell_context):
    """One reader transaction (which may go to a replica) on the cell."""
    return main_db.get_context_manager(
        cell_context).reader.allow_async.using(cell_context)


def deleted_pages(cell_context, filters, batch_size=DEFAULT_BATCH):
    """Yield ``(rows, shelved)`` for the deleted rows of one cell.

    ``rows``: up to ``batch_size`` rows with the fields of
    :data:`DeletedRow`, read after the last ``id`` of the page before;
    ``shelved``: ``{instance uuid: shelve image id}`` for the whole cell.
    Every page is read in one transaction: on a cell database a
    transaction per page cost more than reading its rows.
    """
    # One statement for every page, the marker a parameter: SQLAlchemy
    # compiles it once.
    query = _query(filters).where(
        _INSTANCES.c.id > sa.bindparam('marker')).order_by(
            _INSTANCES.c.id).limit(batch_size)
    with _reader(cell_context) as session:
        shelved = dict(_read(session, _shelved_query(filters)))
        marker = 0
        while True:
            rows = _read(session, query, marker=marker)
            if not rows:
                return
            marker = rows[-1].id
            yield rows, shelved


def candidate_pages(cell_context, filters, uuids, batch_size=DEFAULT_BATCH):
    """Yield ``(rows, shelved)`` for the deleted rows among ``uuids``.

    For a sweep of indexed kinds only: the services named every instance
    that may leak, so only those rows are read, not every deleted one.
    """
    chunk = sa.bindparam('uuids', expanding=True)
    query = _query(filters).where(_INSTANCES.c.uuid.in_(chunk))
    shelved_query = _shelved_query(filters).where(
        _SYSTEM_METADATA.c.instance_uuid.in_(chunk))
    with _reader(cell_context) as session:
        for start in range(0, len(uuids), batch_size):
            part = uuids[start:start + batch_size]
            yield (_read(session, query, uuids=part),
                   dict(_read(session, shelved_query, uuids=part)))


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
        self.finder = leak_index.BulkFinder(context, clients)
        self.counts = Counts()

    def leaks(self):
        """Yield each :class:`~nova_delete_ext.leaks.Leak` found.

        A cell whose database cannot be read is logged and named in
        ``counts.failed_cells``; the other cells are still swept. An error
        of a service the leaks are looked up in stops the sweep.
        """
        found = 0
        for cell in select_cells(self.context, self.filters.cell):
            self.counts.cells += 1
            for rows, shelved in self._cell_pages(cell):
                groups, restorable = group(rows, shelved, self.kinds)
                self.counts.instances += len(rows)
                self.counts.restorable += restorable
                for leak in self.finder.find(groups, order=(
                        row[1] for row in rows)):
                    found += 1
                    yield leak
                self.progress(self.counts, found)

    def _cell_pages(self, cell):
        with nova_context.target_cell(self.context, cell) as cctxt:
            if self.kinds <= INDEXED:
                pages = candidate_pages(
                    cctxt, self.filters, self.finder.candidates(self.kinds),
                    self.batch_size)
            else:
                pages = deleted_pages(cctxt, self.filters, self.batch_size)
            # Closed when the sweep stops early, so that the cell's
            # transaction ends with it.
            with contextlib.closing(pages):
                while True:
                    try:
                        page = next(pages)
                    except StopIteration:
                        return
                    except Exception:
                        LOG.exception('Could not read the deleted instances '
                                      'of cell %s; it is left out of this '
                                      'sweep.', cell.identity)
                        self.counts.failed_cells.append(cell.identity)
                        return
                    yield page
