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

"""The small protocol nova-api and nova-compute speak in system_metadata.

nova-api sees a delete requested; nova-compute sees it happen, sometimes
much later (a reclaim) or after a restart. The only channel between them
that needs no change to Nova is the instance itself, and the extension uses
four of its ``system_metadata`` entries, all defined here:

``delete_ext_request`` (:data:`REQUEST_KEY`)
    The request-time facts of an API delete (:func:`stash`, :func:`take`):
    a JSON object whose ``v`` is the protocol version (:data:`VERSION`):
    ``r`` request id, ``t`` time of the request, ``d`` delete type, ``s``
    vm_state, task_state and power_state at the request, ``x`` steps
    (only when there are some), ``p`` policy decisions, ``c`` the names of
    the policies in force on nova-api, comma-separated (absent from entries
    of the previous release).
    nova-api sets it on the instance it casts to the compute host and does
    not save it; nova-compute takes it off before Nova saves the instance.
    An entry without ``v`` is version 1, as written before versions were
    added. An entry of a version this code does not read is logged and
    ignored: nova-compute then records what it sees itself.

    nova-api writes, nova-compute reads: upgrade the compute nodes first.
    A release that raises :data:`VERSION` keeps reading the version before
    (:data:`OLDEST_READ`), so an upgraded nova-compute reads what a nova-api
    not yet upgraded writes; a nova-compute not yet upgraded ignores the
    newer entries and records what it sees, and nothing else changes:
    without ``c`` it checks ``protect`` itself.
``delete_ext_retention`` (:data:`RETENTION_KEY`)
    Seconds a soft-deleted server is kept, saved by a policy on nova-api
    (``recycle``, with :func:`put`) when it asks for the soft delete;
    nova-compute's reclaim reads it through the policies' ``retention``
    moment.
``delete_ext_protect_bypassed`` (:data:`BYPASS_KEY`)
    The request id of an API delete that bypassed ``protect``, saved with
    :func:`put`, so that the reclaim of its soft delete completes that
    authorised delete.
``delete_ext_refused`` (:data:`REFUSED_KEY`)
    Set by nova-compute when a policy refused to destroy the instance of
    an API delete or a resumed one (the request id, or ``resume``), so
    that nova-api takes the ``queued_for_delete`` mark it set off the
    instance's mapping if conductor could not (see
    :mod:`nova_delete_ext.hooks.mapping`).

Every value fits the 255 characters of a system_metadata value.
"""

from nova.db.main import api as main_db
from nova.objects import base as obj_base
from oslo_log import log as logging
from oslo_serialization import jsonutils

from nova_delete_ext import states

LOG = logging.getLogger(__name__)

REQUEST_KEY = 'delete_ext_request'
RETENTION_KEY = 'delete_ext_retention'
BYPASS_KEY = 'delete_ext_protect_bypassed'
REFUSED_KEY = 'delete_ext_refused'

#: Version of the :data:`REQUEST_KEY` entry this code writes.
VERSION = 1
#: The oldest version of the entry this code reads: at most ``VERSION - 1``
#: once ``VERSION`` is raised, for the upgrade order above.
OLDEST_READ = 1
_MAX_CHARS = 255


def stash(instance, attempt, steps=(), decisions=(), policies=()):
    """Put ``attempt``'s request-time facts on ``instance``.

    :param policies: the names of the policies in force on nova-api, so
        that nova-compute knows which of them already decided.
    """
    state = attempt.state
    data = {
        'v': VERSION,
        'r': attempt.record.request_id,
        't': attempt.record.requested_at,
        'd': attempt.record.delete_type,
        's': [state.vm_state, state.task_state, state.power_state],
        'p': list(decisions),
        # One string: every character counts in a system_metadata value.
        'c': ','.join(policies),
    }
    if steps:
        data['x'] = list(steps)
    value = _fitted(data, instance)
    if value is None:
        return
    instance.system_metadata[REQUEST_KEY] = value


# What to leave out, in this order, when the entry is too long: the steps;
# the policy names (nova-compute then checks protect itself, so nothing is
# lost but a little time); the decisions, which its record then lacks.
_OPTIONAL = ('x', 'c', 'p')


def _fitted(data, instance):
    """``data`` as JSON within a system_metadata value, or None."""
    value = jsonutils.dumps(data, separators=(',', ':'))
    for key in _OPTIONAL:
        if len(value) <= _MAX_CHARS:
            return value
        dropped = data.pop(key, None)
        if dropped and key != 'c':
            LOG.warning('The %s of this delete are too long to carry to the '
                        'compute host (%s); its record there will not list '
                        'them.', 'steps' if key == 'x' else 'decisions',
                        ','.join(dropped), instance=instance)
        value = jsonutils.dumps(data, separators=(',', ':'))
    if len(value) <= _MAX_CHARS:
        return value
    LOG.warning('Not carrying the delete facts to the compute host: %d '
                'characters is more than a system_metadata value holds.',
                len(value), instance=instance)
    return None


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
        # Written since 'c' was added; None: nova-api did not say.
        names = data.get('c')
        self.policies = (None if names is None else
                         [name for name in names.split(',') if name])


def take(instance, request_id):
    """Read the facts for ``request_id`` and remove them from ``instance``.

    nova-api saved the instance before it added the entry, so the entry is
    the only change pending on system_metadata: with it removed, that field
    is marked unchanged again and Nova's next ``instance.save()`` on the
    compute host leaves system_metadata alone.
    """
    carried = read(instance, request_id)
    if (instance.obj_attr_is_set('system_metadata') and
            instance.system_metadata.pop(REQUEST_KEY, None) is not None):
        instance.obj_reset_changes(['system_metadata'])
    return carried


def read(instance, request_id):
    """The facts stashed for the request ``request_id``, or None.

    Never lazy-loads system_metadata: the instance nova-api casts carries
    it. Facts from another request (a stale entry saved by an earlier soft
    delete) are ignored, and so are those of an unknown version.
    """
    if not instance.obj_attr_is_set('system_metadata'):
        return None
    raw = instance.system_metadata.get(REQUEST_KEY)
    if not raw:
        return None
    try:
        data = jsonutils.loads(raw)
        if not isinstance(data, dict):
            raise ValueError('not an object')
        version = data.get('v', 1)
        if not (type(version) is int and
                OLDEST_READ <= version <= VERSION):
            LOG.warning('Ignoring the delete facts nova-api carried: '
                        'version %r of the %s entry is not known here '
                        '(this nova-compute reads versions %d to %d). Is '
                        'nova-delete-ext older here than on nova-api?',
                        version, REQUEST_KEY, OLDEST_READ, VERSION,
                        instance=instance)
            return None
        if data.get('r') != request_id:
            return None
        return Carried(data, instance.host)
    except (ValueError, TypeError, KeyError):
        LOG.debug('Ignoring an unreadable %s entry', REQUEST_KEY,
                  instance=instance)
        return None


def get(instance, key):
    """The value of ``key``, or None; never lazy-loads system_metadata."""
    if not instance.obj_attr_is_set('system_metadata'):
        return None
    return instance.system_metadata.get(key)


def put(instance, key, value):
    """Set ``key`` to ``value`` on ``instance``, saving that key alone.

    Nova saves system_metadata whole: an ``instance.save()`` with the field
    changed writes the dict this copy holds and deletes every key missing
    from it, such as a ``shelved_image_id`` that Nova saved through another
    copy of the instance after this one was read. So where the cell
    database is at hand (nova-api), the key is written on its own, with
    the instance's own context as Nova's save would use, and this copy is
    updated without marking the field changed: Nova's next save leaves
    system_metadata alone. Elsewhere (nova-compute reaches the database
    only through conductor, whose only write of system_metadata is the
    whole dict), and for an instance not in a cell yet (a BuildRequest's),
    the key is set on this copy (loading system_metadata if it must) for
    Nova's next save.
    """
    if (obj_base.NovaObject.indirection_api is None and
            instance.obj_attr_is_set('id')):
        main_db.instance_system_metadata_update(
            instance._context, instance.uuid, {key: value}, False)
        if instance.obj_attr_is_set('system_metadata'):
            pending = 'system_metadata' in instance.obj_what_changed()
            instance.system_metadata[key] = value
            if not pending:
                instance.obj_reset_changes(['system_metadata'])
        return
    instance.system_metadata[key] = value


def drop(instance, key):
    """Remove ``key`` from a loaded system_metadata; never lazy-loads."""
    if instance.obj_attr_is_set('system_metadata'):
        instance.system_metadata.pop(key, None)
