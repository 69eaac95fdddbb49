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

"""The one query the poller asks each cell database.

Written against the columns of Nova's tables (``nova.db.main.models``),
declared here because the collector does not import Nova, and only on
indexes Nova creates:

* deletes under way: ``task_state`` in ``deleting``/``soft-deleting`` on
  ``instances_task_state_updated_at_idx`` (``task_state, updated_at``);
  their age is that of ``updated_at``, the last change Nova saved, which
  for a delete that hangs is when it went into ``deleting``;
* the recycle bin: live (``deleted = 0``) servers in vm_state
  ``soft-delete``, on ``instances_deleted_created_at_idx`` (``deleted,
  created_at``), with the retention the ``recycle`` policy saved in
  system_metadata (index ``instance_uuid``) and their host's
  ``nova-compute`` service (the unique key ``host, binary, deleted``).
  Nova has no index on ``vm_state``: this part reads every live server's
  row. MariaDB and MySQL are told to read them through the index
  (:data:`HINT`); without it they scan the whole table, deleted rows not
  yet archived included, as soon as the live servers are a fifth of it.

Both parts are one ``UNION ALL``: one round trip per cell.
"""

import sqlalchemy as sa

STUCK = 'stuck'
BIN = 'bin'
#: Nova's task_states of a delete under way.
TASK_STATES = ('deleting', 'soft-deleting')
#: Nova's vm_state of a soft-deleted server.
SOFT_DELETED = 'soft-delete'
#: The system_metadata key of ``record.sysmeta.RETENTION_KEY`` (that
#: module imports Nova's states, the collector cannot).
RETENTION_KEY = 'delete_ext_retention'
#: The index the recycle bin part reads live servers through (MySQL's and
#: MariaDB's syntax; the other databases choose by themselves).
LIVE_INDEX = 'instances_deleted_created_at_idx'
HINT = 'FORCE INDEX (%s)' % LIVE_INDEX

_META = sa.MetaData()
INSTANCES = sa.Table(
    'instances', _META,
    sa.Column('id', sa.Integer, primary_key=True),
    sa.Column('uuid', sa.String(36)),
    sa.Column('host', sa.String(255)),
    sa.Column('vm_state', sa.String(255)),
    sa.Column('task_state', sa.String(255)),
    sa.Column('created_at', sa.DateTime),
    sa.Column('updated_at', sa.DateTime),
    sa.Column('deleted_at', sa.DateTime),
    sa.Column('deleted', sa.Integer))
SYSTEM_METADATA = sa.Table(
    'instance_system_metadata', _META,
    sa.Column('id', sa.Integer, primary_key=True),
    sa.Column('instance_uuid', sa.String(36)),
    sa.Column('key', sa.String(255)),
    sa.Column('value', sa.String(255)),
    sa.Column('deleted', sa.Integer))
SERVICES = sa.Table(
    'services', _META,
    sa.Column('id', sa.Integer, primary_key=True),
    sa.Column('host', sa.String(255)),
    sa.Column('binary', sa.String(255)),
    sa.Column('created_at', sa.DateTime),
    sa.Column('last_seen_up', sa.DateTime),
    sa.Column('forced_down', sa.Boolean),
    sa.Column('deleted', sa.Integer))


def _none(type_):
    return sa.type_coerce(sa.null(), type_)


def cell_query(hint=True):
    """The query of one cell: servers stuck in a delete or in the bin.

    :param hint: read the live servers through :data:`LIVE_INDEX` on
        MySQL and MariaDB (False for a database that lacks the index).

    Its rows are ``(what, task_state, since, retention, service_id,
    heartbeat, forced_down)``. ``what`` is :data:`STUCK` for a delete
    under way (``since``: its ``updated_at``) or :data:`BIN` for a server
    in the recycle bin (``since``: its soft delete; ``heartbeat``: its
    host's last, as Nova's servicegroup reads it).
    """
    i = INSTANCES.c
    stuck = sa.select(
        sa.literal(STUCK, sa.String).label('what'),
        i.task_state,
        sa.func.coalesce(i.updated_at, i.created_at).label('since'),
        _none(sa.String).label('retention'),
        _none(sa.Integer).label('service_id'),
        _none(sa.DateTime).label('heartbeat'),
        _none(sa.Boolean).label('forced_down'),
    ).where(i.task_state.in_(TASK_STATES), i.deleted == 0)
    meta = SYSTEM_METADATA.c
    svc = SERVICES.c
    held = sa.select(
        sa.literal(BIN, sa.String), i.task_state, i.deleted_at, meta.value,
        svc.id, sa.func.coalesce(svc.last_seen_up, svc.created_at),
        svc.forced_down,
    ).select_from(INSTANCES.outerjoin(SYSTEM_METADATA, sa.and_(
        meta.instance_uuid == i.uuid, meta.key == RETENTION_KEY,
        meta.deleted == 0)).outerjoin(SERVICES, sa.and_(
            svc.host == i.host, svc.binary == 'nova-compute',
            svc.deleted == 0))
    ).where(i.deleted == 0, i.vm_state == SOFT_DELETED)
    if hint:
        for dialect in ('mysql', 'mariadb'):
            held = held.with_hint(INSTANCES, HINT, dialect)
    return sa.union_all(stuck, held)


def missing_index(exc):
    """Whether ``exc`` is MySQL's "Key ... doesn't exist" of the hint."""
    orig = getattr(exc, 'orig', None)
    args = getattr(orig, 'args', ())
    return bool(args) and args[0] == 1176 and LIVE_INDEX in str(orig)
