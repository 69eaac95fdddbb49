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

"""What nova-compute does when a policy refuses to destroy an instance.

nova-api has already marked the instance (task_state ``deleting``) when a
policy on nova-compute refuses the destroy, and nova-api ignores every
later delete of an instance in that task_state. So a refused destroy must
leave the instance as a failed Nova action would: deletable again
(task_state cleared), with an instance fault that says why, and the
request's instance action marked failed, so that ``openstack server show``
and ``openstack server event list`` tell the user what happened. nova-api
also marked the server's instance mapping ``queued_for_delete``; that mark
comes off too (see :mod:`nova_delete_ext.hooks.mapping`).

nova-api may also have done what no refusal can undo: deleted the snapshot
of a shelved server, confirmed a pending resize. The fault says so, and the
record's ``steps`` list it (:func:`with_losses`).
"""

from nova.compute import utils as compute_utils
from nova import exception as nova_exception
from nova import objects
from oslo_log import log as logging
from oslo_utils import strutils

from nova_delete_ext import exception
from nova_delete_ext.hooks import mapping
from nova_delete_ext import record as rec
from nova_delete_ext.record import sysmeta

LOG = logging.getLogger(__name__)

#: The instance action event a refused destroy is recorded as.
EVENT = 'delete_ext_refused_destroy'

# Instances whose reclaim a policy refused in this process: the periodic
# task asks again every minute, and one record of the refusal is enough.
_REFUSED_RECLAIMS = set()
_MAX_REFUSED_RECLAIMS = 10000


def first_reclaim_refusal(instance):
    """Whether this is the first refused reclaim of ``instance`` here."""
    if instance.uuid in _REFUSED_RECLAIMS:
        return False
    if len(_REFUSED_RECLAIMS) >= _MAX_REFUSED_RECLAIMS:
        _REFUSED_RECLAIMS.clear()
    _REFUSED_RECLAIMS.add(instance.uuid)
    return True


def explained(denial, instance):
    """The exception a refused destroy is shown as, for ``denial``.

    Nova shows the message of its own exceptions only: the fault and the
    failed event of any other read just its class name (``RuntimeError``).
    A :class:`~nova_delete_ext.exception.DeleteProtected` (protect's, or a
    policy's that uses it) says why already; any other exception becomes
    one that names the policy and its message (masked, since the user sees
    it), never its traceback.

    :param denial: the refusing policy's
        :class:`~nova_delete_ext.policies.base.Decision`.
    """
    error = denial.deny
    if isinstance(error, exception.DeleteProtected):
        return error
    if isinstance(error, nova_exception.NovaException):
        reason = error.format_message()
    else:
        reason = str(error)
    return exception.DeleteProtected(reason=(
        'The %s policy refused to destroy server %s: %s' % (
            denial.policy, instance.uuid,
            strutils.mask_password(reason) or type(error).__name__)))


def with_losses(attempt, error):
    """``error``, or a refusal that first names what nova-api did already.

    First: Nova keeps 255 characters of a fault's message, and the loss is
    what the user cannot find anywhere else; the policy's reason is also
    in the record's decisions and the service log.
    """
    losses = []
    steps = attempt.record.steps or ()
    if rec.STEP_DELETE_SHELVE_IMAGE in steps:
        losses.append('its shelve snapshot %sis gone: unshelve it before '
                      'it is offloaded, or it cannot be unshelved' % (
                          '%s ' % attempt.shelve_image_id
                          if attempt.shelve_image_id else ''))
    if rec.STEP_CONFIRM_RESIZE in steps:
        losses.append('its pending resize was confirmed already and cannot '
                      'be reverted')
    if not losses:
        return error
    if isinstance(error, nova_exception.NovaException):
        text = error.format_message()
    else:
        text = '%s: %s' % (type(error).__name__, error)
    return exception.DeleteProtected(reason='Not deleted, but %s. %s' % (
        '; '.join(losses), text))


def leave_deletable(context, instance, host, trigger, error):
    """Undo nova-api's mark and record ``error`` as Nova records a failure.

    :param error: the exception to show (see :func:`explained`).
    """
    if trigger != rec.TRIGGER_RECLAIM and instance.task_state is not None:
        # A soft-deleted instance waiting for reclaim has no task to undo,
        # and is rightly queued for deletion until it is restored.
        instance.task_state = None
        instance.system_metadata[sysmeta.REFUSED_KEY] = str(
            getattr(context, 'request_id', None) or trigger)
        instance.save()
        mapping.unqueue_from_compute(context, instance)
    compute_utils.add_instance_fault_from_exc(context, instance, error)
    if trigger != rec.TRIGGER_API:
        return  # no instance action: Nova itself started this delete
    try:
        objects.InstanceActionEvent.event_start(
            context, instance.uuid, EVENT, want_result=False, host=host)
        objects.InstanceActionEvent.event_finish_with_failure(
            context, instance.uuid, EVENT, exc_val=error,
            exc_tb=str(error), want_result=False)
    except nova_exception.InstanceActionNotFound:
        LOG.debug('No instance action for request %s to mark failed',
                  context.request_id, instance=instance)
