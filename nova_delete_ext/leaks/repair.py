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

"""Removing a leak: what is done to each kind, and nothing more."""

from neutronclient.common import exceptions as neutron_exc
from nova import exception as nova_exception
from oslo_log import log as logging

from nova_delete_ext import exception
from nova_delete_ext import leaks
from nova_delete_ext import states

LOG = logging.getLogger(__name__)


class NotRepairable(exception.DeleteExtError):
    msg_fmt = 'Not repaired: %(leak)s: %(reason)s'


class RepairFailed(exception.DeleteExtError):
    msg_fmt = 'Repair failed: %(leak)s: %(reason)s'


def repair(context, leak, clients):
    """Remove one leak with Nova's service clients; say what was done.

    Nothing a user may still want is destroyed: a port Nova created for the
    instance is deleted, as Nova itself deletes it with the server, but a
    port the user brought, or one whose origin is not known, is only
    unbound from the instance; a volume attachment record is deleted, the
    volume itself is not touched; the consumer's allocations (the
    instance's, or those of one of its migrations) and the shelve snapshot
    (which Nova itself deletes with a shelved server) are deleted. Each
    repair first checks that the resource is still the instance's, so a
    port reused since the check is left alone.

    A ``DOMAIN`` leak is never repaired here: nova-compute's periodic task
    reaps guests of deleted instances when
    ``[DEFAULT]running_deleted_instance_action`` is ``reap``. For it this
    function raises :class:`NotRepairable` (test ``leak.repairable`` first
    to skip it quietly).

    :returns: a short text of what was done.
    :raises NotRepairable: for a kind that is not repaired here.
    :raises RepairFailed: when the service did not remove the leak.
    :raises: what the service clients raise on errors.
    """
    repairer = _REPAIRERS.get(leak.kind)
    if repairer is None:
        raise NotRepairable(
            leak=leak.describe(),
            reason='left to nova-compute, which reaps it when '
                   '[DEFAULT]running_deleted_instance_action is reap')
    action = repairer(context, leak, clients)
    LOG.info('Repaired leak %(leak)s: %(action)s',
             {'leak': leak.describe(), 'action': action})
    return action


def _repair_allocations(context, leak, clients):
    consumer = leak.holder
    deleted = clients.placement.delete_allocation_for_instance(
        context, consumer, force=True,
        consumer_type=('instance' if consumer == leak.instance_uuid
                       else 'migration'))
    if deleted is None:
        # @safe_connect turned a connection error into None.
        raise RepairFailed(leak=leak.describe(),
                           reason='placement could not be reached')
    if deleted:
        return 'deleted the allocations of consumer %s' % consumer
    return 'the allocations of consumer %s were gone' % consumer


def _show_port(client, port_id):
    try:
        return client.show_port(port_id)['port']
    except (neutron_exc.PortNotFoundClient, nova_exception.PortNotFound):
        return None


def _repair_port(context, leak, clients):
    client = clients.neutron(context)
    port = _show_port(client, leak.resource_id)
    if port is None:
        return 'port %s was gone' % leak.resource_id
    if port.get('device_id') != leak.instance_uuid:
        return ('port %s is no longer bound to the instance, left alone'
                % leak.resource_id)
    if leak.created_by_nova:
        return _delete_port(client, leak)
    # Nova's own unbind, as for a port the user brought: it clears the
    # binding and its profile too. It only logs a failed update, hence the
    # check afterwards.
    clients.network_api.unbind_ports(context, [leak.resource_id],
                                     detach=True)
    port = _show_port(client, leak.resource_id)
    if port is not None and port.get('device_id') == leak.instance_uuid:
        raise RepairFailed(leak=leak.describe(),
                           reason='Neutron kept the port bound')
    return ('unbound port %s (device_id, device_owner and binding host '
            'cleared; the port is kept)' % leak.resource_id)


def _delete_port(client, leak):
    # What Nova's deallocate_for_instance does to a port it created.
    try:
        client.delete_port(leak.resource_id)
    except (neutron_exc.PortNotFoundClient, nova_exception.PortNotFound):
        return 'port %s was gone' % leak.resource_id
    if _show_port(client, leak.resource_id) is not None:
        raise RepairFailed(leak=leak.describe(),
                           reason='Neutron kept the port')
    return ('deleted port %s, which Nova created for the instance'
            % leak.resource_id)


def _repair_attachment(context, leak, clients):
    clients.volume_api.attachment_delete(context, leak.resource_id)
    return ('deleted volume attachment %s (the volume is untouched)'
            % leak.resource_id)


def _repair_shelve_image(context, leak, clients):
    image = leaks.get_image(context, clients, leak.resource_id)
    if not leaks.shelve_image_leaks(leak.instance_uuid, image):
        return 'image %s was gone' % leak.resource_id
    try:
        clients.image_api.delete(context, leak.resource_id)
    except nova_exception.ImageNotFound:
        return 'image %s was gone' % leak.resource_id
    return 'deleted shelve snapshot image %s' % leak.resource_id


_REPAIRERS = {
    states.ALLOCATIONS: _repair_allocations,
    states.PORTS: _repair_port,
    states.VOLUMES: _repair_attachment,
    states.SHELVE_IMAGE: _repair_shelve_image,
}
