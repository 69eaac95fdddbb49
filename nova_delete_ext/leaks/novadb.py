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

"""What Nova's database still tells about a deleted instance.

Nova soft-deletes an instance's migrations and network info cache with the
instance (``instance_destroy``); both stay readable with
``read_deleted='yes'`` until ``nova-manage db archive_deleted_rows`` moves
them away.

* Migrations: during a resize or a cold migration Nova moves the source
  host's allocation to the migration's uuid as placement consumer. A
  server deleted before the move is confirmed or reverted can leave that
  allocation behind: Nova's delete frees the instance's own consumer only.
* The network info cache: each VIF says ``preserve_on_delete``, which is
  how Nova tells a port the user brought (kept, only unbound) from one it
  created for the server (deleted with it). A delete that deallocated the
  network empties the cache before the instance is destroyed, so what a
  deleted instance still has here is often nothing: then who created a
  port is not known.
"""

import contextlib

from nova import context as nova_context
from nova.db.main import api as main_db
from nova.db.main import models
from nova import exception as nova_exception
from nova import objects
from nova.objects import base as objects_base
from oslo_serialization import jsonutils
import sqlalchemy as sa

#: Migration uuids per query of the sweep.
MIGRATION_CHUNK = 1000
#: Instances per query of their network info caches.
INFO_CACHE_CHUNK = 1000

_INFO_CACHE = models.InstanceInfoCache.__table__
_MIGRATIONS = models.Migration.__table__


@contextlib.contextmanager
def instance_cell(context, instance_uuid):
    """``context`` for the cell database of the instance, or None.

    nova-compute reads through nova-conductor, which reads its own cell:
    ``context`` as it is. A process that reads the databases itself
    (nova-api) looks the instance's cell up in its mapping; None when the
    instance has no mapping or no cell (a server deleted while building).
    """
    if objects_base.NovaObject.indirection_api is not None:
        yield context
        return
    try:
        mapping = objects.InstanceMapping.get_by_instance_uuid(
            context, instance_uuid)
    except nova_exception.InstanceMappingNotFound:
        yield None
        return
    if mapping.cell_mapping is None:
        yield None
        return
    with nova_context.target_cell(context, mapping.cell_mapping) as cctxt:
        yield cctxt


def migration_uuids(context, instance_uuid):
    """The uuids of every migration of the (deleted) instance."""
    ctxt = context.elevated(read_deleted='yes')
    with instance_cell(ctxt, instance_uuid) as cctxt:
        if cctxt is None:
            return []
        migrations = objects.MigrationList.get_by_filters(
            cctxt, {'instance_uuid': instance_uuid})
        return [m.uuid for m in migrations if m.obj_attr_is_set('uuid')]


@main_db.pick_context_manager_reader_allow_async
def deleted_migrations(cell_context, uuids, chunk=MIGRATION_CHUNK):
    """The deleted migrations among ``uuids``, by instance.

    ``uuids`` are placement consumers; the answer, ``{instance_uuid:
    [migration uuid]}``, holds those that are migrations in the cell of
    ``cell_context``. A migration is deleted with its instance only: the
    migrations of a live or of a soft-deleted (restorable) instance are
    left out. Read from the cell database directly, one transaction and
    only the two columns: a sweep asks this of every consumer placement
    has, live instances included, and finds none most of the time.
    """
    mig = _MIGRATIONS.c
    query = sa.select(mig.instance_uuid, mig.uuid).where(
        mig.deleted != 0, mig.uuid.in_(sa.bindparam('uuids',
                                                    expanding=True)))
    found = {}
    for instance_uuid, uuid in _by_uuids(cell_context, query, uuids, chunk):
        found.setdefault(instance_uuid, []).append(uuid)
    return {uuid: sorted(each) for uuid, each in found.items()}


def network_info(context, instance_uuid):
    """The network info cache the deleted instance kept, or None.

    Of one instance, in any Nova process (see :func:`instance_cell`); a
    sweep, which reads the cell databases itself, asks many at once with
    :func:`network_infos`.
    """
    ctxt = context.elevated(read_deleted='yes')
    with instance_cell(ctxt, instance_uuid) as cctxt:
        if cctxt is None:
            return None
        try:
            cache = objects.InstanceInfoCache.get_by_instance_uuid(
                cctxt, instance_uuid)
        except nova_exception.InstanceInfoCacheNotFound:
            return None
        return cache.network_info


@main_db.pick_context_manager_reader_allow_async
def network_infos(cell_context, instance_uuids, chunk=INFO_CACHE_CHUNK):
    """``{instance uuid: network info}`` the deleted instances kept.

    Read from the cell database of ``cell_context`` directly, one query
    per ``chunk`` instances and only the two columns: a sweep asks this
    for every instance whose ports it found, and an object per instance
    (with the lookup of its cell) cost more than the rest of the sweep.
    An instance without a cache, or with an empty one, is left out.
    """
    cache = _INFO_CACHE.c
    query = sa.select(cache.instance_uuid, cache.network_info).where(
        cache.instance_uuid.in_(sa.bindparam('uuids', expanding=True)))
    return {uuid: jsonutils.loads(value) for uuid, value in _by_uuids(
        cell_context, query, instance_uuids, chunk) if value}


def _by_uuids(cell_context, query, uuids, chunk):
    """The rows of ``query`` for ``uuids``, ``chunk`` of them per query.

    ``query`` takes the uuids as the expanding parameter ``uuids``.
    """
    uuids = sorted(uuids)
    for start in range(0, len(uuids), chunk):
        yield from cell_context.session.execute(
            query, {'uuids': uuids[start:start + chunk]})


def nova_created(network_info):
    """``{port_id: whether Nova created it}`` from a network info.

    Nova's own rule (``nova.network.neutron.API.deallocate_for_instance``):
    a port whose VIF says ``preserve_on_delete`` was the user's and is
    unbound on delete, any other port Nova created and deletes. A VIF
    without the key tells nothing and is left out, as is every port the
    cache does not list.
    """
    owners = {}
    for vif in network_info or ():
        if vif.get('id') and 'preserve_on_delete' in vif:
            owners[vif['id']] = not vif['preserve_on_delete']
    return owners
