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

"""``nova-delete-ext-status``: does nova-api apply the compute's policies."""

import os

import fixtures
from oslo_serialization import jsonutils
from oslo_upgradecheck import upgradecheck

from nova_delete_ext.cmd import status
from nova_delete_ext import record as rec
from nova_delete_ext.tests.unit import base

Code = upgradecheck.Code


class PoliciesOnNovaApiTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                                 'records.jsonl')
        self.flags(record_file=self.path, group='delete_ext')
        self.checks = status.Checks(self.conf)

    def write(self, *records):
        with open(self.path, 'a') as f:
            for record in records:
                f.write(jsonutils.dumps(record.as_dict()) + '\n')

    def compute_record(self, decisions=(), request_id='req-1', **kwargs):
        return base.make_record(recorded_by='compute@cmp1',
                                decisions=list(decisions),
                                request_id=request_id, outcome=rec.DELETED,
                                **kwargs)

    def check(self, code, *fragments):
        result = self.checks._check_policies_on_nova_api()
        self.assertEqual(code, result.code, result.details)
        for fragment in fragments:
            self.assertIn(fragment, result.details)
        return result

    def test_no_record_file(self):
        self.check(Code.SUCCESS, 'No record file here')
        self.flags(record_file=None, group='delete_ext')
        self.check(Code.SUCCESS, 'No record file here')

    def test_nova_api_without_a_policy_of_the_compute(self):
        self.write(
            self.compute_record(),
            self.compute_record(['nova-api:without(protect)',
                                 'protect:denied(tag locked)'],
                                request_id='req-2'),
            # Written by nova-api itself, or a reclaim: not counted.
            base.make_record(recorded_by='api@ctl1', decisions=[
                'nova-api:without(recycle)']),
            self.compute_record(['nova-api:without(recycle)'],
                                trigger=rec.TRIGGER_RECLAIM),
            self.compute_record())
        self.check(Code.WARNING,
                   'nova-api did not apply policies this nova-compute '
                   'applies: protect in 1 of the 3 most recent API deletes '
                   '(the last requested at 2025-01-02T03:04:05+00:00, '
                   'request req-2)',
                   '[delete_ext]policies on every nova-api node')

    def test_nova_api_applies_them(self):
        self.write(self.compute_record(['protect:bypassed(tag locked)']))
        self.check(Code.SUCCESS, 'in the 1 most recent API deletes')

    def test_only_recent_records_count(self):
        self.write(self.compute_record(['nova-api:without(protect)']))
        self.write(*[self.compute_record()] * status._RECENT_API_DELETES)
        self.check(Code.SUCCESS, 'in the 100 most recent API deletes')

    def test_a_line_cut_in_two_is_skipped(self):
        with open(self.path, 'w') as f:
            f.write('{"kind": "delete", "trig\n')
        self.write(self.compute_record(['nova-api:without(protect)']))
        self.check(Code.WARNING, 'protect in 1 of the 1 most recent')
