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

"""Run the active policies at each moment of a delete attempt.

The hooks call these functions; they build the event the policies see,
put the decisions in the record and turn a denial into the outcome
``denied``.
"""

import contextvars
import dataclasses

from nova import exception as nova_exception
from oslo_log import log as logging

from nova_delete_ext import exception
from nova_delete_ext import policies
from nova_delete_ext.policies import base
from nova_delete_ext import record as rec

LOG = logging.getLogger(__name__)

_RECORD_FIELDS = frozenset(
    field.name for field in dataclasses.fields(rec.DeleteRecord))

# (request_id, instance uuid) of the last denial recorded in this context:
# the servers controller retries a refused soft delete as a delete, which
# is the same request refused again, not a second one to record.
_LAST_DENIAL = contextvars.ContextVar('nova_delete_ext_last_denial',
                                      default=None)


def event_for(attempt):
    record = attempt.record
    return base.DeleteEvent(
        context=attempt.context, instance=attempt.instance,
        state=attempt.state, delete_type=record.delete_type,
        trigger=record.trigger, record=record, driver=attempt.driver,
        shelve_image_id=attempt.shelve_image_id,
        api_policies=attempt.api_policies)


def _apply(attempt, decisions):
    record = attempt.record
    for decision in decisions:
        record.decisions.append(str(decision))
        for name, value in decision.fields.items():
            if name in _RECORD_FIELDS:
                setattr(record, name, value)
            else:
                LOG.warning('Policy %s set %r, which is not a field of the '
                            'delete record; ignored.', decision.policy, name)
    denial = decisions[-1] if decisions and decisions[-1].deny else None
    return denial


def on_request(attempt, path=None):
    """Run the policies on an API delete.

    :returns: the decisions.
    :raises: the denial of a policy that refused the delete, once the
        record says ``denied``.
    """
    chain = policies.active()
    if not chain.policies:
        return []
    decisions = chain.on_request(event_for(attempt))
    denial = _apply(attempt, decisions)
    if denial is not None:
        _refuse_request(attempt, denial, path)
    return decisions


def before_destroy_in_api(attempt):
    """nova-api: ask the policies that can what they will say on the host.

    Before Nova acts on an API delete that destroys the server, so that a
    refusal comes before the steps nova-api cannot undo.

    :raises: the denial, as :func:`on_request` does.
    """
    chain = policies.active()
    if (attempt.record.delete_type == rec.SOFT_DELETE or
            not chain.destroys_checked_in_api):
        return
    event = event_for(attempt)
    # nova-api applies its own policies: nova-compute's question.
    event.api_policies = tuple(chain.names)
    denial = _apply(attempt, chain.before_destroy_in_api(event))
    if denial is not None:
        _refuse_request(attempt, denial, None)


def _refuse_request(attempt, denial, path):
    """Record the refusal of an API delete once; raise it as a 409."""
    key = (attempt.record.request_id, attempt.instance.uuid)
    if _LAST_DENIAL.get() == key:
        attempt.abandon()
    else:
        _LAST_DENIAL.set(key)
        attempt.finish(rec.DENIED, path=path)
    if isinstance(denial.deny, nova_exception.InstanceIsLocked):
        raise denial.deny
    # Only Nova's InstanceIsLocked becomes 409 Conflict; anything else
    # would be taken for a failure of the extension itself.
    raise exception.DeleteProtected(reason=str(denial.deny))


def before_destroy(attempt):
    """Run the policies before a destroy; the denial, or None."""
    chain = policies.active()
    if not chain.policies:
        return None
    return _apply(attempt, chain.before_destroy(event_for(attempt)))


def after_delete():
    """What to run after a delete has finished, or None if nothing."""
    if not policies.active().acts_after_delete:
        return None
    return _run_after_delete


def _run_after_delete(attempt):
    _apply(attempt, policies.active().after_delete(event_for(attempt)))


def on_restore(attempt):
    """Run the policies before a restore; their decisions go on record."""
    chain = policies.active()
    if chain.policies:
        _apply(attempt, chain.on_restore(event_for(attempt)))


def unchecked(instance, destroy=False):
    """The refusal of a delete the policies could not decide on, or None.

    None unless a policy that fails closed is enabled; then the delete
    (``destroy``: the destroy on the compute host) is refused rather than
    done unchecked, whatever kept the policies from deciding: the chain's
    own machinery failed, or the attempt could not even be opened.
    """
    if not policies.active().fails_closed:
        return None
    if destroy:
        what = 'destroyed, so it was not'
    else:
        what = 'deleted, so it was not deleted'
    return exception.DeleteProtected(reason=(
        'nova-delete-ext could not check whether server %s may be %s. '
        'Try again; if this persists, contact your cloud operator.'
        % (instance.uuid, what)))


def redirect_of(decisions):
    """The delete type a policy asked for instead, or None."""
    for decision in decisions:
        if decision.redirect:
            return decision.redirect
    return None
