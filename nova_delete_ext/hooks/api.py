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

"""Hooks on ``nova.compute.api.API``: where nova-api decides the path.

``API._delete`` is the one method every API delete goes through (delete,
soft delete, force delete). Around it an :class:`ApiDelete` collects what
the methods it calls reveal: a BuildRequest deleted, a local delete, the
cast to the compute host, a resize confirmed first. Paths that end in
nova-api write the record here; a cast to the compute host hands the
request-time facts to nova-compute, which writes the record when the delete
really happens.

Restores are recorded by nova-compute alone: a soft-deleted instance always
has a host (a soft delete nova-api does itself destroys the instance).
"""

from nova.compute import task_states
from nova.compute import vm_states
from nova import exception as nova_exception
from oslo_log import log as logging

from nova_delete_ext.hooks import decide
from nova_delete_ext.hooks import installer
from nova_delete_ext.hooks import mapping
from nova_delete_ext import policies
from nova_delete_ext import record as rec
from nova_delete_ext.record import attempt as attempt_mod
from nova_delete_ext.record import release
from nova_delete_ext.record import sysmeta
from nova_delete_ext import states

LOG = logging.getLogger(__name__)

API = 'nova.compute.api.API'
_DELETING = (task_states.DELETING, task_states.SOFT_DELETING)
#: The decision recorded when Nova refused the delete type a policy chose.
REDIRECT_REFUSED = 'nova:refused(%s)'


class ApiDelete:
    """One call of ``API._delete`` and what it was seen to do."""

    def __init__(self, attempt):
        self.attempt = attempt
        self.path = None
        self.has_volumes = None
        self.steps = []
        # Nova looked the instance up in its cell and found it gone.
        self.gone = False

    def wrap_callback(self, cb):
        def callback(context, instance, bdms, *args, **kwargs):
            local = kwargs.get('local', False)
            if not local:
                with self.attempt.guard():
                    self.path = rec.PATH_COMPUTE
                    if self.attempt.state.vm_state == vm_states.SHELVED:
                        # Nova deleted the snapshot before the cast: a
                        # refusal on the host cannot bring it back.
                        self.steps.append(rec.STEP_DELETE_SHELVE_IMAGE)
                    # Without its hook, nova-api applied no policy.
                    applied = (() if self.attempt.unhooked
                               else policies.active().names)
                    sysmeta.stash(instance, self.attempt, steps=self.steps,
                                  decisions=self.attempt.record.decisions,
                                  policies=applied)
            result = cb(context, instance, bdms, *args, **kwargs)
            destroys = self.attempt.record.delete_type != rec.SOFT_DELETE
            if not local and destroys:
                # Nova marked the mapping queued_for_delete after its cast,
                # which the compute host may have refused to carry out.
                with self.attempt.guard():
                    mapping.unqueue_after_cast(context, instance)
            return result
        return callback

    def finish(self, instance, error=None):
        attempt = self.attempt
        if error is not None:
            attempt.finish(rec.FAILED, path=self.path, error=error)
            return
        if self.path == rec.PATH_COMPUTE:
            LOG.debug('Delete handed to compute host %s; it writes the '
                      'record', instance.host, instance=instance)
            return
        if self.path is None:
            if instance.disable_terminate:
                outcome = rec.SKIPPED
            elif self.gone:
                outcome = rec.ALREADY_DELETED
            elif attempt.state.task_state in _DELETING:
                outcome = rec.IGNORED
            else:
                # e.g. a local delete that found no instance mapping: Nova
                # logged a warning and left the instance as it was.
                outcome = rec.NOT_DELETED
            attempt.finish(outcome)
            return
        # Even a soft delete is a delete here: on these paths Nova destroys
        # the instance in its cell database.
        released, retained = release.plan(attempt.state, self.path,
                                          has_volumes=self.has_volumes)
        attempt.record.steps = list(self.steps)
        attempt.finish(rec.DELETED, path=self.path, released=released,
                       retained=retained, then=decide.after_delete())


def _current():
    return attempt_mod.API_ATTEMPT.get()


def _delete(original, self, context, instance, delete_type, cb,
            **instance_attrs):
    attempt = attempt_mod.begin(context, instance, delete_type,
                                rec.TRIGGER_API, 'api')
    if attempt is None:
        # No attempt, so no policy: a protection asked for is not skipped.
        refusal = decide.unchecked(instance)
        if refusal is not None:
            raise refusal
        return original(self, context, instance, delete_type, cb,
                        **instance_attrs)
    redirect = _decide(attempt)
    if redirect == rec.KEEP:
        attempt.finish(rec.KEPT)
        return None
    if redirect is not None:
        attempt.abandon()
        return _redirect(self, context, instance, redirect, attempt)
    return _observe(attempt, original, self, context, instance, delete_type,
                    cb, **instance_attrs)


def _delete_unhooked(original, self, context, instance, delete_type, cb,
                     **instance_attrs):
    """``API._delete`` after its hook failed: recorded, no policy applied."""
    attempt = attempt_mod.begin(context, instance, delete_type,
                                rec.TRIGGER_API, 'api', unhooked=True)
    if attempt is None:
        return original(self, context, instance, delete_type, cb,
                        **instance_attrs)
    return _observe(attempt, original, self, context, instance, delete_type,
                    cb, **instance_attrs)


def _observe(attempt, original, self, context, instance, delete_type, cb,
             **instance_attrs):
    """Nova's ``_delete``, with the path it takes seen for the record."""
    tracker = ApiDelete(attempt)
    token = attempt_mod.API_ATTEMPT.set(tracker)
    try:
        result = original(self, context, instance, delete_type,
                          tracker.wrap_callback(cb), **instance_attrs)
    except Exception as exc:
        with attempt.guard():
            tracker.finish(instance, error=exc)
        raise
    finally:
        attempt_mod.API_ATTEMPT.reset(token)
    with attempt.guard():
        tracker.finish(instance)
    return result


def _decide(attempt):
    """Run the policies; return the delete type to do instead, or None.

    A denial propagates: nova-api answers 409 Conflict. A delete that a
    policy already redirected is not decided on again; the policies that
    decide on a destroy in nova-api too are asked about any delete that
    goes ahead as it is (see ``DeletePolicy.before_destroy_in_api``).
    """
    inherited = attempt_mod.REDIRECTED.get()
    redirect = None
    try:
        with attempt.guard():
            attempt.shelve_image_id = states.shelve_image_id(attempt.instance)
        if inherited is not None:
            attempt.record.decisions = list(inherited)
        else:
            redirect = decide.redirect_of(decide.on_request(attempt))
            if redirect == attempt.record.delete_type:
                redirect = None
        if redirect is None:
            decide.before_destroy_in_api(attempt)
    except nova_exception.InstanceIsLocked:
        raise
    except Exception:
        # The chain's own machinery failed, not a policy (those are
        # guarded one by one): carry on unless a policy must fail closed.
        attempt_mod.log_internal_error(attempt.instance)
        refusal = decide.unchecked(attempt.instance)
        if refusal is not None:
            raise refusal
        return None
    return redirect


def _redirect(api, context, instance, delete_type, attempt):
    """Do ``delete_type`` instead, recorded with the decisions so far."""
    token = attempt_mod.REDIRECTED.set(list(attempt.record.decisions))
    try:
        if delete_type == rec.SOFT_DELETE:
            try:
                return api.soft_delete(context, instance)
            except nova_exception.InstanceIsLocked:
                raise
            except nova_exception.InstanceInvalidState as exc:
                # Nova would not soft-delete it: delete it, as Nova's servers
                # controller does when its own soft delete is refused.
                LOG.info('Nova refused the soft delete a policy asked for '
                         '(%s); deleting the server instead.', exc,
                         instance=instance)
                attempt_mod.REDIRECTED.set(
                    list(attempt.record.decisions) +
                    [REDIRECT_REFUSED % delete_type])
        return api.delete(context, instance)
    finally:
        attempt_mod.REDIRECTED.reset(token)


def _delete_while_booting(original, self, context, instance):
    deleted = original(self, context, instance)
    tracker = _current()
    if deleted and tracker is not None:
        tracker.path = rec.PATH_BUILD_REQUEST
    return deleted


def _local_delete(original, self, context, instance, bdms, delete_type, cb):
    tracker = _current()
    if tracker is not None:
        tracker.path = rec.PATH_LOCAL
    return original(self, context, instance, bdms, delete_type, cb)


def _lookup_instance(original, self, context, uuid):
    cell, instance = original(self, context, uuid)
    tracker = _current()
    if tracker is not None and instance is None:
        tracker.gone = True
    return cell, instance


def _local_delete_cleanup(original, self, context, instance_uuid):
    tracker = _current()
    if tracker is not None and tracker.path is None and not tracker.gone:
        # The instance never reached a host: nova-api destroyed it in its
        # cell database and now drops its allocations.
        tracker.path = rec.PATH_LOCAL
    return original(self, context, instance_uuid)


def _local_cleanup_bdm_volumes(original, self, bdms, instance, context):
    tracker = _current()
    if tracker is not None:
        with tracker.attempt.guard():
            tracker.has_volumes = any(bdm.is_volume for bdm in bdms)
    return original(self, bdms, instance, context)


def _confirm_resize_on_deleting(original, self, context, instance):
    tracker = _current()
    if tracker is not None:
        tracker.steps.append(rec.STEP_CONFIRM_RESIZE)
    return original(self, context, instance)


HOOK_POINTS = (
    installer.HookPoint(
        API, '_delete',
        '(self, context, instance, delete_type, cb, **instance_attrs)',
        _delete, may_fall_back=policies.fail_open,
        fallback=_delete_unhooked),
    installer.HookPoint(
        API, '_delete_while_booting', '(self, context, instance)',
        _delete_while_booting),
    installer.HookPoint(
        API, '_local_delete',
        '(self, context, instance, bdms, delete_type, cb)', _local_delete),
    installer.HookPoint(
        API, '_local_delete_cleanup', '(self, context, instance_uuid)',
        _local_delete_cleanup),
    installer.HookPoint(
        API, '_local_cleanup_bdm_volumes', '(self, bdms, instance, context)',
        _local_cleanup_bdm_volumes),
    installer.HookPoint(
        API, '_confirm_resize_on_deleting', '(self, context, instance)',
        _confirm_resize_on_deleting),
    installer.HookPoint(
        API, '_lookup_instance', '(self, context, uuid)', _lookup_instance),
    # Called, not wrapped: a policy's redirect goes through Nova's own
    # public methods, with their lock and state checks.
    installer.HookPoint(
        API, 'soft_delete', '(self, context, instance)', None),
    installer.HookPoint(API, 'delete', '(self, context, instance)', None),
)
