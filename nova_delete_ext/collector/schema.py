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

"""The record schema as the collector and ``nova-delete-ext records`` read it.

A record comes as the payload of a ``notification`` sink message (with
``schema_version``) or as a line of a ``file`` sink's record file (without
it). :func:`parse` checks what the store and the filters rely on and
returns the record's fields; fields it does not know are kept, as the
schema allows (a new field raises the minor version only). The allowed
values of the indexed fields are not checked: a newer extension may add
one without a new major version, and its records must still be stored.
"""

import datetime
import uuid

from oslo_serialization import jsonutils
from oslo_utils import timeutils

#: The major version of the payload schema this code reads.
MAJOR = 1

# The values of the documented schema, written out rather than imported
# from nova_delete_ext.record, whose import (oslo_utils.strutils) would
# cost 'records' a tenth of a second; a unit test keeps them equal.
KIND_DELETE = 'delete'
KIND_CHECK = 'check'
KINDS = (KIND_DELETE, KIND_CHECK)

#: Values an operator may filter on (``records list``): those of the
#: record's documented schema. Nova's vm_states are listed here because
#: the collector and ``records`` run without Nova; a unit test keeps the
#: list equal to the installed Nova's.
VM_STATES = ('active', 'building', 'deleted', 'error', 'paused', 'rescued',
             'resized', 'shelved', 'shelved_offloaded', 'soft-delete',
             'stopped', 'suspended')
PATHS = ('compute', 'local', 'build_request')
OUTCOMES = ('deleted', 'soft_deleted', 'restored', 'failed', 'ignored',
            'already_deleted', 'not_deleted', 'skipped', 'denied', 'kept',
            'checked')
SERVICES = ('api', 'compute')

#: Longest value of each string field that the store keeps in a column of
#: its own: a longer one would make the whole batch fail in the database.
LENGTHS = {
    'id': 64, 'kind': 16, 'delete_id': 64, 'instance_uuid': 36,
    'project_id': 255, 'user_id': 255, 'host': 255, 'vm_state': 64,
    'task_state': 64, 'path': 32, 'trigger': 32, 'delete_type': 32,
    'outcome': 32, 'recorded_by': 300, 'schema_version': 16,
}
POLICY_LENGTH = 64

# The namespace of the ids given to schema 1.0 records, which had none.
_ID_NAMESPACE = uuid.UUID('2b1f1c0e-9a57-4c53-8a52-0d5be8d0a7f1')


class Malformed(ValueError):
    """A payload that is not a record this code can store; str() says why."""


def parse(payload):
    """The record in ``payload``, checked.

    :param payload: a notification payload or a record file's line, as
        decoded from JSON.
    :returns: a new dict of the record's fields, with ``kind`` (``delete``
        when absent, as in schema 1.0) and ``id`` (for a 1.0 record, which
        had none, one derived from its content, so that the same record
        read twice has the same id); ``schema_version`` is kept when given.
    :raises Malformed: with the reason.
    """
    if not isinstance(payload, dict):
        raise Malformed('not a JSON object but %s' % type(payload).__name__)
    record = dict(payload)
    _check_version(record.get('schema_version'))
    record.setdefault('kind', KIND_DELETE)
    if record['kind'] not in KINDS:
        raise Malformed('kind %r is neither delete nor check'
                        % (record['kind'],))
    if 'id' not in record:
        record['id'] = _derived_id(record)
    required = ['id', 'instance_uuid']
    if record['kind'] == KIND_CHECK:
        required.append('delete_id')
    for name in required:
        if not isinstance(record.get(name), str) or not record[name]:
            raise Malformed('%s is missing or not a string' % name)
    for name, length in LENGTHS.items():
        value = record.get(name)
        if value is not None and not isinstance(value, str):
            raise Malformed('%s is not a string' % name)
        if value is not None and len(value) > length:
            raise Malformed('%s is longer than %d characters'
                            % (name, length))
    decisions = record.get('decisions', [])
    if not isinstance(decisions, list) or not all(
            isinstance(d, str) for d in decisions):
        raise Malformed('decisions is not a list of strings')
    duration = record.get('duration_ms')
    if duration is not None and (isinstance(duration, bool) or
                                 not isinstance(duration, (int, float))):
        raise Malformed('duration_ms is not a number')
    time_of(record)
    return record


def _check_version(version):
    if version is None:
        return  # a record file's line
    major = str(version).partition('.')[0]
    if major != str(MAJOR):
        raise Malformed('unknown major schema version %r (this collector '
                        'reads %d.x)' % (version, MAJOR))


def _derived_id(record):
    content = {k: v for k, v in record.items() if k != 'schema_version'}
    return str(uuid.uuid5(_ID_NAMESPACE,
                          jsonutils.dumps(content, sort_keys=True)))


def time_field(record):
    """``requested_at`` for a delete record, ``checked_at`` for a check."""
    if record.get('kind') == KIND_CHECK:
        return 'checked_at'
    return 'requested_at'


def time_of(record):
    """The record's time as a naive UTC datetime (how the store keeps it).

    :raises Malformed: if the time is missing or not ISO 8601.
    """
    field = time_field(record)
    value = record.get(field)
    if not isinstance(value, str):
        raise Malformed('%s is missing or not a string' % field)
    try:
        # The form the extension writes, 50 times faster than iso8601's
        # parser, which reads every other form.
        parsed = datetime.datetime.fromisoformat(value)
    except ValueError:
        try:
            parsed = timeutils.parse_isotime(value)
        except ValueError:
            raise Malformed('%s %r is not an ISO 8601 time' % (field, value))
    return timeutils.normalize_time(parsed)


def service_of(record):
    """``api`` or ``compute`` from the record's ``recorded_by``."""
    side = (record.get('recorded_by') or '').partition('@')[0]
    return side or None


def policies_of(record):
    """The policies named in the record's decisions, sorted, once each."""
    names = {decision.partition(':')[0]
             for decision in record.get('decisions') or ()}
    return sorted(name[:POLICY_LENGTH] for name in names if name)
