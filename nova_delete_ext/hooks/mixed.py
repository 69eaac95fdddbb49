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

"""nova-api and nova-compute with different policies (a mixed configuration).

A policy that decides in nova-api (``on_request``, or ``before_destroy``
with ``before_destroy_in_api``) but is listed only on the compute hosts is
not applied before Nova acts: nova-compute can still refuse the destroy,
but only after nova-api deleted a shelved server's snapshot or confirmed a
pending resize, and ``recycle`` cannot turn the delete into a soft delete
at all. nova-api carries the names of the policies it applied with its cast
(:mod:`nova_delete_ext.record.sysmeta`); nova-compute compares them with
its own, puts one decision ``nova-api:without(<policy>)`` per policy
missing there into the record, and warns in its log.
``nova-delete-ext-status upgrade check`` reads these decisions back from
the record file.
"""

import time

from oslo_log import log as logging

from nova_delete_ext import policies

LOG = logging.getLogger(__name__)

#: The decision of a record whose nova-api did not apply a policy.
DECISION = 'nova-api:without(%s)'
DECISION_PREFIX = 'nova-api:without('
#: Seconds between two warnings about the same policies.
WARN_INTERVAL = 600.0

_warned = {}


def unapplied(api_policies):
    """The policies this nova-compute applies and nova-api did not.

    :param api_policies: the names nova-api carried, or None if it did not
        say (it runs without the extension, or a release that does not
        carry them).
    """
    applied = set(api_policies or ())
    return [name for name in policies.active().api_names
            if name not in applied]


def note(attempt, api_policies):
    """Record and warn that nova-api did not apply some of our policies."""
    missing = unapplied(api_policies)
    if not missing:
        return
    attempt.record.decisions.extend(DECISION % name for name in missing)
    key = (tuple(missing), api_policies is None)
    now = time.monotonic()
    if now - _warned.get(key, -WARN_INTERVAL) < WARN_INTERVAL:
        return
    _warned[key] = now
    if api_policies is None:
        how = ('nova-api did not say which policies it applied: does it '
               'run nova-delete-ext?')
    else:
        how = 'nova-api applied %s' % (', '.join(api_policies) or 'none')
    LOG.warning('nova-api did not apply the policies %s, which this '
                'nova-compute applies (%s). List them in '
                '[delete_ext]policies on every nova-api node as well: a '
                'refusal here comes after nova-api deleted a shelved '
                "server's snapshot or confirmed a pending resize. Warned "
                'again in %d minutes if still so.', ', '.join(missing), how,
                WARN_INTERVAL // 60, instance=attempt.instance)
