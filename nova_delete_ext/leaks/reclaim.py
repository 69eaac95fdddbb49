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

"""Reclaim soft-deleted servers whose compute host is down.

Only a server's own compute host reclaims it: Nova's periodic
``_reclaim_queued_deletes`` lists the soft-deleted instances of its own
host. A recycled server whose host died stays in the bin for good, holding
its ports, volumes and allocations. This reclaims it from the controller
side, the way Nova deletes any server whose host is down: Nova's own
``API.delete``, which finds the host down and deletes in this process (a
local delete), releasing ports, volumes and allocations; the guest and its
disks stay on the dead host until it comes back and Nova reaps them.

A server is reclaimed only when, at the time it is looked at, it is
soft-deleted with no task under way, its compute service is down (as Nova
decides: :func:`~nova_delete_ext.states.compute_host_up`) and its
retention has passed since its soft delete. It is first marked
``deleting``, only if it is still so (a restore starting at the same time
wins, or loses, cleanly), and put back if Nova does not delete it after
all (its host came back meanwhile). Each reclaim writes one delete record,
``trigger`` ``reclaim``, ``path`` ``local``, recorded by ``sweep@<host>``;
a reclaim a policy refuses is logged and listed, not recorded (the next
run asks again).
"""

import dataclasses

from nova.compute import api as compute_api
from nova.compute import task_states
from nova.compute import vm_states
from nova import exception as nova_exception
from nova import objects
from oslo_log import log as logging
from oslo_utils import timeutils

from nova_delete_ext import record as rec
from nova_delete_ext.record import attempt as attempt_mod
from nova_delete_ext.record import release
from nova_delete_ext import states

LOG = logging.getLogger(__name__)

# What became of each server looked at.
RECLAIMED = 'reclaimed'
REFUSED = 'refused'  # a policy refused its destroy
FAILED = 'failed'
LEFT = 'left'        # it changed meanwhile, or its host came back

#: What the attempts are recorded by (``recorded_by`` ``sweep@<host>``).
SIDE = 'sweep'
# Not as it was read: another request changed it, or it is gone.
_CHANGED = (nova_exception.InstanceUpdateConflict,
            nova_exception.InstanceNotFound)


@dataclasses.dataclass(frozen=True)
class Reclaim:
    """What became of one server the reclaim looked at."""

    instance_uuid: str
    host: str | None
    outcome: str
    detail: str = ''

    def as_dict(self):
        return dataclasses.asdict(self)


def overdue(cell_context, retention, project_id=None):
    """The soft-deleted instances of the cell to reclaim now.

    :param retention: ``retention(instance)``, the seconds the instance is
        kept, or None to leave it alone.
    :param project_id: only this project's instances.
    """
    filters = {'vm_state': vm_states.SOFT_DELETED, 'task_state': None}
    if project_id:
        filters['project_id'] = project_id
    found = objects.InstanceList.get_by_filters(
        cell_context, filters, expected_attrs=['system_metadata'])
    hosts_up = {}
    for instance in found:
        host = instance.host
        if host not in hosts_up:
            hosts_up[host] = states.compute_host_up(cell_context, host)
        if hosts_up[host]:
            continue  # its own host reclaims it
        seconds = retention(instance)
        if seconds is not None and _deleted_before(instance, seconds):
            yield instance


def _deleted_before(instance, seconds):
    """Nova's rule (``ComputeManager._deleted_old_enough``)."""
    deleted_at = instance.deleted_at
    return not deleted_at or timeutils.is_older_than(
        deleted_at.replace(tzinfo=None), seconds)


def reclaim(cell_context, instance, refusal_of, api=None):
    """Reclaim ``instance``, soft-deleted on a host that is down.

    :param refusal_of: ``refusal_of(attempt)``: the policies' refusal of
        this destroy (an exception), or None.
    :param api: a ``nova.compute.api.API``.
    :returns: a :class:`Reclaim`.
    """
    row = _row_of(instance)
    attempt = attempt_mod.begin(cell_context, instance, rec.DELETE,
                                rec.TRIGGER_RECLAIM, SIDE)
    if attempt is None:
        # Never a reclaim without its record (the log says why).
        return row(FAILED, 'its record could not be opened')
    error = refusal_of(attempt)
    if error is not None:
        # Asked again at every run: logged and listed each time, as
        # nova-compute does with its own refused reclaims, not recorded.
        LOG.warning('Not reclaiming this server: %s', error,
                    instance=instance)
        attempt.abandon()
        return row(REFUSED, str(error))
    instance.task_state = task_states.DELETING
    try:
        instance.save(expected_vm_state=[vm_states.SOFT_DELETED],
                      expected_task_state=[None])
    except _CHANGED as exc:
        attempt.abandon()
        return row(LEFT, 'changed meanwhile (%s)' % type(exc).__name__)
    bdms = objects.BlockDeviceMappingList.get_by_instance_uuid(
        cell_context, instance.uuid)
    try:
        (api or compute_api.API()).delete(cell_context, instance)
    except Exception as exc:
        LOG.exception('Could not reclaim this server', instance=instance)
        attempt.finish(rec.FAILED, path=rec.PATH_LOCAL, error=exc)
        _put_back(cell_context, instance.uuid)
        return row(FAILED, rec.describe_error(exc))
    if not _gone(cell_context, instance.uuid):
        # Its host came back and Nova, seeing the mark, did nothing.
        attempt.abandon()
        _put_back(cell_context, instance.uuid)
        return row(LEFT, 'its compute host is up again')
    released, retained = release.plan(
        attempt.state, rec.PATH_LOCAL,
        has_volumes=any(bdm.is_volume for bdm in bdms))
    attempt.finish(rec.DELETED, path=rec.PATH_LOCAL, released=released,
                   retained=retained)
    return row(RECLAIMED)


def _row_of(instance):
    def row(outcome, detail=''):
        return Reclaim(instance.uuid, instance.host, outcome, detail)
    return row


def _gone(cell_context, instance_uuid):
    try:
        objects.Instance.get_by_uuid(cell_context, instance_uuid)
    except nova_exception.InstanceNotFound:
        return True
    return False


def _put_back(cell_context, instance_uuid):
    """Clear the ``deleting`` mark of an instance Nova did not delete."""
    try:
        instance = objects.Instance.get_by_uuid(cell_context, instance_uuid)
        instance.task_state = None
        instance.save(expected_task_state=[task_states.DELETING])
    except _CHANGED:
        pass
