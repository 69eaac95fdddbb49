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

"""Tests of :mod:`nova_delete_ext.record`."""

import ast
import dataclasses
import datetime
import inspect

from oslo_serialization import jsonutils
from oslo_utils import fixture as utils_fixture
from oslo_utils import uuidutils

from nova_delete_ext import record as rec
from nova_delete_ext.tests.unit import base

UUID = base.UUID
make_record = base.make_record


class AsDictTest(base.TestCase):

    def test_every_field_but_unset_optional_ones(self):
        data = make_record().as_dict()
        expected = {f.name for f in dataclasses.fields(rec.DeleteRecord)}
        self.assertIn('kind', expected)
        self.assertIn('id', expected)
        optional = {'error', 'capture', 'leaks', 'repaired'}
        self.assertEqual(expected - optional, set(data))
        self.assertNotIn('error', data)
        self.assertEqual(UUID, data['instance_uuid'])
        self.assertIsNone(data['task_state'])
        self.assertEqual([], data['released'])
        self.assertIsNone(data['duration_ms'])

    def test_error_kept_when_set(self):
        data = make_record(error='ValueError: boom').as_dict()
        self.assertEqual('ValueError: boom', data['error'])

    def test_policy_fields_kept_when_set(self):
        leak = {'kind': 'ports', 'resource_id': 'p1', 'detail': ''}
        record = make_record(capture='/c/x.json', leaks=[leak], repaired=[])
        data = record.as_dict()
        self.assertEqual('/c/x.json', data['capture'])
        self.assertEqual([leak], data['leaks'])
        self.assertIn(' leaks=ports:p1 repaired=0 ', record.summary())
        self.assertEqual([], data['repaired'])

    def test_empty_error_is_kept(self):
        # Only None means "no error"; the field is dropped for None alone.
        self.assertEqual('', make_record(error='').as_dict()['error'])

    def test_json_round_trip(self):
        record = make_record(outcome=rec.DELETED, path=rec.PATH_COMPUTE,
                             released=['disks', 'domain'],
                             steps=['confirm_resize'], duration_ms=1.5)
        data = record.as_dict()
        self.assertEqual(data, jsonutils.loads(jsonutils.dumps(data)))

    def test_lists_are_copies(self):
        record = make_record(released=['ports'])
        data = record.as_dict()
        data['released'].append('domain')
        self.assertEqual(['ports'], record.released)

    def test_default_lists_not_shared(self):
        one, two = make_record(), make_record()
        one.steps.append('x')
        self.assertEqual([], two.steps)

    def test_kind_and_an_id_of_its_own(self):
        one, two = make_record().as_dict(), make_record().as_dict()
        self.assertEqual('delete', one['kind'])
        self.assertTrue(uuidutils.is_uuid_like(one['id']))
        self.assertNotEqual(one['id'], two['id'])


class CheckRecordTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.delete = make_record(outcome=rec.DELETED, path=rec.PATH_COMPUTE,
                                  recorded_by='compute@cmp1',
                                  decisions=['protect:allowed'],
                                  leaks=[{'kind': 'x'}])

    def test_of_a_delete_record(self):
        check = rec.CheckRecord.of(self.delete)
        data = check.as_dict()
        self.assertEqual(
            {'kind': 'check', 'delete_id': self.delete.id,
             'instance_uuid': UUID, 'request_id': 'req-1',
             'project_id': 'project-a', 'user_id': 'user-a',
             'delete_type': rec.DELETE, 'trigger': rec.TRIGGER_API,
             'path': rec.PATH_COMPUTE, 'recorded_by': 'compute@cmp1',
             'outcome': None, 'decisions': [], 'duration_ms': None,
             'checked_at': None},
            {k: v for k, v in data.items() if k != 'id'})
        self.assertTrue(uuidutils.is_uuid_like(data['id']))
        self.assertNotEqual(self.delete.id, data['id'])

    def test_policy_fields_kept_when_set(self):
        check = rec.CheckRecord.of(self.delete)
        check.leaks = [{'kind': 'ports', 'resource_id': 'p1'}]
        check.repaired = []
        check.error = 'ports: CallTimedOut: neutron did not answer'
        data = check.as_dict()
        self.assertEqual(([{'kind': 'ports', 'resource_id': 'p1'}], []),
                         (data['leaks'], data['repaired']))
        self.assertEqual(data, jsonutils.loads(jsonutils.dumps(data)))

    def test_summary(self):
        check = rec.CheckRecord.of(self.delete)
        check.outcome = rec.CHECKED
        check.decisions = ['verify:repaired(1/1)']
        check.leaks = [{'kind': 'ports', 'resource_id': 'p1'}]
        check.repaired = ['deleted port p1']
        check.duration_ms = 3.21
        self.assertEqual(
            'kind=check id=%s delete_id=%s delete_type=delete trigger=api '
            'path=compute decisions=verify:repaired(1/1) outcome=checked '
            'leaks=ports:p1 repaired=1 duration=3.2ms'
            % (check.id, self.delete.id), check.summary())


class SummaryTest(base.TestCase):

    def test_minimal(self):
        record = make_record()
        self.assertEqual(
            'id=%s delete_type=delete trigger=api vm_state=active '
            'task_state=None power_state=running host=cmp1 path=None '
            'released=- outcome=None duration=0.0ms' % record.id,
            record.summary())

    def test_full(self):
        record = make_record(
            delete_type=rec.FORCE_DELETE, trigger=rec.TRIGGER_RECLAIM,
            vm_state='soft-delete', path=rec.PATH_LOCAL,
            released=['allocations', 'ports'], retained=['disks', 'domain'],
            steps=['confirm_resize'], decisions=['keep', 'drop'],
            outcome=rec.FAILED, error='ValueError: boom', duration_ms=12.345)
        self.assertEqual(
            'id=%s delete_type=force_delete trigger=reclaim '
            'vm_state=soft-delete task_state=None power_state=running '
            'host=cmp1 path=local released=allocations,ports '
            'retained=disks,domain steps=confirm_resize decisions=keep,drop '
            'outcome=failed error="ValueError: boom" duration=12.3ms'
            % record.id, record.summary())

    def test_one_line(self):
        record = make_record(error='x', released=['ports'], duration_ms=1)
        self.assertNotIn('\n', record.summary())


class DescribeErrorTest(base.TestCase):

    def test_type_and_text(self):
        self.assertEqual('ValueError: boom',
                         rec.describe_error(ValueError('boom')))

    def test_no_traceback(self):
        try:
            raise KeyError('missing')
        except KeyError as exc:
            text = rec.describe_error(exc)
        self.assertEqual("KeyError: 'missing'", text)
        self.assertNotIn('Traceback', text)

    def test_masks_passwords(self):
        cases = (
            'login failed: password=Secr3tValue',
            "bad request {'admin_pass': 'Secr3tValue'}",
            'auth "password": "Secr3tValue" rejected',
            '<adminPass>Secr3tValue</adminPass>',
        )
        for text in cases:
            described = rec.describe_error(RuntimeError(text))
            self.assertNotIn('Secr3tValue', described, text)
            self.assertIn('***', described, text)
            self.assertTrue(described.startswith('RuntimeError: '))

    def test_truncated(self):
        described = rec.describe_error(ValueError('x' * 5000))
        self.assertEqual(500, len(described))
        self.assertTrue(described.startswith('ValueError: xxx'))

    def test_short_text_not_padded(self):
        self.assertEqual(len('OSError: e'),
                         len(rec.describe_error(OSError('e'))))

    def test_secret_at_the_cut_does_not_leak(self):
        text = 'y' * 470 + ' password=Secr3tValueThatIsLong'
        described = rec.describe_error(RuntimeError(text))
        self.assertLessEqual(len(described), 500)
        self.assertNotIn('Secr3t', described)


class UtcnowIsoTest(base.TestCase):

    def test_timezone_aware_iso(self):
        now = datetime.datetime(2025, 1, 2, 3, 4, 5, 678000,
                                tzinfo=datetime.timezone.utc)
        self.useFixture(utils_fixture.TimeFixture(now))
        self.assertEqual('2025-01-02T03:04:05.678000+00:00',
                         rec.utcnow_iso())

    def test_parses(self):
        value = datetime.datetime.fromisoformat(rec.utcnow_iso())
        self.assertEqual(datetime.timedelta(0), value.utcoffset())


class ValueSetsTest(base.TestCase):
    """Every value constant is in the set the docs list it from."""

    SETS = ('KINDS', 'DELETE_TYPES', 'PATHS', 'TRIGGERS', 'OUTCOMES',
            'CHECK_OUTCOMES', 'STEPS')
    #: Not a value of a record field (see its comment).
    NOT_A_VALUE = ('KEEP',)

    def test_every_constant_is_in_one_set(self):
        tree = ast.parse(inspect.getsource(rec))
        constants, in_sets = [], []
        for node in tree.body:
            if not isinstance(node, ast.Assign):
                continue
            name = node.targets[0].id
            if name in self.SETS:
                in_sets.extend(elt.id for elt in node.value.elts)
            elif (name.isupper() and not name.startswith('_') and
                    isinstance(node.value, ast.Constant) and
                    isinstance(node.value.value, str)):
                constants.append(name)
        self.assertEqual(sorted(set(constants) - set(self.NOT_A_VALUE)),
                         sorted(in_sets))

    def test_the_sets_hold_the_values(self):
        self.assertIn(rec.KEPT, rec.OUTCOMES)
        self.assertEqual(len(rec.OUTCOMES), len(set(rec.OUTCOMES)))
        self.assertEqual((rec.KIND_DELETE, rec.KIND_CHECK), rec.KINDS)
