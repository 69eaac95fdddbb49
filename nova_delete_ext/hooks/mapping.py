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

"""The instance mapping of a server whose destroy a policy refused.

When nova-api hands a delete to the compute host it marks the server's
instance mapping, in the API database, ``queued_for_delete``: Nova then no
longer counts the server in its project's usage
(``[quota]count_usage_from_placement``) and shows it as deleted while its
cell is down. A destroy refused on the compute host leaves the server
alive, so the mark must come off again, as Nova's own restore takes it off.

nova-api sets the mark right after its cast, so the compute host's answer
may come before or after it. Either way one of the two takes it off:

* nova-compute, after it saved the refusal, asks conductor to (through
  Nova's own ``InstanceMapping`` object: nova-compute cannot reach the API
  database itself), which finds the mark if nova-api set it already
  (:func:`unqueue_from_compute`);
* nova-api, right after it set the mark, looks whether the compute host
  refused already (:func:`unqueue_after_cast`).

Conductor reaches the API database where there is one conductor for the
whole cloud, or where cell conductors are allowed such "upcalls". Where
they are not, nova-api takes the mark off the next time it reads the
server (:func:`_get_instance_from_cell`: ``openstack server show``, the
server's events, a client waiting for the delete to end). The refusal
leaves :data:`~nova_delete_ext.record.sysmeta.REFUSED_KEY` on the server,
which tells such a server from one Nova itself left marked.
"""

from nova.compute import api as compute_api
from nova.compute import vm_states
from nova import exception as nova_exception
from nova import objects
from oslo_log import log as logging

from nova_delete_ext.hooks import installer
from nova_delete_ext.record import sysmeta

LOG = logging.getLogger(__name__)

API = 'nova.compute.api.API'
_GONE = (vm_states.SOFT_DELETED, vm_states.DELETED)


def unqueue_from_compute(context, instance):
    """Take the mark off through conductor; never raises.

    :returns: True if the mapping is not marked (any more).
    """
    try:
        # A remotable method: on nova-compute, a call to conductor.
        mapping = objects.InstanceMapping.get_by_instance_uuid(
            context, instance.uuid)
        if mapping.queued_for_delete:
            mapping.queued_for_delete = False
            mapping.save()
        return True
    except Exception as exc:
        LOG.info('The refused server is still counted as queued for '
                 'deletion: conductor could not update its instance '
                 'mapping (%s: %s). nova-api corrects that the next time '
                 'it reads the server.', type(exc).__name__, exc,
                 instance=instance)
        return False


def unqueue_after_cast(context, instance):
    """nova-api, right after marking: take the mark off if already refused.

    One read of the instance's row; its system_metadata only if the
    compute host answered already and left no task under way.
    """
    try:
        current = objects.Instance.get_by_uuid(
            instance._context or context, instance.uuid, expected_attrs=[])
    except nova_exception.InstanceNotFound:
        return  # the compute host deleted it already
    if refused_alive(current):
        _unqueue(context, current)


def refused_alive(instance):
    """Whether a refusal on the compute host left ``instance`` as it was."""
    for attr in ('deleted', 'vm_state', 'task_state'):
        if not instance.obj_attr_is_set(attr):
            return False  # a partial instance, from a cell that is down
    if (instance.deleted or instance.vm_state in _GONE or
            instance.task_state is not None):
        return False
    # Rare enough here to read system_metadata if the request did not.
    return sysmeta.REFUSED_KEY in (instance.system_metadata or {})


def _unqueue(context, instance):
    # As API.restore() does.
    compute_api.API._update_queued_for_deletion(context, instance.uuid,
                                                False)
    LOG.info('The destroy of this server was refused on its compute host; '
             'it is no longer counted as queued for deletion.',
             instance=instance)


def _get_instance_from_cell(original, self, context, im, expected_attrs,
                            cell_down_support):
    instance = original(self, context, im, expected_attrs,
                        cell_down_support)
    try:
        if (im.obj_attr_is_set('queued_for_delete') and
                im.queued_for_delete and refused_alive(instance)):
            _unqueue(context, instance)
    except Exception:
        LOG.exception('nova-delete-ext could not check whether this '
                      'server is wrongly queued for deletion.',
                      instance=instance)
    return instance


HOOK_POINTS = (
    installer.HookPoint(
        API, '_get_instance_from_cell',
        '(self, context, im, expected_attrs, cell_down_support)',
        _get_instance_from_cell),
    installer.HookPoint(
        API, '_update_queued_for_deletion', '(context, instance_uuid, qfd)',
        None),
)
