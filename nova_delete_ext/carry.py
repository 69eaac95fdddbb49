"""Carry the request-time facts of a delete from nova-api to nova-compute.

nova-api sees the state an instance was in when the delete was asked for;
nova-compute sees the delete happen. The facts travel inside the instance
that nova-api casts to the compute host, as one system_metadata entry that
nova-api sets just before the cast and does not save. nova-compute takes it
off again before Nova saves the instance (see :func:`take`), so it is never
written to the database and never makes nova-compute rewrite the
instance's system_metadata. Should it be saved all the same (nova-compute
running without the hooks), the value fits the 255 characters of a
system_metadata value.
"""

from oslo_log import log as logging
from oslo_serialization import jsonutils

from nova_delete_ext import states

LOG = logging.getLogger(__name__)

KEY = 'delete_ext_request'
_MAX_CHARS = 255


def stash(instance, attempt, steps=(), decisions=()):
    """Put ``attempt``'s request-time facts on ``instance``."""
    state = attempt.state
    data = {
        'r': attempt.record.request_id,
        't': attempt.record.requested_at,
        'd': attempt.record.delete_type,
        's': [state.vm_state, state.task_state, state.power_state],
        'x': list(steps),
        'p': list(decisions),
    }
    value = jsonutils.dumps(data, separators=(',', ':'))
    if len(value) > _MAX_CHARS:
        # Keep the essentials; steps and decisions are the optional part.
        LOG.warning('The steps and policy decisions of this delete are too '
                    'long to carry to the compute host (%s %s); its record '
                    'there will not list them.', ','.join(steps),
                    ','.join(decisions), instance=instance)
        data['x'], data['p'] = [], []
        value = jsonutils.dumps(data, separators=(',', ':'))
    if len(value) > _MAX_CHARS:
        LOG.warning('Not carrying the delete facts to the compute host: '
                    '%d characters is more than a system_metadata value '
                    'holds.', len(value), instance=instance)
        return
    instance.system_metadata[KEY] = value


class Carried:
    """The facts nova-api stashed, as nova-compute reads them."""

    def __init__(self, data, host):
        vm_state, task_state, power_state = data['s']
        self.state = states.InstanceState(vm_state, task_state, power_state,
                                          host)
        self.requested_at = data['t']
        self.delete_type = data['d']
        self.steps = list(data.get('x', ()))
        self.decisions = list(data.get('p', ()))


def take(instance, request_id):
    """Read the facts for ``request_id`` and remove them from ``instance``.

    nova-api saved the instance before it added the entry, so the entry is
    the only change pending on system_metadata: with it removed, that field
    is marked unchanged again and Nova's next ``instance.save()`` on the
    compute host leaves system_metadata alone.
    """
    carried = read(instance, request_id)
    if (instance.obj_attr_is_set('system_metadata') and
            instance.system_metadata.pop(KEY, None) is not None):
        instance.obj_reset_changes(['system_metadata'])
    return carried


def read(instance, request_id):
    """The facts stashed for the request ``request_id``, or None.

    Never lazy-loads system_metadata: the instance nova-api casts carries
    it. Facts from another request (a stale entry saved by an earlier soft
    delete) are ignored.
    """
    if not instance.obj_attr_is_set('system_metadata'):
        return None
    raw = instance.system_metadata.get(KEY)
    if not raw:
        return None
    try:
        data = jsonutils.loads(raw)
        if not isinstance(data, dict) or data.get('r') != request_id:
            return None
        return Carried(data, instance.host)
    except (ValueError, TypeError, KeyError):
        LOG.debug('Ignoring an unreadable %s entry', KEY, instance=instance)
        return None
