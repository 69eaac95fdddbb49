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
  (``device_id`` takes a list);
* Glance: one ``GET`` per shelve snapshot recorded on a deleted instance,
  as only instances deleted while shelved have one.

The two indexes hold what placement and Cinder hold for the whole cloud,
live instances included, so their size follows the size of the cloud, not
the number of deleted instances swept.
"""

import collections
import dataclasses

from oslo_log import log as logging

from nova_delete_ext import exception
from nova_delete_ext import leaks
from nova_delete_ext import states

LOG = logging.getLogger(__name__)

#: Instances per Neutron query: 100 uuids keep the URL under 5 kB.
PORT_CHUNK = 100
#: Attachments per Cinder page (Cinder caps it at its osapi_max_limit).
ATTACHMENT_PAGE = 1000
# The microversion Nova itself uses for attachments.
_CINDER_MICROVERSION = '3.44'
_PORT_FIELDS = ['id', 'device_id', 'device_owner', 'binding:host_id']


class ListingFailed(exception.DeleteExtError):
    msg_fmt = 'Could not list %(what)s: %(reason)s'


@dataclasses.dataclass(frozen=True)
class Wanted:
    """One deleted instance and the kinds to check for it.

    ``migration_uuids``: its migrations, whose allocations are checked with
    its own; ``created_by_nova``: ``{port_id: bool}``, who created which of
    its ports, as far as known.
    """

    instance_uuid: str
    kinds: frozenset
    shelve_image_id: str | None = None
    migration_uuids: tuple = ()
    created_by_nova: dict | None = dataclasses.field(default=None,
                                                     compare=False)


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


def _chunks(items, size):
    for start in range(0, len(items), size):
        yield items[start:start + size]


class BulkFinder:
    """Finds the leaks of batches of deleted instances.

    The placement and Cinder indexes are built on first need and kept for
    the life of the finder (one sweep).
    """

    def __init__(self, context, clients):
        self.context = context
        self.clients = clients
        self._allocations = None
        self._attachments = None

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

        def uuids(kind):
            return [w.instance_uuid for w in wanted if kind in w.kinds]

        if uuids(states.ALLOCATIONS):
            index = self.allocations()
            for item in wanted:
                if states.ALLOCATIONS not in item.kinds:
                    continue
                uuid = item.instance_uuid
                for consumer in (uuid,) + tuple(item.migration_uuids):
                    found[uuid] += leaks.allocation_leaks(
                        uuid, index.get(consumer, {}), consumer=consumer)
        owners = {w.instance_uuid: w.created_by_nova for w in wanted}
        for chunk in _chunks(uuids(states.PORTS), PORT_CHUNK):
            ports = collections.defaultdict(list)
            for port in self.clients.neutron(self.context).list_ports(
                    device_id=chunk, fields=_PORT_FIELDS)['ports']:
                ports[port.get('device_id')].append(port)
            for uuid in chunk:
                found[uuid] += leaks.port_leaks(uuid, ports[uuid],
                                                owners.get(uuid))
        if uuids(states.VOLUMES):
            index = self.attachments()
            for uuid in uuids(states.VOLUMES):
                found[uuid] += leaks.attachment_leaks(uuid,
                                                      index.get(uuid, []))
        for item in wanted:
            if states.SHELVE_IMAGE in item.kinds and item.shelve_image_id:
                found[item.instance_uuid] += leaks.shelve_image_leaks(
                    item.instance_uuid, leaks.get_image(
                        self.context, self.clients, item.shelve_image_id))
        return [leak for item in wanted for leak in found[item.instance_uuid]]
