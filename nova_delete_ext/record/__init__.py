"""The delete record: one per delete attempt, logged and written as JSON."""

import dataclasses

from oslo_utils import strutils
from oslo_utils import timeutils

# delete_type: what was asked for.
DELETE = 'delete'
SOFT_DELETE = 'soft_delete'
FORCE_DELETE = 'force_delete'
RESTORE = 'restore'
#: Not a delete type: what a policy redirects a delete to when the server
#: must stay as it is (the outcome is then ``kept``).
KEEP = 'keep'

# path: where the work was done.
PATH_COMPUTE = 'compute'              # the compute host that runs the guest
PATH_LOCAL = 'local'                  # nova-api, without the compute host
PATH_BUILD_REQUEST = 'build_request'  # nova-api, before the server was built

# trigger: what started it.
TRIGGER_API = 'api'          # a user's or an admin's API request
TRIGGER_RECLAIM = 'reclaim'  # nova-compute's periodic reclaim of soft deletes
TRIGGER_RESUME = 'resume'    # nova-compute restarting a delete after a crash

# outcome: how it ended.
DELETED = 'deleted'
SOFT_DELETED = 'soft_deleted'
RESTORED = 'restored'
FAILED = 'failed'
IGNORED = 'ignored'                  # a delete was already under way
ALREADY_DELETED = 'already_deleted'  # the instance vanished under Nova
NOT_DELETED = 'not_deleted'          # Nova returned without deleting it
SKIPPED = 'skipped'                  # instance.disable_terminate was set
DENIED = 'denied'                    # a policy refused the delete
KEPT = 'kept'                        # a policy kept it as it was (recycle bin)

_MAX_ERROR_CHARS = 500


def describe_error(exc):
    """A short, password-masked text for an exception, never a traceback."""
    text = '%s: %s' % (type(exc).__name__, exc)
    return strutils.mask_password(text)[:_MAX_ERROR_CHARS]


@dataclasses.dataclass
class DeleteRecord:
    """What one delete attempt found, did and how it ended.

    ``vm_state``, ``task_state`` and ``power_state`` are the instance's
    state when the delete was requested. ``released`` lists the kinds of
    resource (see :mod:`nova_delete_ext.states`) that the path Nova took
    releases from that state; ``retained`` those it leaves in place on
    purpose or cannot reach (a soft delete keeps everything, a local delete
    cannot reach the guest on a host that is down).
    """

    instance_uuid: str
    project_id: str | None
    user_id: str | None
    request_id: str | None
    vm_state: str | None
    task_state: str | None
    power_state: str | None
    host: str | None
    delete_type: str
    trigger: str
    requested_at: str
    path: str | None = None
    outcome: str | None = None
    released: list = dataclasses.field(default_factory=list)
    retained: list = dataclasses.field(default_factory=list)
    steps: list = dataclasses.field(default_factory=list)
    decisions: list = dataclasses.field(default_factory=list)
    error: str | None = None
    duration_ms: float | None = None
    recorded_by: str | None = None
    # Set by policies, and only then part of the record.
    capture: str | None = None
    leaks: list | None = None
    repaired: list | None = None

    _OPTIONAL = ('error', 'capture', 'leaks', 'repaired')

    def as_dict(self):
        data = dataclasses.asdict(self)
        for name in self._OPTIONAL:
            if data[name] is None:
                del data[name]
        return data

    def summary(self):
        """The one-line text logged at INFO for this record."""
        parts = [
            'delete_type=%s' % self.delete_type,
            'trigger=%s' % self.trigger,
            'vm_state=%s' % self.vm_state,
            'task_state=%s' % self.task_state,
            'power_state=%s' % self.power_state,
            'host=%s' % self.host,
            'path=%s' % self.path,
            'released=%s' % (','.join(self.released) or '-'),
        ]
        if self.retained:
            parts.append('retained=%s' % ','.join(self.retained))
        if self.steps:
            parts.append('steps=%s' % ','.join(self.steps))
        if self.decisions:
            parts.append('decisions=%s' % ','.join(self.decisions))
        parts.append('outcome=%s' % self.outcome)
        if self.capture:
            parts.append('capture=%s' % self.capture)
        if self.leaks:
            parts.append('leaks=%s' % ','.join(
                '%s:%s' % (leak['kind'], leak['resource_id'])
                for leak in self.leaks))
        if self.repaired is not None:
            parts.append('repaired=%d' % len(self.repaired))
        if self.error:
            parts.append('error="%s"' % self.error)
        parts.append('duration=%.1fms' % (self.duration_ms or 0.0))
        return ' '.join(parts)


def utcnow_iso():
    return timeutils.utcnow(with_timezone=True).isoformat()
