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

"""Reading the deleted instances of one cell database, page by page.

Through Nova's database layer (the cell's reader, which may be a replica,
and the tables of Nova's models), only the columns a sweep decides on, in
pages in ``id`` order, every page of a cell in one reader transaction.
The shelve snapshots recorded in ``system_metadata`` are read apart from
the rows, once per cell; see :func:`_shelved_query`.
"""

import collections

from nova.compute import vm_states
from nova.db.main import api as main_db
from nova.db.main import models
import sqlalchemy as sa

from nova_delete_ext import states

_INSTANCES = models.Instance.__table__
_SYSTEM_METADATA = models.InstanceSystemMetadata.__table__

#: The columns of a deleted instance's row a sweep reads, as named in the
#: rows of :func:`deleted_pages` and :func:`candidate_pages`.
#: ``restorable`` (1 or 0): soft-deleted, so it still owns all it holds
#: until it is reclaimed.
DeletedRow = collections.namedtuple('DeletedRow', 'id uuid host restorable')


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


def _restorable():
    inst = _INSTANCES.c
    return sa.case((sa.and_(inst.deleted == 0,
                            inst.vm_state == vm_states.SOFT_DELETED), 1),
                   else_=0)


def _query(filters):
    """The select of the columns of :data:`DeletedRow`.

    Of the table's columns, not the model's attributes: a select of model
    attributes goes through the ORM's loading, row by row, which cost more
    than reading the rows. ``restorable`` is worked out by the database.
    """
    inst = _INSTANCES.c
    return _where(sa.select(inst.id, inst.uuid, inst.host,
                            _restorable().label('restorable')), filters)


def _shelved_query(filters, off_host_only=False):
    """``(instance uuid, image id)`` of the rows with a shelve snapshot.

    Apart from the rows, not joined to each: ``instance_system_metadata``
    has no index on its key, so the join cost an index lookup by instance
    for every row read (two thirds of a sweep), where this reads the
    entries with that key once. Shelve leaves the entry until an unshelve
    removes it, so only instances deleted while shelved (and the shelved
    ones still there) have one.
    """
    meta = _SYSTEM_METADATA.c
    query = _where(
        sa.select(meta.instance_uuid, meta.value).select_from(
            _SYSTEM_METADATA).join(
                _INSTANCES, _INSTANCES.c.uuid == meta.instance_uuid).where(
                    meta.key == states.SHELVE_IMAGE_KEY), filters)
    if off_host_only:
        host = _INSTANCES.c.host
        query = query.where(sa.or_(host.is_(None), host == ''))
    return query


def _read(session, query, **params):
    return session.execute(query, params).all()


def reader(cell_context):
    """One reader transaction (which may go to a replica) on the cell.

    The reads of this module, and those of
    :mod:`nova_delete_ext.leaks.novadb` made in the same thread, join it
    when it is open: a sweep reads a cell in one transaction.
    """
    return main_db.get_context_manager(
        cell_context).reader.allow_async.using(cell_context)


def deleted_pages(cell_context, filters, batch_size,
                  shelved_for=(True, True)):
    """Yield ``(rows, shelved)`` for the deleted rows of one cell.

    ``rows``: up to ``batch_size`` rows with the fields of
    :data:`DeletedRow`, read after the last ``id`` of the page before;
    ``shelved``: ``{instance uuid: shelve image id}`` for the whole cell,
    for the rows ``shelved_for`` asks: ``(on a host, on none)``, whether
    the snapshot of a row deleted on a host, and of one on none, matters.
    Every page is read in one transaction: on a cell database a
    transaction per page cost more than reading its rows.
    """
    # One statement for every page, the marker a parameter: SQLAlchemy
    # compiles it once.
    query = _query(filters).where(
        _INSTANCES.c.id > sa.bindparam('marker')).order_by(
            _INSTANCES.c.id).limit(batch_size)
    with reader(cell_context) as session:
        shelved = {}
        if any(shelved_for):
            shelved = dict(_read(session, _shelved_query(
                filters, off_host_only=not shelved_for[0])))
        marker = 0
        while True:
            rows = _read(session, query, marker=marker)
            if not rows:
                return
            marker = rows[-1].id
            yield rows, shelved


def count(cell_context, filters):
    """``(deleted rows, restorable ones)`` that ``filters`` selects.

    Counted by the database, no row read: what a sweep that reads only
    the rows the services name reports as swept.
    """
    query = _where(sa.select(
        sa.func.count(),
        sa.func.coalesce(sa.func.sum(_restorable()), 0)).select_from(
            _INSTANCES), filters)
    with reader(cell_context) as session:
        [(rows, restorable)] = _read(session, query)
    return rows, restorable


def candidate_pages(cell_context, filters, uuids, batch_size,
                    shelved_for=(True, True), shelve_named=False):
    """Yield ``(rows, shelved)`` for the deleted rows among ``uuids``.

    Only the rows the services named as holding something are read, not
    every deleted one. ``shelved`` covers the rows of the page
    ``shelved_for`` asks, as for :func:`deleted_pages`.

    :param shelve_named: the rows with a shelve snapshot are candidates
        too (a sweep of shelve snapshots): they are read with the others,
        from the cell's one scan of the snapshots. Otherwise a page's
        snapshots are looked up for its rows.
    """
    chunk = sa.bindparam('uuids', expanding=True)
    query = _query(filters).where(_INSTANCES.c.uuid.in_(chunk))
    shelved_query = _shelved_query(filters).where(
        _SYSTEM_METADATA.c.instance_uuid.in_(chunk))
    with reader(cell_context) as session:
        snapshots = None
        if shelve_named:
            snapshots = dict(_read(session, _shelved_query(filters)))
            uuids = sorted(set(uuids).union(snapshots))
        for start in range(0, len(uuids), batch_size):
            rows = _read(session, query, uuids=uuids[start:start + batch_size])
            # Looked up only for the rows whose snapshot matters: for
            # allocations, the few deleted on no host.
            asked = [row.uuid for row in rows
                     if shelved_for[0 if row.host else 1]]
            if snapshots is not None:
                shelved = {uuid: snapshots[uuid] for uuid in asked
                           if uuid in snapshots}
            elif asked:
                shelved = dict(_read(session, shelved_query, uuids=asked))
            else:
                shelved = {}
            yield rows, shelved
