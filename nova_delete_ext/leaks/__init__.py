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

"""What a deleted instance left behind, and how to remove it.

The one implementation of a leak check, shared by the ``verify`` policy
(one instance, right after its delete) and by ``nova-delete-ext sweep``
(many deleted instances, through the bulk lookups of :mod:`.index`).
The rules of each kind live here: which record of a service is a leak of
an instance (the ``*_leaks`` functions, fed by a per-instance or a bulk
query). How a leak is removed is in :mod:`.repair`. Everything goes
through Nova's own service clients (:mod:`.services`), so the checks see
what Nova sees, with the credentials of ``nova.conf``.
"""

import dataclasses

from nova import exception as nova_exception
from oslo_log import log as logging

from nova_delete_ext.leaks import novadb
from nova_delete_ext import states

LOG = logging.getLogger(__name__)

#: Kinds this module can check, in the order :func:`find` reports them.
CHECKED = (states.ALLOCATIONS, states.PORTS, states.VOLUMES,
           states.SHELVE_IMAGE, states.DOMAIN)
#: Kinds :mod:`.repair` removes. A domain is left to nova-compute.
REPAIRABLE = frozenset(CHECKED) - {states.DOMAIN}

# Glance statuses of an image that is gone or going.
_IMAGE_GONE = ('deleted', 'pending_delete', 'killed')


@dataclasses.dataclass(frozen=True)
class Leak:
    """One resource a deleted instance still holds.

    :param kind: one of :data:`CHECKED` (``states.*``).
    :param resource_id: the port id, volume attachment id, image id,
        resource provider uuid (allocations), or the instance uuid itself
        (domain).
    :param consumer: allocations only: the placement consumer that holds
        them, the instance's uuid or the uuid of one of its migrations.
    :param created_by_nova: ports only: True if Nova created the port for
        the instance (a repair deletes it), False if the user brought it,
        None if that is not known (a repair unbinds both).
    """

    kind: str
    instance_uuid: str
    resource_id: str
    detail: str = ''
    consumer: str | None = None
    created_by_nova: bool | None = None

    @property
    def repairable(self):
        return self.kind in REPAIRABLE

    @property
    def holder(self):
        """The placement consumer of an allocation leak."""
        return self.consumer or self.instance_uuid

    def describe(self):
        text = 'instance %s: %s %s' % (self.instance_uuid, self.kind,
                                       self.resource_id)
        return '%s (%s)' % (text, self.detail) if self.detail else text

    def as_dict(self):
        # Not dataclasses.asdict(), which deep-copies every field: a sweep
        # makes one of these per leak it prints.
        data = {'kind': self.kind, 'instance_uuid': self.instance_uuid,
                'resource_id': self.resource_id, 'detail': self.detail}
        if self.consumer is not None:
            data['consumer'] = self.consumer
        if self.created_by_nova is not None:
            data['created_by_nova'] = self.created_by_nova
        return data


# The rules: which records of a service are leaks of an instance ----------

def allocation_leaks(instance_uuid, allocations, consumer=None):
    """Leaks in ``{rp_uuid: {'resources': {...}}}`` held by the consumer.

    A deleted instance's uuid holds nothing in placement, nor does any of
    its migrations: every provider such a consumer still has an allocation
    against is a leak.

    :param consumer: the consumer holding ``allocations``: a migration of
        the instance, or by default the instance itself.
    """
    consumer = consumer or instance_uuid
    held_by = '' if consumer == instance_uuid else 'migration=%s ' % consumer
    return [Leak(states.ALLOCATIONS, instance_uuid, rp_uuid,
                 held_by + _resources_text(alloc.get('resources') or {}),
                 consumer=consumer)
            for rp_uuid, alloc in sorted(allocations.items())]


def _resources_text(resources):
    return ','.join('%s=%s' % item for item in sorted(resources.items()))


_CREATOR = {True: 'created by Nova', False: 'brought by the user',
            None: 'creator unknown'}


def port_leaks(instance_uuid, ports, created_by_nova=None):
    """Ports (Neutron dicts) whose ``device_id`` is still the instance.

    :param created_by_nova: ``{port_id: bool}``, who created which port
        (see :func:`nova_delete_ext.leaks.novadb.nova_created`); a port it
        does not list is of unknown origin.
    """
    created_by_nova = created_by_nova or {}
    found = []
    for port in ports:
        if port.get('device_id') != instance_uuid:
            continue
        created = created_by_nova.get(port['id'])
        found.append(Leak(states.PORTS, instance_uuid, port['id'],
                          'device_owner=%s host=%s %s' % (
                              port.get('device_owner') or '-',
                              port.get('binding:host_id') or '-',
                              _CREATOR[created]),
                          created_by_nova=created))
    return found


def attachment_instance(attachment):
    """The instance a Cinder attachment names, or None if it says not.

    Cinder's list calls it ``instance``; Nova's translated attachment moves
    it under ``connection_info``; Nova's CinderFixture says
    ``instance_uuid``.
    """
    return (attachment.get('instance') or attachment.get('instance_uuid') or
            (attachment.get('connection_info') or {}).get('instance'))


def attachment_leaks(instance_uuid, attachments):
    """Volume attachment records that still name the instance."""
    return [Leak(states.VOLUMES, instance_uuid, att['id'],
                 'volume=%s' % (att.get('volume_id') or '-'))
            for att in attachments
            if attachment_instance(att) in (None, instance_uuid)]


def shelve_image_leaks(instance_uuid, image):
    """The shelve snapshot, if ``image`` (a Glance dict or None) is one.

    The image id comes from the instance's ``system_metadata``; the image
    must also not name another instance in its ``instance_uuid`` property
    (Nova sets it on every snapshot), so that a stale id never makes a
    user's image look like a leak.
    """
    if not image or image.get('status') in _IMAGE_GONE:
        return []
    owner = (image.get('properties') or {}).get('instance_uuid')
    if owner not in (None, instance_uuid):
        LOG.warning('Image %(image)s is the shelve snapshot in the record '
                    'of instance %(instance)s but belongs to instance '
                    '%(owner)s; it is not reported as a leak.',
                    {'image': image['id'], 'instance': instance_uuid,
                     'owner': owner})
        return []
    return [Leak(states.SHELVE_IMAGE, instance_uuid, image['id'],
                 'name=%s' % (image.get('name') or '-'))]


def domain_leaks(instance_uuid, uuids_on_hypervisor):
    if instance_uuid in uuids_on_hypervisor:
        return [Leak(states.DOMAIN, instance_uuid, instance_uuid,
                     'still defined on the hypervisor')]
    return []


def get_image(context, clients, image_id):
    """The Glance image ``image_id``, or None when Glance has none."""
    try:
        return clients.image_api.get(context, image_id)
    except nova_exception.ImageNotFound:
        return None


# One instance ---------------------------------------------------------------

def find(context, instance_uuid, kinds, clients, shelve_image_id=None,
         driver=None, network_info=None, errors=None):
    """Leaks of one deleted instance, for the given kinds only.

    :param kinds: a set of ``states.*`` kind names; kinds not in
        :data:`CHECKED` are ignored.
    :param shelve_image_id: the shelve snapshot recorded for the instance;
        ``SHELVE_IMAGE`` is checked only when it is given.
    :param driver: a ``nova.virt`` driver; ``DOMAIN`` is checked only when
        it is given (the instance's uuid still in
        ``driver.list_instance_uuids()``).
    :param network_info: the instance's network info from before the
        delete, to tell the ports Nova created from the user's; without
        it, what the deleted instance's info cache still says.
    :param errors: a dict: a kind that cannot be checked is set in it, with
        the exception, and the other kinds are still checked. Without it
        the first exception is raised.
    :returns: a list of :class:`Leak`, in the order of :data:`CHECKED`.
    :raises: without ``errors``, what the service clients raise when a
        service cannot answer (among them
        :class:`~nova_delete_ext.deadline.CallTimedOut`): a check that
        cannot be made is never reported as "no leak".
    """
    found = []
    for kind in CHECKED:
        if kind not in kinds:
            continue
        try:
            found += _FINDERS[kind](context, instance_uuid, clients,
                                    shelve_image_id=shelve_image_id,
                                    driver=driver, network_info=network_info)
        except Exception as exc:
            if errors is None:
                raise
            errors[kind] = exc
    return found


def _find_allocations(context, instance_uuid, clients, **kwargs):
    found = []
    consumers = [instance_uuid] + clients.call(
        'nova', novadb.migration_uuids, context, instance_uuid)
    for consumer in consumers:
        allocs = clients.placement.get_allocs_for_consumer(context, consumer)
        found += allocation_leaks(instance_uuid, allocs['allocations'],
                                  consumer=consumer)
    return found


def _find_ports(context, instance_uuid, clients, network_info=None,
                **kwargs):
    ports = clients.neutron(context).list_ports(
        device_id=instance_uuid)['ports']
    if not port_leaks(instance_uuid, ports):
        return []
    if network_info is None:
        try:
            network_info = clients.call('nova', novadb.network_info,
                                        context, instance_uuid)
        except Exception as exc:
            # Only the choice between deleting and unbinding depends on it:
            # unknown, so unbound.
            LOG.warning('Could not read the network info of deleted '
                        'instance %(instance)s; its ports are unbound, '
                        'not deleted: %(error)s',
                        {'instance': instance_uuid, 'error': exc})
    return port_leaks(instance_uuid, ports, novadb.nova_created(network_info))


def _find_attachments(context, instance_uuid, clients, **kwargs):
    return attachment_leaks(instance_uuid,
                            clients.volume_api.attachment_get_all(
                                context, instance_id=instance_uuid))


def _find_shelve_image(context, instance_uuid, clients,
                       shelve_image_id=None, **kwargs):
    if not shelve_image_id:
        return []
    return shelve_image_leaks(
        instance_uuid, get_image(context, clients, shelve_image_id))


def _find_domain(context, instance_uuid, clients, driver=None, **kwargs):
    if driver is None:
        return []
    return domain_leaks(instance_uuid, clients.call(
        'the hypervisor', driver.list_instance_uuids))


_FINDERS = {
    states.ALLOCATIONS: _find_allocations,
    states.PORTS: _find_ports,
    states.VOLUMES: _find_attachments,
    states.SHELVE_IMAGE: _find_shelve_image,
    states.DOMAIN: _find_domain,
}
