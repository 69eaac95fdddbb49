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

"""What one stored record adds to the counters the collector exports.

The store adds :func:`increments` of each newly stored record into its
``totals`` table, in the transaction that stores the record, so the
counters are totals of the store: right after a restart of the collector,
the same from every collector, never lowered by a purge.

Label values come from short fixed lists (the record's documented values):
a value outside them is ``unknown``, a missing one ``none``. A record can
never make a new series beyond those lists, whatever it carries, and no
label holds an id.
"""

import math
import re

from nova_delete_ext.collector import schema

DELETES = 'nova_delete_ext_deletes_total'
REFUSALS = 'nova_delete_ext_refusals_total'
RESTORES = 'nova_delete_ext_restores_total'
CHECKS = 'nova_delete_ext_checks_total'
LEAKS_FOUND = 'nova_delete_ext_leaks_found_total'
LEAKS_REPAIRED = 'nova_delete_ext_leaks_repaired_total'
DURATION = 'nova_delete_ext_delete_duration_seconds'
#: The name of the first version of this module, which the store's tests use.
DELETES_TOTAL = DELETES

#: Upper bounds, in seconds, of the duration histogram's buckets: from a
#: delete nova-api answers at once to one that waits for a slow hypervisor.
DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
                    120.0, 300.0, float('inf'))
# With its ``le`` label as prometheus-client writes it (floatToGoString).
BUCKET_BOUNDS = tuple((bound, '+Inf' if math.isinf(bound) else repr(bound))
                      for bound in DURATION_BUCKETS)

UNKNOWN = 'unknown'
NONE = 'none'

# The values of the record's documented schema (Nova's vm_states among
# them, listed by the schema because the collector never imports Nova),
# written out like the schema's: the collector does not import the
# record package; a unit test keeps them equal.
DENIED = 'denied'
RESTORE = 'restore'
VM_STATES = frozenset(schema.VM_STATES)
PATHS = frozenset(schema.PATHS)
CHECK_OUTCOMES = frozenset(('checked', 'skipped', 'failed'))
OUTCOMES = frozenset(schema.OUTCOMES) - {'checked'}
SERVICES = frozenset(schema.SERVICES)
# The kinds of resource of nova_delete_ext.states (which imports Nova).
LEAK_KINDS = frozenset(('domain', 'disks', 'ports', 'volumes', 'allocations',
                        'shelve_image', 'build_request'))
# A policy is named by its entry point: a short identifier.
_POLICY_NAME = re.compile(r'^[A-Za-z0-9_.-]{1,64}$')
# 'policy:action' or 'policy:action(detail)', as the record lists decisions.
_DECISION = re.compile(r'^([^:(]+):([^(]+)')


def _bounded(value, allowed):
    if value is None or value == '':
        return NONE
    return value if value in allowed else UNKNOWN


def _labels(**labels):
    return tuple(sorted(labels.items()))


def service(record):
    """``api`` or ``compute``, from ``recorded_by`` (``compute@host``)."""
    recorded_by = record.get('recorded_by')
    if not isinstance(recorded_by, str):
        return NONE
    return _bounded(recorded_by.partition('@')[0], SERVICES)


def refusing_policy(record):
    """The policy that refused a ``denied`` delete, or ``unknown``.

    The policies decide in turn and the first refusal ends the chain, so
    the refusing decision is the last ``denied`` one (earlier decisions
    may be those of the request a policy redirected).
    """
    for decision in reversed(record.get('decisions') or ()):
        match = _DECISION.match(decision) if isinstance(
            decision, str) else None
        if match and match.group(2) == DENIED:
            policy = match.group(1)
            return policy if _POLICY_NAME.match(policy) else UNKNOWN
    return UNKNOWN


def _leak_kind(leak):
    kind = leak.get('kind') if isinstance(leak, dict) else None
    return _bounded(kind, LEAK_KINDS)


def repaired_kinds(record):
    """The kind of each entry of the record's ``repaired``.

    ``repaired`` holds what the repair did, as text naming the resource
    (``deleted port P...``), or for allocations the consumer that held
    them (the instance, or one of its migrations). Each text is matched to
    the leak it names; one that names none counts as ``unknown``.
    """
    leaks = [leak for leak in record.get('leaks') or ()
             if isinstance(leak, dict)]
    kinds = []
    for text in record.get('repaired') or ():
        kind = UNKNOWN
        for leak in leaks:
            names = [leak.get('resource_id'), leak.get('consumer')]
            if leak.get('kind') == 'allocations':
                names.append(record.get('instance_uuid'))
            if isinstance(text, str) and any(
                    isinstance(name, str) and name and name in text
                    for name in names):
                kind = _leak_kind(leak)
                break
        kinds.append(kind)
    return kinds


def _duration(record, path):
    duration_ms = record.get('duration_ms')
    if isinstance(duration_ms, bool) or not isinstance(
            duration_ms, (int, float)) or duration_ms != duration_ms:
        return []
    seconds = max(0.0, duration_ms / 1000.0)
    samples = [(DURATION + '_bucket', _labels(le=text, path=path), 1.0)
               for bound, text in BUCKET_BOUNDS if seconds <= bound]
    samples.append((DURATION + '_sum', _labels(path=path), seconds))
    samples.append((DURATION + '_count', _labels(path=path), 1.0))
    return samples


def _of_delete(record):
    outcome = _bounded(record.get('outcome'), OUTCOMES)
    if record.get('delete_type') == RESTORE:
        return [(RESTORES, _labels(outcome=outcome), 1.0)]
    path = _bounded(record.get('path'), PATHS)
    found = [(DELETES, _labels(
        vm_state=_bounded(record.get('vm_state'), VM_STATES), path=path,
        outcome=outcome, service=service(record)), 1.0)]
    if outcome == DENIED:
        found.append((REFUSALS, _labels(policy=refusing_policy(record)),
                      1.0))
    return found + _duration(record, path)


def increments(record):
    """What ``record`` adds to the counters.

    :param record: one record as :func:`collector.schema.parse` returns
        it, newly stored.
    :returns: ``[(metric name, sorted label pairs, amount)]``; the
        duration histogram as its ``_bucket`` (cumulative, with ``le``),
        ``_sum`` and ``_count`` samples.
    """
    kind = record.get('kind', schema.KIND_DELETE)
    if kind == schema.KIND_DELETE:
        found = _of_delete(record)
    elif kind == schema.KIND_CHECK:
        found = [(CHECKS, _labels(outcome=_bounded(record.get('outcome'),
                                                   CHECK_OUTCOMES)), 1.0)]
    else:
        return []
    # Whichever record carries them: the verify policy writes them into
    # the check record, but both kinds have the fields in the schema.
    for leak in record.get('leaks') or ():
        found.append((LEAKS_FOUND, _labels(kind=_leak_kind(leak)), 1.0))
    for kind_repaired in repaired_kinds(record):
        found.append((LEAKS_REPAIRED, _labels(kind=kind_repaired), 1.0))
    return found
