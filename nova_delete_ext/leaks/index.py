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

"""Leaks of many deleted instances, with few calls per service.

The bulk counterpart of :func:`nova_delete_ext.leaks.find`: the same rules
(``leaks.*_leaks``), fed by queries that each answer for many instances:

* placement: every resource provider's allocations, read once per sweep
  (placement has no query by many consumers: see
  :mod:`nova_delete_ext.leaks.providers`) and indexed by consumer, the
  instance or one of its migrations (a consumer of a resize or a cold
  migration: see :mod:`nova_delete_ext.leaks.novadb`);
* Cinder: every volume attachment, read once per sweep, page by page, and
  indexed by instance (Cinder filters attachments by one instance only);
* Neutron: the ports of up to :data:`PORT_CHUNK` instances per query
  (``device_id`` takes a list); once a sweep has asked for
  :data:`PORT_LISTING_AT` instances, every port instead, listed once
  (with only the fields a check reads) and indexed by ``device_id``;
* Glance: the shelve snapshots recorded on the deleted instances (only
  instances deleted while shelved have one), up to :data:`IMAGE_CHUNK` ids
  per query (``id`` takes a list with ``in:``).

The indexes hold what placement, Cinder and Neutron hold for the whole
cloud, live instances included, so their size follows the size of the
cloud, not the number of deleted instances swept.
"""

import collections
import itertools
import typing

from oslo_log import log as logging
from oslo_utils import uuidutils

from nova_delete_ext import leaks
from nova_delete_ext.leaks import providers
from nova_delete_ext import states

LOG = logging.getLogger(__name__)

# Some deployments refuse a URL past 3 kB: gunicorn refuses a request line
# over 4,094 bytes, and uwsgi's default 4,096-byte buffer holds the request
# line with every header, the token among them. Both chunks below keep
# their query's URL under 3 kB.
#: Instances per Neutron query (``device_id=<uuid>&``: 47 bytes each).
PORT_CHUNK = 60
#: From this many instances asked by device_id (17 queries), listing
#: every port once costs less than going on query by query. A sweep's
#: first full page of the default size reaches it: the sweep then lists
#: every port at once, rather than after 17 queries it had no use for.
PORT_LISTING_AT = 1000
#: Images per Glance query (``<id>%2C``: 39 bytes each).
IMAGE_CHUNK = 70
#: Attachments per Cinder page (Cinder caps it at its osapi_max_limit).
ATTACHMENT_PAGE = 1000
# The microversion Nova itself uses for attachments.
_CINDER_MICROVERSION = '3.44'
_PORT_FIELDS = ['id', 'device_id', 'device_owner', 'binding:host_id']


class Group(typing.NamedTuple):
    """Deleted instances that may hold the same kinds.

    A sweep sorts each page of rows into a few groups, so that the indexes
    are matched against a whole group at once (a set intersection) rather
    than instance by instance.

    :param kinds: the ``states.*`` kinds to check for every instance here.
    :param instance_uuids: a list of instance uuids.
    :param shelve_images: ``{instance uuid: image id}``, the shelve snapshot
        recorded for each instance; ``SHELVE_IMAGE`` is checked only for
        the instances named here.
    """

    kinds: frozenset
    instance_uuids: list
    shelve_images: dict | None = None


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


def images_by_id(context, clients, image_ids):
    """``{image id: image}`` of the images among ``image_ids`` Glance has.

    Asked :data:`IMAGE_CHUNK` ids at a time (``id=in:``), of every
    visibility. A value that is no UUID names no image: Glance's ids are
    UUIDs, and ``in:`` would read a comma in one as two ids.
    """
    wanted = sorted({image_id for image_id in image_ids
                     if uuidutils.is_uuid_like(image_id)})
    found = {}
    for chunk in _chunks(wanted, IMAGE_CHUNK):
        for image in clients.image_api.get_all(
                context, page_size=IMAGE_CHUNK,
                filters={'id': 'in:' + ','.join(chunk),
                         'visibility': 'all'}):
            found[image['id']] = image
    # Only what was asked: a Glance that ignores a filter lists more.
    return {image_id: found[image_id] for image_id in wanted
            if image_id in found}


def _chunks(items, size):
    for start in range(0, len(items), size):
        yield items[start:start + size]


class BulkFinder:
    """Finds the leaks of batches of deleted instances.

    The placement, Cinder and Neutron indexes are built on first need and
    kept for the life of the finder (one sweep). A listing of many requests
    runs on one thread (placement's on ``placement_concurrency``), each
    request with its own time limit.
    """

    def __init__(self, context, clients,
                 placement_concurrency=providers.DEFAULT_CONCURRENCY):
        self.context = context
        self.clients = clients
        self.placement_concurrency = placement_concurrency
        self._allocations = None
        self._attachments = None
        self._ports = None
        self._ports_asked = 0

    def allocations(self):
        if self._allocations is None:
            self._allocations = providers.allocations_by_consumer(
                self.context, self.clients, self.placement_concurrency)
        return self._allocations

    def attachments(self):
        if self._attachments is None:
            self._attachments = self.clients.call(
                'cinder', attachments_by_instance, self.context, self.clients)
        return self._attachments

    def ports(self):
        """Every port, indexed by ``device_id``: listed once."""
        if self._ports is None:
            self._ports = ports_by_device(self.context, self.clients)
        return self._ports

    def candidates(self, kinds):
        """Sorted uuids the indexes of ``kinds`` hold anything for.

        An instance these indexes do not name holds no allocation, volume
        attachment or port. For ports, every port is listed. Shelve
        snapshots are not indexed here: the rows name them.
        """
        uuids = set()
        if states.ALLOCATIONS in kinds:
            uuids.update(self.allocations())
        if states.VOLUMES in kinds:
            uuids.update(self.attachments())
        if states.PORTS in kinds:
            uuids.update(self.ports())
        return sorted(uuids)

    def find(self, groups, order=None, migrations=None, owners=None):
        """Leaks of the instances in ``groups`` (:class:`Group` items).

        :param order: the instance uuids in the order the leaks are wanted
            in (a sweep gives its rows' order); by default the groups'.
        :param migrations: ``{instance uuid: [migration uuid]}``: the
            allocations of these consumers are leaks of that instance,
            whatever state it was deleted from (no migration of a deleted
            instance holds anything on purpose).
        :param owners: ``owners(instance_uuids)`` gives ``{instance uuid:
            {port_id: bool}}``, who created the ports of each (see
            :func:`nova_delete_ext.leaks.novadb.nova_created`); asked once,
            for the instances whose ports are found, which are few.
        :returns: a list of :class:`~nova_delete_ext.leaks.Leak`, by
            instance in that order, and by kind within an instance as
            :func:`~nova_delete_ext.leaks.find` orders them.
        """
        groups = [group for group in groups
                  if group.kinds and group.instance_uuids]
        found = collections.defaultdict(list)

        def asked(kind):
            return [group.instance_uuids for group in groups
                    if kind in group.kinds]

        # An instance an index does not name holds nothing of that kind:
        # only the intersection of a group with an index is looked at.
        self._match(found, asked(states.ALLOCATIONS), self.allocations,
                    leaks.allocation_leaks)
        if migrations:
            index = self.allocations()
            for uuid, consumers in migrations.items():
                for consumer in consumers:
                    if consumer in index:
                        found[uuid] += leaks.allocation_leaks(
                            uuid, index[consumer], consumer=consumer)
        self._find_ports(found, asked(states.PORTS), owners)
        self._match(found, asked(states.VOLUMES), self.attachments,
                    leaks.attachment_leaks)
        snapshots = {uuid: image_id for group in groups
                     if states.SHELVE_IMAGE in group.kinds
                     for uuid, image_id in (group.shelve_images or {}).items()}
        if snapshots:
            images = self.clients.call('glance', images_by_id,
                                       self.context, self.clients,
                                       snapshots.values())
            for uuid, image_id in snapshots.items():
                found[uuid] += leaks.shelve_image_leaks(uuid,
                                                        images.get(image_id))
        if not found:
            return []
        if order is None:
            order = itertools.chain(itertools.chain.from_iterable(
                group.instance_uuids for group in groups), migrations or ())
        return [leak for uuid in order if uuid in found
                for leak in found.pop(uuid)]

    @staticmethod
    def _match(found, uuid_lists, index_of, rule):
        if not uuid_lists:
            return
        index = index_of()
        for uuids in uuid_lists:
            for uuid in index.keys() & uuids:
                found[uuid] += rule(uuid, index[uuid])

    def _find_ports(self, found, uuid_lists, owners):
        self._ports_asked += sum(len(uuids) for uuids in uuid_lists)
        if (uuid_lists and self._ports is None and
                self._ports_asked >= PORT_LISTING_AT):
            self.ports()
        if self._ports is not None:
            held = {uuid: self._ports[uuid] for uuids in uuid_lists
                    for uuid in self._ports.keys() & uuids}
        else:
            held = {}
            uuids = list(itertools.chain.from_iterable(uuid_lists))
            for chunk in _chunks(uuids, PORT_CHUNK):
                ports = ports_of(self.context, self.clients, chunk)
                held.update((uuid, ports[uuid]) for uuid in chunk
                            if uuid in ports)
        leaking = {uuid: leaks.port_leaks(uuid, ports)
                   for uuid, ports in held.items()}
        leaking = {uuid: each for uuid, each in leaking.items() if each}
        # Who created a port tells how to repair it, not whether it leaks.
        created = owners(sorted(leaking)) if owners and leaking else {}
        for uuid, each in leaking.items():
            if created.get(uuid):
                each = leaks.port_leaks(uuid, held[uuid], created[uuid])
            found[uuid] += each
