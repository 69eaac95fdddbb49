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

"""Tests of :mod:`nova_delete_ext.collector.schema` and ``totals``."""

import datetime

import ddt

from nova_delete_ext.collector import schema
from nova_delete_ext.collector import totals
from nova_delete_ext import record as rec
from nova_delete_ext import states
from nova_delete_ext.tests.unit import base


def delete_payload(**updates):
    """A delete record as the notification sink sends it (schema 1.1)."""
    data = base.make_record(path='compute', outcome='deleted',
                            recorded_by='compute@cmp1',
                            decisions=['recycle:delete']).as_dict()
    data['schema_version'] = '1.1'
    data.update(updates)
    return data


def check_payload(**updates):
    check = rec.CheckRecord.of(base.make_record(recorded_by='api@ctl1'))
    check.checked_at = '2025-01-02T03:05:00+00:00'
    check.outcome = rec.CHECKED
    data = check.as_dict()
    data['schema_version'] = '1.1'
    data.update(updates)
    return data


@ddt.ddt
class ParseTest(base.TestCase):

    def test_delete_record_fields_as_sent(self):
        payload = delete_payload(future_field='kept')
        self.assertEqual(payload, schema.parse(payload))
        self.assertIsNot(payload, schema.parse(payload))

    def test_check_record(self):
        payload = check_payload()
        self.assertEqual(payload, schema.parse(payload))

    def test_record_file_line_without_version(self):
        payload = delete_payload()
        del payload['schema_version']
        self.assertEqual(payload, schema.parse(payload))

    def test_schema_1_0_record_gets_kind_and_a_stable_id(self):
        payload = delete_payload(schema_version='1.0')
        del payload['kind'], payload['id']
        parsed = schema.parse(payload)
        self.assertEqual('delete', parsed['kind'])
        # The same record from the record file (no schema_version) and
        # from the bus is the same record; another record is another one.
        line = dict(payload)
        del line['schema_version']
        self.assertEqual(parsed['id'], schema.parse(line)['id'])
        self.assertNotEqual(
            parsed['id'], schema.parse(dict(line, host='cmp2'))['id'])

    @ddt.data(
        ('not a dict', 'not a JSON object but str'),
        (['a'], 'not a JSON object but list'),
        (delete_payload(schema_version='2.0'),
         "unknown major schema version '2.0'"),
        (delete_payload(kind='audit'), "kind 'audit' is neither"),
        (delete_payload(id=None), 'id is missing or not a string'),
        (delete_payload(instance_uuid=''), 'instance_uuid is missing'),
        (check_payload(delete_id=None), 'delete_id is missing'),
        (delete_payload(host=5), 'host is not a string'),
        (delete_payload(project_id='p' * 256),
         'project_id is longer than 255 characters'),
        (delete_payload(decisions='protect:allow'),
         'decisions is not a list of strings'),
        (delete_payload(duration_ms='12'), 'duration_ms is not a number'),
        (delete_payload(duration_ms=True), 'duration_ms is not a number'),
        (delete_payload(requested_at='yesterday'),
         "requested_at 'yesterday' is not an ISO 8601 time"),
        (delete_payload(requested_at=None), 'requested_at is missing'),
        (check_payload(checked_at=None), 'checked_at is missing'),
    )
    @ddt.unpack
    def test_malformed(self, payload, reason):
        error = self.assertRaises(schema.Malformed, schema.parse, payload)
        self.assertIn(reason, str(error))
        self.assertIsInstance(error, ValueError)

    def test_unknown_values_of_indexed_fields_are_stored(self):
        # A newer extension may add an outcome in a minor version.
        payload = delete_payload(outcome='archived', schema_version='1.7')
        self.assertEqual('archived', schema.parse(payload)['outcome'])


class DerivedFieldsTest(base.TestCase):

    def test_time_of_delete_and_check_in_utc(self):
        self.assertEqual(
            datetime.datetime(2025, 1, 2, 1, 4, 5),
            schema.time_of(delete_payload(
                requested_at='2025-01-02T03:04:05+02:00')))
        self.assertEqual(datetime.datetime(2025, 1, 2, 3, 5),
                         schema.time_of(check_payload()))

    def test_service_of(self):
        self.assertEqual('compute', schema.service_of(delete_payload()))
        self.assertEqual('api', schema.service_of(check_payload()))
        self.assertIsNone(schema.service_of(delete_payload(recorded_by=None)))

    def test_policies_of(self):
        record = delete_payload(decisions=[
            'verify:found(ports)', 'protect:allow', 'verify:repaired'])
        self.assertEqual(['protect', 'verify'], schema.policies_of(record))
        self.assertEqual([], schema.policies_of(delete_payload(decisions=[])))

    def test_kinds_and_paths_are_the_records(self):
        self.assertEqual((rec.KIND_DELETE, rec.KIND_CHECK), schema.KINDS)
        self.assertEqual(
            {rec.PATH_COMPUTE, rec.PATH_LOCAL, rec.PATH_BUILD_REQUEST},
            set(schema.PATHS))

    def test_vm_states_are_novas(self):
        self.assertEqual(states.all_vm_states(), set(schema.VM_STATES))

    def test_every_outcome_of_the_record_is_known(self):
        outcomes = {value for name, value in vars(rec).items()
                    if name.isupper() and name.startswith(
                        ('DELETED', 'SOFT_DELETED', 'RESTORED', 'FAILED',
                         'IGNORED', 'ALREADY_DELETED', 'NOT_DELETED',
                         'SKIPPED', 'DENIED', 'KEPT', 'CHECK'))}
        self.assertEqual(outcomes, set(schema.OUTCOMES))


class TotalsTest(base.TestCase):

    def test_delete_counted_by_its_labels(self):
        self.assertEqual(
            [('nova_delete_ext_deletes_total',
              (('outcome', 'deleted'), ('path', 'compute'),
               ('service', 'compute'), ('vm_state', 'active')), 1.0)],
            totals.increments(schema.parse(delete_payload())))

    def test_check_not_a_delete(self):
        self.assertNotIn(totals.DELETES,
                         [name for name, _, _ in totals.increments(
                             schema.parse(check_payload()))])
