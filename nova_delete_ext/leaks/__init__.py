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
    """

    kind: str
    instance_uuid: str
    resource_id: str
    detail: str = ''

    @property
    def repairable(self):
        return self.kind in REPAIRABLE

    def describe(self):
        text = 'instance %s: %s %s' % (self.instance_uuid, self.kind,
                                       self.resource_id)
        return '%s (%s)' % (text, self.detail) if self.detail else text

    def as_dict(self):
        # Not dataclasses.asdict(), which deep-copies every field: a sweep
        # makes one of these per leak it prints.
        return {'kind': self.kind, 'instance_uuid': self.instance_uuid,
                'resource_id': self.resource_id, 'detail': self.detail}


# The rules: which records of a service are leaks of an instance ----------

def allocation_leaks(instance_uuid, allocations):
    """Leaks in ``{rp_uuid: {'resources': {...}}}`` held by the consumer.

    A deleted instance's uuid holds nothing in placement: every provider
    it still has an allocation against is a leak.
    """
    return [Leak(states.ALLOCATIONS, instance_uuid, rp_uuid,
                 _resources_text(alloc.get('resources') or {}))
            for rp_uuid, alloc in sorted(allocations.items())]


def _resources_text(resources):
    return ','.join('%s=%s' % item for item in sorted(resources.items()))


def port_leaks(instance_uuid, ports):
    """Ports (Neutron dicts) whose ``device_id`` is still the instance."""
    return [Leak(states.PORTS, instance_uuid, port['id'],
                 'device_owner=%s host=%s' % (
                     port.get('device_owner') or '-',
                     port.get('binding:host_id') or '-'))
            for port in ports if port.get('device_id') == instance_uuid]


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
         driver=None):
    """Leaks of one deleted instance, for the given kinds only.

    :param kinds: a set of ``states.*`` kind names; kinds not in
        :data:`CHECKED` are ignored.
    :param shelve_image_id: the shelve snapshot recorded for the instance;
        ``SHELVE_IMAGE`` is checked only when it is given.
    :param driver: a ``nova.virt`` driver; ``DOMAIN`` is checked only when
        it is given (the instance's uuid still in
        ``driver.list_instance_uuids()``).
    :returns: a list of :class:`Leak`, in the order of :data:`CHECKED`.
    :raises: what the service clients raise when a service cannot answer:
        a check that cannot be made is never reported as "no leak".
    """
    found = []
    if states.ALLOCATIONS in kinds:
        allocs = clients.placement.get_allocs_for_consumer(
            context, instance_uuid)
        found += allocation_leaks(instance_uuid, allocs['allocations'])
    if states.PORTS in kinds:
        ports = clients.neutron(context).list_ports(device_id=instance_uuid)
        found += port_leaks(instance_uuid, ports['ports'])
    if states.VOLUMES in kinds:
        found += attachment_leaks(instance_uuid,
                                  clients.volume_api.attachment_get_all(
                                      context, instance_id=instance_uuid))
    if states.SHELVE_IMAGE in kinds and shelve_image_id:
        found += shelve_image_leaks(
            instance_uuid, get_image(context, clients, shelve_image_id))
    if states.DOMAIN in kinds and driver is not None:
        found += domain_leaks(instance_uuid, driver.list_instance_uuids())
    return found
