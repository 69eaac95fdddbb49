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

"""The counters each record adds, from records as the extension writes them.
"""

import collections

from oslotest import base

from nova_delete_ext.collector import totals
from nova_delete_ext import record as rec

INSTANCE = '0b6c1a52-51a8-4bb6-9d56-0c8d1a1c4e77'
PORT = '5ab0e0c8-3b1c-4f6e-8a43-7c2f2f5a1e10'
MIGRATION = '9c3e1d1e-8f4a-4b5e-a7e1-0d9e5a3b2c11'
PROVIDER = '1d2e3f40-5a6b-4c7d-8e9f-a0b1c2d3e4f5'
ATTACHMENT = '77aa0c1e-1111-4b5e-a7e1-0d9e5a3b2c11'


def delete_record(**fields):
    values = dict(instance_uuid=INSTANCE, project_id='p', user_id='u',
                  request_id='req-1', vm_state='active', task_state=None,
                  power_state='running', host='compute1',
                  delete_type=rec.DELETE, trigger=rec.TRIGGER_API,
                  requested_at='2026-03-12T10:15:01+00:00',
                  path=rec.PATH_COMPUTE, outcome=rec.DELETED,
                  duration_ms=1210.4, recorded_by='compute@compute1')
    values.update(fields)
    return rec.DeleteRecord(**values).as_dict()


def check_record(**fields):
    values = dict(delete_id='d1', instance_uuid=INSTANCE, project_id='p',
                  user_id='u', request_id='req-1', delete_type=rec.DELETE,
                  trigger=rec.TRIGGER_API, path=rec.PATH_COMPUTE,
                  outcome=rec.CHECKED, recorded_by='compute@compute1')
    values.update(fields)
    return rec.CheckRecord(**values).as_dict()


def counted(*records):
    """``{(name, labels): value}``: ``records`` summed as the store does."""
    found = collections.Counter()
    for record in records:
        for name, labels, amount in totals.increments(record):
            found[(name, labels)] += amount
    return dict(found)


def only(found, name):
    return {labels: value for (metric, labels), value in found.items()
            if metric == name}


class DeletesTest(base.BaseTestCase):

    def test_one_delete_counts_once_with_its_labels(self):
        found = only(counted(delete_record()), totals.DELETES)
        self.assertEqual({(('outcome', 'deleted'), ('path', 'compute'),
                           ('service', 'compute'),
                           ('vm_state', 'active')): 1.0}, found)

    def test_deletes_add_up_by_labels(self):
        found = only(counted(
            delete_record(), delete_record(),
            delete_record(vm_state='stopped', outcome=rec.SOFT_DELETED),
            delete_record(path=rec.PATH_LOCAL, recorded_by='api@ctl1',
                          vm_state='shelved_offloaded')), totals.DELETES)
        self.assertEqual({
            (('outcome', 'deleted'), ('path', 'compute'),
             ('service', 'compute'), ('vm_state', 'active')): 2.0,
            (('outcome', 'soft_deleted'), ('path', 'compute'),
             ('service', 'compute'), ('vm_state', 'stopped')): 1.0,
            (('outcome', 'deleted'), ('path', 'local'),
             ('service', 'api'), ('vm_state', 'shelved_offloaded')): 1.0,
        }, found)

    def test_labels_are_bounded(self):
        found = only(counted(delete_record(
            vm_state='server-%s' % INSTANCE, path='elsewhere',
            outcome=INSTANCE, recorded_by='scheduler@%s' % INSTANCE)),
            totals.DELETES)
        self.assertEqual({(('outcome', 'unknown'), ('path', 'unknown'),
                           ('service', 'unknown'),
                           ('vm_state', 'unknown')): 1.0}, found)

    def test_missing_values_are_none(self):
        record = delete_record(vm_state=None, path=None)
        del record['recorded_by']
        found = only(counted(record), totals.DELETES)
        self.assertEqual([(('outcome', 'deleted'), ('path', 'none'),
                           ('service', 'none'), ('vm_state', 'none'))],
                         list(found))

    def test_restore_counts_as_restore_not_delete(self):
        found = counted(delete_record(delete_type=rec.RESTORE,
                                      vm_state='soft-delete',
                                      outcome=rec.RESTORED),
                        delete_record(delete_type=rec.RESTORE,
                                      outcome=rec.FAILED))
        self.assertEqual({(('outcome', 'restored'),): 1.0,
                          (('outcome', 'failed'),): 1.0},
                         only(found, totals.RESTORES))
        self.assertEqual({}, only(found, totals.DELETES))
        self.assertEqual({}, only(found, totals.DURATION + '_count'))

    def test_unknown_kind_counts_nothing(self):
        self.assertEqual([], totals.increments({'kind': 'other',
                                                'outcome': 'deleted'}))

    def test_a_record_without_kind_is_a_delete(self):
        # Record files written before kind was added.
        record = delete_record()
        del record['kind']
        self.assertEqual(1.0, sum(only(counted(record),
                                       totals.DELETES).values()))


class RefusalsTest(base.BaseTestCase):

    def test_the_refusing_policy_is_the_last_denied_decision(self):
        record = delete_record(
            outcome=rec.DENIED, path=None, recorded_by='api@ctl1',
            decisions=['recycle:soft_delete(86400s)',
                       'protect:denied(locked)'])
        found = counted(record)
        self.assertEqual({(('policy', 'protect'),): 1.0},
                         only(found, totals.REFUSALS))
        self.assertEqual({(('outcome', 'denied'), ('path', 'none'),
                           ('service', 'api'), ('vm_state', 'active')): 1.0},
                         only(found, totals.DELETES))

    def test_a_fail_closed_error_names_its_policy(self):
        record = delete_record(outcome=rec.DENIED,
                               decisions=['audit_hook:denied(error)'])
        self.assertEqual({(('policy', 'audit_hook'),): 1.0},
                         only(counted(record), totals.REFUSALS))

    def test_denied_without_a_denying_decision_is_unknown(self):
        for decisions in ([], ['protect:bypassed(admin)'], [42],
                          ['%s:denied' % ('x' * 100)]):
            record = delete_record(outcome=rec.DENIED, decisions=decisions)
            self.assertEqual({(('policy', 'unknown'),): 1.0},
                             only(counted(record), totals.REFUSALS),
                             decisions)

    def test_no_refusal_unless_denied(self):
        record = delete_record(decisions=['protect:bypassed(admin)'])
        self.assertEqual({}, only(counted(record), totals.REFUSALS))


class DurationTest(base.BaseTestCase):

    def test_buckets_are_cumulative_with_sum_and_count(self):
        found = counted(delete_record(duration_ms=1210.4),
                        delete_record(duration_ms=40.0))
        buckets = {dict(labels)['le']: value for labels, value in only(
            found, totals.DURATION + '_bucket').items()}
        self.assertEqual({'0.05': 1.0, '0.1': 1.0, '0.25': 1.0, '0.5': 1.0,
                          '1.0': 1.0, '2.5': 2.0, '5.0': 2.0, '10.0': 2.0,
                          '30.0': 2.0, '60.0': 2.0, '120.0': 2.0,
                          '300.0': 2.0, '+Inf': 2.0}, buckets)
        self.assertEqual({(('path', 'compute'),): 2.0},
                         only(found, totals.DURATION + '_count'))
        [total] = only(found, totals.DURATION + '_sum').values()
        self.assertAlmostEqual(1.2504, total)

    def test_a_duration_past_the_last_bound_is_in_inf_only(self):
        buckets = only(counted(delete_record(duration_ms=3600000)),
                       totals.DURATION + '_bucket')
        self.assertEqual([(('le', '+Inf'), ('path', 'compute'))],
                         list(buckets))

    def test_by_path(self):
        found = only(counted(delete_record(path=rec.PATH_LOCAL),
                             delete_record(path=rec.PATH_BUILD_REQUEST)),
                     totals.DURATION + '_count')
        self.assertEqual({(('path', 'local'),): 1.0,
                          (('path', 'build_request'),): 1.0}, found)

    def test_no_duration_no_observation(self):
        for duration in (None, 'slow', True, float('nan')):
            found = counted(delete_record(duration_ms=duration))
            self.assertEqual({}, only(found, totals.DURATION + '_count'),
                             duration)
            self.assertEqual(1.0, sum(only(found, totals.DELETES).values()))

    def test_a_negative_duration_counts_as_zero(self):
        found = counted(delete_record(duration_ms=-5))
        self.assertEqual({(('path', 'compute'),): 0.0},
                         only(found, totals.DURATION + '_sum'))


class LeaksTest(base.BaseTestCase):

    LEAKS = [
        {'kind': 'ports', 'resource_id': PORT, 'detail': '',
         'created_by_nova': True},
        {'kind': 'allocations', 'resource_id': PROVIDER, 'detail': '',
         'consumer': MIGRATION},
        {'kind': 'allocations', 'resource_id': PROVIDER, 'detail': ''},
        {'kind': 'volumes', 'resource_id': ATTACHMENT, 'detail': ''},
        {'kind': 'domain', 'resource_id': INSTANCE, 'detail': ''},
    ]

    def test_check_record_counts_leaks_found_by_kind(self):
        found = counted(check_record(leaks=self.LEAKS))
        self.assertEqual({(('kind', 'ports'),): 1.0,
                          (('kind', 'allocations'),): 2.0,
                          (('kind', 'volumes'),): 1.0,
                          (('kind', 'domain'),): 1.0},
                         only(found, totals.LEAKS_FOUND))
        self.assertEqual({(('outcome', 'checked'),): 1.0},
                         only(found, totals.CHECKS))
        self.assertEqual({}, only(found, totals.DELETES))

    def test_repaired_matched_to_the_leak_they_name(self):
        # The texts leaks/repair.py writes; the domain is never repaired.
        repaired = [
            'deleted port %s, which Nova created for the instance' % PORT,
            'deleted the allocations of consumer %s' % MIGRATION,
            'the allocations of consumer %s were gone' % INSTANCE,
            'deleted volume attachment %s (the volume is untouched)'
            % ATTACHMENT,
        ]
        found = counted(check_record(leaks=self.LEAKS, repaired=repaired))
        self.assertEqual({(('kind', 'ports'),): 1.0,
                          (('kind', 'allocations'),): 2.0,
                          (('kind', 'volumes'),): 1.0},
                         only(found, totals.LEAKS_REPAIRED))

    def test_repaired_naming_no_leak_is_unknown(self):
        found = counted(check_record(
            leaks=[{'kind': 'ports', 'resource_id': PORT}],
            repaired=['something else', None]))
        self.assertEqual({(('kind', 'unknown'),): 2.0},
                         only(found, totals.LEAKS_REPAIRED))

    def test_leak_kinds_are_bounded(self):
        found = counted(check_record(leaks=[
            {'kind': INSTANCE, 'resource_id': PORT}, 'not a leak', {}]))
        self.assertEqual({(('kind', 'unknown'),): 1.0,
                          (('kind', 'none'),): 2.0},
                         only(found, totals.LEAKS_FOUND))

    def test_clean_check_counts_no_leak(self):
        found = counted(check_record(), check_record(
            outcome=rec.CHECK_SKIPPED, error='no worker free'))
        self.assertEqual({}, only(found, totals.LEAKS_FOUND))
        self.assertEqual({}, only(found, totals.LEAKS_REPAIRED))
        self.assertEqual({(('outcome', 'checked'),): 1.0,
                          (('outcome', 'skipped'),): 1.0},
                         only(found, totals.CHECKS))


class BoundsTest(base.BaseTestCase):

    def test_values_are_those_of_the_record(self):
        self.assertEqual(rec.DENIED, totals.DENIED)
        self.assertEqual(rec.RESTORE, totals.RESTORE)
        self.assertEqual({rec.CHECKED, rec.CHECK_SKIPPED, rec.CHECK_FAILED},
                         totals.CHECK_OUTCOMES)
        self.assertEqual({rec.DELETED, rec.SOFT_DELETED, rec.RESTORED,
                          rec.FAILED, rec.IGNORED, rec.ALREADY_DELETED,
                          rec.NOT_DELETED, rec.SKIPPED, rec.DENIED,
                          rec.KEPT}, totals.OUTCOMES)

    def test_bucket_labels_as_prometheus_client_writes_them(self):
        from prometheus_client import utils
        self.assertEqual([utils.floatToGoString(b)
                          for b in totals.DURATION_BUCKETS],
                         [le for _, le in totals.BUCKET_BOUNDS])

    def test_leak_kinds_are_those_of_the_extension(self):
        # states imports Nova; the collector keeps its own list.
        from nova_delete_ext import states
        self.assertEqual(set(states.ALL_KINDS), totals.LEAK_KINDS)
