"""Leaks of many deleted instances, with few calls per service.

The bulk counterpart of :func:`nova_delete_ext.leaks.find`: the same rules
(``leaks.*_leaks``), fed by queries that each answer for many instances:

* placement: every resource provider's allocations, read once per sweep
  (placement has no query by many consumers) and indexed by consumer,
  the instance or one of its migrations (a consumer of a resize or a cold
  migration: see :mod:`nova_delete_ext.leaks.novadb`);
* Cinder: every volume attachment, read once per sweep, page by page, and
  indexed by instance (Cinder filters attachments by one instance only);
* Neutron: the ports of up to :data:`PORT_CHUNK` instances per query
  (``device_id`` takes a list); once a sweep has asked for more than
  :data:`PORT_LISTING_AFTER` instances, every port instead, listed once
  (with only the fields a check reads) and indexed by ``device_id``;
* Glance: one ``GET`` per shelve snapshot recorded on a deleted instance,
  as only instances deleted while shelved have one.

The indexes hold what placement, Cinder and Neutron hold for the whole
cloud, live instances included, so their size follows the size of the
cloud, not the number of deleted instances swept.
"""

import collections
import typing

from oslo_log import log as logging

from nova_delete_ext import exception
from nova_delete_ext import leaks
from nova_delete_ext import states

LOG = logging.getLogger(__name__)

#: Instances per Neutron query: 100 uuids keep the URL under 5 kB.
PORT_CHUNK = 100
#: Past this many instances asked by device_id (ten queries), listing
#: every port once costs less than going on query by query.
PORT_LISTING_AFTER = 1000
#: Attachments per Cinder page (Cinder caps it at its osapi_max_limit).
ATTACHMENT_PAGE = 1000
# The microversion Nova itself uses for attachments.
_CINDER_MICROVERSION = '3.44'
_PORT_FIELDS = ['id', 'device_id', 'device_owner', 'binding:host_id']


class ListingFailed(exception.DeleteExtError):
    msg_fmt = 'Could not list %(what)s: %(reason)s'


class Wanted(typing.NamedTuple):
    """One deleted instance and the kinds to check for it.

    A named tuple: a sweep makes one per deleted instance.
    ``migration_uuids``: its migrations, whose allocations are checked with
    its own; ``created_by_nova``: ``{port_id: bool}``, who created which of
    its ports, as far as known (None: ask the finder's ``owners``).
    """

    instance_uuid: str
    kinds: frozenset
    shelve_image_id: str | None = None
    migration_uuids: tuple = ()
    created_by_nova: dict | None = None


def allocations_by_consumer(context, placement):
    """``{consumer: {rp_uuid: {'resources': ...}}}`` over every provider."""
    resp = placement.get('/resource_providers', version='1.14',
                         global_request_id=context.global_id)
    if not resp:
        raise ListingFailed(what='resource providers',
                            reason=getattr(resp, 'text', 'no answer'))
    index = collections.defaultdict(dict)
    for provider in resp.json()['resource_providers']:
        info = placement.get_allocations_for_resource_provider(
            context, provider['uuid'])
        for consumer, alloc in info.allocations.items():
            index[consumer][provider['uuid']] = {
                'resources': alloc.get('resources') or {}}
    return index


def attachments_by_instance(context, clients, page_size=ATTACHMENT_PAGE):
    """``{instance: [attachment]}`` over every attachment, all projects."""
    client = clients.cinder(context, _CINDER_MICROVERSION)
    index = collections.defaultdict(list)
    marker = None
    while True:
        page = client.attachments.list(search_opts={'all_tenants': 1},
                                       marker=marker, limit=page_size)
        if not page:
            return index
        for item in page:
            att = item.to_dict()
            instance = leaks.attachment_instance(att)
            if instance:
                index[instance].append({'id': att['id'],
                                        'volume_id': att.get('volume_id'),
                                        'instance': instance})
        marker = page[-1].id


def ports_of(context, clients, uuids):
    """``{device_id: [port]}`` for the ports of the instances ``uuids``."""
    index = collections.defaultdict(list)
    for port in clients.neutron(context).list_ports(
            device_id=uuids, fields=_PORT_FIELDS)['ports']:
        index[port.get('device_id')].append(port)
    return index


def ports_by_device(context, clients):
    """``{device_id: [port]}`` over every port, all projects."""
    index = collections.defaultdict(list)
    for port in clients.neutron(context).list_ports(
            fields=_PORT_FIELDS)['ports']:
        if port.get('device_id'):
            index[port['device_id']].append(port)
    return index


def _chunks(items, size):
    for start in range(0, len(items), size):
        yield items[start:start + size]


class BulkFinder:
    """Finds the leaks of batches of deleted instances.

    The placement, Cinder and Neutron indexes are built on first need and
    kept for the life of the finder (one sweep).

    :param owners: ``owners(instance_uuid)`` gives ``{port_id: bool}``, who
        created the ports found for an instance whose :class:`Wanted` does
        not say; asked only when ports are found, which is rare.
    """

    def __init__(self, context, clients, owners=None):
        self.context = context
        self.clients = clients
        self._owners = owners or (lambda instance_uuid: None)
        self._allocations = None
        self._attachments = None
        self._ports = None
        self._ports_asked = 0

    def allocations(self):
        if self._allocations is None:
            self._allocations = allocations_by_consumer(
                self.context, self.clients.placement)
        return self._allocations

    def attachments(self):
        if self._attachments is None:
            self._attachments = attachments_by_instance(self.context,
                                                        self.clients)
        return self._attachments

    def candidates(self, kinds):
        """Sorted uuids the indexes of ``kinds`` hold anything for.

        Only for kinds in ``sweep.INDEXED``: for those, an instance the
        indexes do not name holds nothing of that kind.
        """
        uuids = set()
        if states.ALLOCATIONS in kinds:
            uuids.update(self.allocations())
        if states.VOLUMES in kinds:
            uuids.update(self.attachments())
        return sorted(uuids)

    def find(self, wanted):
        """Leaks of the instances in ``wanted`` (:class:`Wanted` items).

        :returns: a list of :class:`~nova_delete_ext.leaks.Leak`, by
            instance in the order given, and by kind within an instance as
            :func:`~nova_delete_ext.leaks.find` orders them.
        """
        wanted = list(wanted)
        found = collections.defaultdict(list)
        by_kind = collections.defaultdict(list)
        for item in wanted:
            for kind in item.kinds:
                by_kind[kind].append(item)
        # An instance an index does not name holds nothing of that kind.
        if by_kind[states.ALLOCATIONS]:
            index = self.allocations()
            for item in by_kind[states.ALLOCATIONS]:
                uuid = item.instance_uuid
                for consumer in (uuid,) + tuple(item.migration_uuids):
                    if consumer in index:
                        found[uuid] += leaks.allocation_leaks(
                            uuid, index[consumer], consumer=consumer)
        owners = {item.instance_uuid: item.created_by_nova
                  for item in by_kind[states.PORTS]}
        port_uuids = list(owners)
        self._ports_asked += len(port_uuids)
        if (port_uuids and self._ports is None and
                self._ports_asked > PORT_LISTING_AFTER):
            self._ports = ports_by_device(self.context, self.clients)
        if self._ports is not None:
            for uuid in port_uuids:
                if uuid in self._ports:
                    found[uuid] += self._port_leaks(
                        uuid, self._ports[uuid], owners[uuid])
        for chunk in ([] if self._ports is not None
                      else _chunks(port_uuids, PORT_CHUNK)):
            ports = ports_of(self.context, self.clients, chunk)
            for uuid in chunk:
                if uuid in ports:
                    found[uuid] += self._port_leaks(uuid, ports[uuid],
                                                    owners[uuid])
        if by_kind[states.VOLUMES]:
            index = self.attachments()
            for item in by_kind[states.VOLUMES]:
                uuid = item.instance_uuid
                if uuid in index:
                    found[uuid] += leaks.attachment_leaks(uuid, index[uuid])
        for item in by_kind[states.SHELVE_IMAGE]:
            if item.shelve_image_id:
                found[item.instance_uuid] += leaks.shelve_image_leaks(
                    item.instance_uuid, leaks.get_image(
                        self.context, self.clients, item.shelve_image_id))
        if not found:
            return []
        return [leak for item in wanted
                for leak in found.get(item.instance_uuid, ())]

    def _port_leaks(self, uuid, ports, created_by_nova):
        found = leaks.port_leaks(uuid, ports, created_by_nova)
        if found and created_by_nova is None:
            owners = self._owners(uuid)
            if owners:
                found = leaks.port_leaks(uuid, ports, owners)
        return found
