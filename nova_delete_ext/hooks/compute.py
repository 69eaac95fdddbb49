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

"""Hooks on ``nova.compute.manager.ComputeManager``: deletes on the host.

``ComputeManager._delete_instance`` is where a compute host really deletes
an instance, whoever asked: ``terminate_instance`` (an API request), the
periodic reclaim of soft-deleted instances, or ``_init_instance`` resuming
a delete a crash interrupted. The callers mark the trigger; the delete
itself writes the record.

``_reclaim_queued_deletes`` is a periodic task that oslo.service calls
through the function it collected when the class was defined, so wrapping
it would not be seen: reclaim is what calls ``_delete_instance`` when
neither of the other callers did.
"""

import functools

from nova.compute import task_states
from nova import exception as nova_exception
from oslo_log import log as logging

from nova_delete_ext.hooks import decide
from nova_delete_ext.hooks import installer
from nova_delete_ext.hooks import mixed
from nova_delete_ext.hooks import refusal
from nova_delete_ext import policies
from nova_delete_ext import record as rec
from nova_delete_ext.record import attempt as attempt_mod
from nova_delete_ext.record import release
from nova_delete_ext.record import sysmeta
from nova_delete_ext import states

LOG = logging.getLogger(__name__)

MANAGER = 'nova.compute.manager.ComputeManager'


def _with_trigger(trigger, original, *args):
    token = attempt_mod.COMPUTE_TRIGGER.set(trigger)
    try:
        return original(*args)
    finally:
        attempt_mod.COMPUTE_TRIGGER.reset(token)


def terminate_instance(original, self, context, instance, bdms):
    return _with_trigger(rec.TRIGGER_API, original, self, context, instance,
                         bdms)


def _init_instance(original, self, context, instance):
    return _with_trigger(rec.TRIGGER_RESUME, original, self, context,
                         instance)


def _begin(context, instance, default_type, trigger, unhooked=False):
    """Open the attempt with the facts nova-api carried, when it did."""
    carried = None
    # An entry this nova-compute cannot read (a newer nova-api's) says
    # nothing of the policies nova-api applied: no mixed configuration is
    # inferred from it.
    unreadable = sysmeta.get(instance, sysmeta.REQUEST_KEY) is not None
    try:
        carried = sysmeta.take(instance, getattr(context, 'request_id', None))
    except Exception:
        LOG.exception('nova-delete-ext could not read the facts nova-api '
                      'carried; recording what the compute host sees.',
                      instance=instance)
    if carried is None or trigger != rec.TRIGGER_API:
        attempt = attempt_mod.begin(context, instance, default_type,
                                    trigger, 'compute', unhooked=unhooked)
    else:
        attempt = attempt_mod.begin(context, instance, carried.delete_type,
                                    trigger, 'compute', state=carried.state,
                                    requested_at=carried.requested_at,
                                    unhooked=unhooked)
        if attempt is not None:
            attempt.record.steps = carried.steps
            attempt.record.decisions = carried.decisions
            if carried.policies is not None:
                attempt.api_policies = tuple(carried.policies)
    unreadable = unreadable and carried is None
    if (attempt is not None and trigger == rec.TRIGGER_API and
            not unhooked and not unreadable):
        with attempt.guard():
            mixed.note(attempt, attempt.api_policies)
    return attempt


def _delete_instance(original, self, context, instance, bdms):
    trigger = attempt_mod.COMPUTE_TRIGGER.get() or rec.TRIGGER_RECLAIM
    attempt = _begin(context, instance, rec.DELETE, trigger)
    if attempt is None:
        # No attempt, so no policy: a protection asked for is not skipped.
        error = decide.unchecked(instance, destroy=True)
        if error is None:
            return original(self, context, instance, bdms)
        _refuse(None, context, instance, self.host, trigger, error)
        return None
    with attempt.guard():
        attempt.driver = self.driver
        attempt.shelve_image_id = states.shelve_image_id(instance)
    if _destroy_denied(attempt, context, instance, self.host):
        return None
    return _destroy(attempt, original, self, context, instance, bdms,
                    then=decide.after_delete())


def _delete_instance_unhooked(original, self, context, instance, bdms):
    """``_delete_instance`` after its hook failed: recorded, no policy."""
    trigger = attempt_mod.COMPUTE_TRIGGER.get() or rec.TRIGGER_RECLAIM
    attempt = _begin(context, instance, rec.DELETE, trigger, unhooked=True)
    if attempt is None:
        return original(self, context, instance, bdms)
    return _destroy(attempt, original, self, context, instance, bdms)


def _destroy(attempt, original, self, context, instance, bdms, then=None):
    """Nova's ``_delete_instance``, recorded as it ends."""
    try:
        result = original(self, context, instance, bdms)
    except nova_exception.InstanceNotFound:
        attempt.finish(rec.ALREADY_DELETED, path=rec.PATH_COMPUTE)
        raise
    except Exception as exc:
        attempt.finish(rec.FAILED, path=rec.PATH_COMPUTE, error=exc)
        raise
    with attempt.guard():
        released, retained = release.plan(
            attempt.state, rec.PATH_COMPUTE,
            has_volumes=any(bdm.is_volume for bdm in bdms))
        attempt.finish(rec.DELETED, path=rec.PATH_COMPUTE,
                       released=released, retained=retained, then=then)
    return result


def _destroy_denied(attempt, context, instance, host):
    """Run the policies before the destroy; True if one refused it."""
    try:
        denial = decide.before_destroy(attempt)
        error = (refusal.explained(denial, instance) if denial is not None
                 else None)
    except Exception:
        attempt_mod.log_internal_error(instance)
        # Nothing was decided: leave the instance alone, as for a denial,
        # if a policy that must fail closed is enabled.
        error = decide.unchecked(instance, destroy=True)
    if error is None:
        return False
    _refuse(attempt, context, instance, host, attempt.record.trigger, error)
    return True


def _refuse(attempt, context, instance, host, trigger, error):
    """Leave the instance deletable; record it if ``attempt`` is open."""
    if (trigger == rec.TRIGGER_RECLAIM and
            not refusal.first_reclaim_refusal(instance)):
        LOG.debug('Reclaim refused again: %s', error, instance=instance)
        if attempt is not None:
            attempt.abandon()
        return
    if attempt is not None:
        with attempt.guard():
            error = refusal.with_losses(attempt, error)
    LOG.warning('Not deleting this instance: %s', error, instance=instance)
    try:
        refusal.leave_deletable(context, instance, host, trigger, error)
    except Exception:
        attempt_mod.log_internal_error(instance)
    if attempt is not None:
        attempt.finish(rec.DENIED, path=rec.PATH_COMPUTE)


def soft_delete_instance(original, self, context, instance,
                         unhooked=False):
    """Record a soft delete; ``unhooked``: marked as a fallback's."""
    attempt = _begin(context, instance, rec.SOFT_DELETE, rec.TRIGGER_API,
                     unhooked=unhooked)
    if attempt is None:
        return original(self, context, instance)
    try:
        result = original(self, context, instance)
    except Exception as exc:
        attempt.finish(rec.FAILED, path=rec.PATH_COMPUTE, error=exc)
        raise
    with attempt.guard():
        released, retained = release.plan(attempt.state, rec.PATH_COMPUTE,
                                          soft=True)
        attempt.finish(rec.SOFT_DELETED, path=rec.PATH_COMPUTE,
                       released=released, retained=retained)
    return result


def restore_instance(original, self, context, instance, unhooked=False):
    """Record a restore; ``unhooked``: without the policies (a fallback)."""
    state = None
    try:
        state = states.InstanceState.of(instance)
        if state.task_state == task_states.RESTORING:
            # nova-api only restores an instance with no task under way
            # (it saves with expected_task_state=[None]) and then marks it
            # restoring: the state at the request had no task_state.
            state = states.InstanceState(state.vm_state, None,
                                         state.power_state, state.host)
    except Exception:
        LOG.exception('nova-delete-ext could not read the state of this '
                      'restore; recording what the compute host sees.',
                      instance=instance)
        state = None
    attempt = attempt_mod.begin(context, instance, rec.RESTORE,
                                rec.TRIGGER_API, 'compute', state=state,
                                unhooked=unhooked)
    if attempt is None:
        return original(self, context, instance)
    kept = None
    if not unhooked:
        with attempt.guard():
            # Nova's restore saves the instance, and with it what the
            # policies change on it here.
            kept = _system_metadata(instance)
            decide.on_restore(attempt)
    try:
        result = original(self, context, instance)
    except Exception as exc:
        with attempt.guard():
            _put_back(instance, kept)
        attempt.finish(rec.FAILED, path=rec.PATH_COMPUTE, error=exc)
        raise
    attempt.finish(rec.RESTORED, path=rec.PATH_COMPUTE)
    return result


def _system_metadata(instance):
    if instance.obj_attr_is_set('system_metadata'):
        return dict(instance.system_metadata)
    return None


def _put_back(instance, kept):
    """Undo what the policies changed for a restore that failed.

    Nova saved the instance when it failed (clearing its task_state), with
    the policies' changes: the server is still in the recycle bin and keeps
    what it had there, its retention first of all.
    """
    if kept is None or _system_metadata(instance) == kept:
        return
    instance.system_metadata = kept
    instance.save()


def _deleted_old_enough(original, self, instance, timeout):
    try:
        retention = policies.active().retention(instance)
    except Exception:
        attempt_mod.log_internal_error(instance)
        retention = None
    if retention is not None:
        timeout = retention
    return original(self, instance, timeout)


HOOK_POINTS = (
    installer.HookPoint(
        MANAGER, 'terminate_instance', '(self, context, instance, bdms)',
        terminate_instance),
    installer.HookPoint(
        MANAGER, '_init_instance', '(self, context, instance)',
        _init_instance),
    installer.HookPoint(
        MANAGER, '_delete_instance', '(self, context, instance, bdms)',
        _delete_instance, may_fall_back=policies.fail_open,
        fallback=_delete_instance_unhooked),
    installer.HookPoint(
        MANAGER, 'soft_delete_instance', '(self, context, instance)',
        soft_delete_instance,
        # No policy acts on a soft delete: the same, marked as unhooked.
        fallback=functools.partial(soft_delete_instance, unhooked=True)),
    installer.HookPoint(
        MANAGER, 'restore_instance', '(self, context, instance)',
        restore_instance,
        fallback=functools.partial(restore_instance, unhooked=True)),
    installer.HookPoint(
        MANAGER, '_deleted_old_enough', '(self, instance, timeout)',
        _deleted_old_enough),
)
