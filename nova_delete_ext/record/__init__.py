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

"""The records: one per delete attempt, one per check after a delete.

A :class:`DeleteRecord` (``kind`` ``delete``) is written when the delete
attempt ends. The work after a delete (the policies' ``after_delete``, such
as ``verify``) writes its own :class:`CheckRecord` (``kind`` ``check``)
when it is done, which names the delete record by its ``id``: a check that
is slow, stuck or skipped never holds the delete record back.
"""

import dataclasses

from oslo_utils import strutils
from oslo_utils import timeutils
from oslo_utils import uuidutils

# kind: which record.
KIND_DELETE = 'delete'
KIND_CHECK = 'check'

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

# steps: what Nova did on the way, besides the delete itself.
STEP_CONFIRM_RESIZE = 'confirm_resize'  # nova-api confirmed a pending resize
#: nova-api deleted a shelved server's snapshot before its cast.
STEP_DELETE_SHELVE_IMAGE = 'delete_shelve_image'

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

# outcome of a check record.
CHECKED = 'checked'        # every after_delete policy ran (see decisions)
CHECK_SKIPPED = 'skipped'  # not run: no worker free in time (see error)
CHECK_FAILED = 'failed'    # the extension failed while running them

#: The values of each field that takes one of a fixed set, in the order the
#: documentation lists them (``doc/source/_exts`` renders and checks the
#: lists from these, so a value added here must be documented).
KINDS = (KIND_DELETE, KIND_CHECK)
DELETE_TYPES = (DELETE, SOFT_DELETE, FORCE_DELETE, RESTORE)
PATHS = (PATH_COMPUTE, PATH_LOCAL, PATH_BUILD_REQUEST)
TRIGGERS = (TRIGGER_API, TRIGGER_RECLAIM, TRIGGER_RESUME)
OUTCOMES = (DELETED, SOFT_DELETED, RESTORED, KEPT, IGNORED, ALREADY_DELETED,
            NOT_DELETED, SKIPPED, FAILED, DENIED)
CHECK_OUTCOMES = (CHECKED, CHECK_SKIPPED, CHECK_FAILED)
STEPS = (STEP_CONFIRM_RESIZE, STEP_DELETE_SHELVE_IMAGE)

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
    kind: str = KIND_DELETE
    #: Named by the check record of this delete, if there is one.
    id: str = dataclasses.field(default_factory=uuidutils.generate_uuid)

    _OPTIONAL = ('error', 'capture', 'leaks', 'repaired')

    def as_dict(self):
        return _as_dict(self)

    def summary(self):
        """The one-line text logged at INFO for this record."""
        parts = [
            'id=%s' % self.id,
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
        _policy_parts(self, parts)
        return ' '.join(parts)


@dataclasses.dataclass
class CheckRecord:
    """What the work after one delete found and did.

    Written when the ``after_delete`` policies are done, or right away when
    they could not run (``outcome`` ``skipped``). ``delete_id`` is the
    ``id`` of the delete's record; ``decisions`` are those of the
    ``after_delete`` policies, and their fields (``leaks``, ``repaired``)
    are set as a policy set them. ``error`` says why a check was skipped,
    failed or could not verify everything.
    """

    delete_id: str
    instance_uuid: str
    project_id: str | None
    user_id: str | None
    request_id: str | None
    delete_type: str
    trigger: str
    path: str | None = None
    outcome: str | None = None
    decisions: list = dataclasses.field(default_factory=list)
    error: str | None = None
    duration_ms: float | None = None
    recorded_by: str | None = None
    checked_at: str | None = None
    leaks: list | None = None
    repaired: list | None = None
    kind: str = KIND_CHECK
    id: str = dataclasses.field(default_factory=uuidutils.generate_uuid)

    _OPTIONAL = ('error', 'leaks', 'repaired')
    #: Fields an after_delete policy may set through its decision.
    POLICY_FIELDS = ('error', 'leaks', 'repaired')

    @classmethod
    def of(cls, record):
        """The check record of the :class:`DeleteRecord` ``record``."""
        return cls(delete_id=record.id, instance_uuid=record.instance_uuid,
                   project_id=record.project_id, user_id=record.user_id,
                   request_id=record.request_id,
                   delete_type=record.delete_type, trigger=record.trigger,
                   path=record.path, recorded_by=record.recorded_by)

    def as_dict(self):
        return _as_dict(self)

    def summary(self):
        """The one-line text logged at INFO for this record."""
        parts = ['kind=%s' % self.kind, 'id=%s' % self.id,
                 'delete_id=%s' % self.delete_id,
                 'delete_type=%s' % self.delete_type,
                 'trigger=%s' % self.trigger, 'path=%s' % self.path]
        if self.decisions:
            parts.append('decisions=%s' % ','.join(self.decisions))
        parts.append('outcome=%s' % self.outcome)
        _policy_parts(self, parts)
        return ' '.join(parts)


def _as_dict(record):
    data = dataclasses.asdict(record)
    for name in record._OPTIONAL:
        if data[name] is None:
            del data[name]
    return data


def _policy_parts(record, parts):
    """The summary's leaks, repaired, error and duration."""
    if record.leaks:
        parts.append('leaks=%s' % ','.join(
            '%s:%s' % (leak['kind'], leak['resource_id'])
            for leak in record.leaks))
    if record.repaired is not None:
        parts.append('repaired=%d' % len(record.repaired))
    if record.error:
        parts.append('error="%s"' % record.error)
    parts.append('duration=%.1fms' % (record.duration_ms or 0.0))


def utcnow_iso():
    return timeutils.utcnow(with_timezone=True).isoformat()
