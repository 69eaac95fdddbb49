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

"""Tests of :mod:`nova_delete_ext.record.sysmeta` on in-memory Instances."""

import logging
from unittest import mock

import ddt
from nova.compute import power_state
from nova.compute import task_states
from nova.compute import vm_states
from nova import context as nova_context
from nova import exception as nova_exception
from nova import objects
from oslo_serialization import jsonutils

from nova_delete_ext import record as rec
from nova_delete_ext.record import attempt as attempt_mod
from nova_delete_ext.record import sysmeta
from nova_delete_ext import states
from nova_delete_ext.tests.unit import base


def _longest(module):
    return max((value for name, value in vars(module).items()
                if name.isupper() and isinstance(value, str)), key=len)


class CarryTestBase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.context = nova_context.RequestContext('user-a', 'project-a',
                                                   is_admin=False)
        self.instance = base.make_instance(
            vm_state=vm_states.ACTIVE, task_state=None,
            power_state=power_state.RUNNING, host='cmp1')
        self.attempt = attempt_mod.Attempt(
            self.context, self.instance, rec.SOFT_DELETE, rec.TRIGGER_API,
            'api', requested_at='2025-01-02T03:04:05.123456+00:00')

    def _raw(self):
        return self.instance.system_metadata[sysmeta.REQUEST_KEY]


class StashReadTest(CarryTestBase):

    def test_round_trip(self):
        sysmeta.stash(self.instance, self.attempt, steps=['confirm_resize'],
                      decisions=['keep_ports'])
        carried = sysmeta.read(self.instance, self.context.request_id)
        self.assertIsInstance(carried, sysmeta.Carried)
        self.assertEqual(self.attempt.state, carried.state)
        self.assertEqual('2025-01-02T03:04:05.123456+00:00',
                         carried.requested_at)
        self.assertEqual(rec.SOFT_DELETE, carried.delete_type)
        self.assertEqual(['confirm_resize'], carried.steps)
        self.assertEqual(['keep_ports'], carried.decisions)

    def test_round_trip_without_steps(self):
        sysmeta.stash(self.instance, self.attempt)
        carried = sysmeta.read(self.instance, self.context.request_id)
        self.assertEqual([], carried.steps)
        self.assertEqual([], carried.decisions)

    def test_state_at_request_time_host_at_read_time(self):
        self.attempt = attempt_mod.Attempt(
            self.context, self.instance, rec.DELETE, rec.TRIGGER_API, 'api',
            state=states.InstanceState(vm_states.RESIZED, None, 'running',
                                       'old-host'))
        sysmeta.stash(self.instance, self.attempt)
        # Later Nova changes the instance; what was carried stays.
        self.instance.vm_state = vm_states.ACTIVE
        self.instance.task_state = task_states.DELETING
        self.instance.host = 'new-host'
        carried = sysmeta.read(self.instance, self.context.request_id)
        self.assertEqual(
            states.InstanceState(vm_states.RESIZED, None, 'running',
                                 'new-host'),
            carried.state)

    def test_task_state_and_power_state_none(self):
        self.attempt = attempt_mod.Attempt(
            self.context, self.instance, rec.DELETE, rec.TRIGGER_API, 'api',
            state=states.InstanceState(vm_states.BUILDING, None, None, None))
        sysmeta.stash(self.instance, self.attempt)
        state = sysmeta.read(self.instance, self.context.request_id).state
        self.assertIsNone(state.task_state)
        self.assertIsNone(state.power_state)

    def test_compact_json_under_the_key(self):
        sysmeta.stash(self.instance, self.attempt, steps=['a'])
        raw = self._raw()
        self.assertNotIn(' ', raw)
        self.assertEqual({
            'v': 1,
            'r': self.context.request_id,
            't': '2025-01-02T03:04:05.123456+00:00',
            'd': rec.SOFT_DELETE,
            's': [vm_states.ACTIVE, None, 'running'],
            'x': ['a'],
            'p': [],
            'c': '',
        }, jsonutils.loads(raw))
        # Only our key is touched.
        self.assertEqual({sysmeta.REQUEST_KEY},
                         set(self.instance.system_metadata))

    def test_other_system_metadata_kept(self):
        self.instance.system_metadata = {'image_os_type': 'linux'}
        sysmeta.stash(self.instance, self.attempt)
        self.assertEqual('linux',
                         self.instance.system_metadata['image_os_type'])

    def test_replaces_earlier_entry(self):
        sysmeta.stash(self.instance, self.attempt, steps=['old'])
        sysmeta.stash(self.instance, self.attempt, steps=['new'])
        carried = sysmeta.read(self.instance, self.context.request_id)
        self.assertEqual(['new'], carried.steps)

    def test_stash_marks_system_metadata_changed(self):
        # nova-compute saving the instance would persist the entry.
        self.instance.obj_reset_changes()
        sysmeta.stash(self.instance, self.attempt)
        self.assertIn('system_metadata', self.instance.obj_what_changed())


@ddt.ddt
class LengthTest(CarryTestBase):

    @ddt.data(0, 1, 5, 20, 100, 1000)
    def test_never_over_255(self, count):
        steps = ['step_%d_confirm_resize' % i for i in range(count)]
        decisions = ['decision-%d' % i for i in range(count)]
        sysmeta.stash(self.instance, self.attempt, steps=steps,
                      decisions=decisions)
        self.assertLessEqual(len(self._raw()), 255)
        carried = sysmeta.read(self.instance, self.context.request_id)
        self.assertIsNotNone(carried)
        self.assertEqual(self.attempt.state, carried.state)
        self.assertEqual(rec.SOFT_DELETE, carried.delete_type)

    def test_small_steps_kept(self):
        sysmeta.stash(self.instance, self.attempt, steps=['a', 'b'],
                      decisions=['c'])
        carried = sysmeta.read(self.instance, self.context.request_id)
        self.assertEqual(['a', 'b'], carried.steps)
        self.assertEqual(['c'], carried.decisions)

    def test_too_many_steps_dropped_essentials_kept(self):
        sysmeta.stash(self.instance, self.attempt,
                      steps=['s' * 50] * 10, decisions=['d' * 50] * 10)
        carried = sysmeta.read(self.instance, self.context.request_id)
        self.assertEqual([], carried.steps)
        self.assertEqual([], carried.decisions)
        self.assertEqual('2025-01-02T03:04:05.123456+00:00',
                         carried.requested_at)

    def test_one_long_decision(self):
        sysmeta.stash(self.instance, self.attempt, decisions=['z' * 300])
        self.assertLessEqual(len(self._raw()), 255)

    def test_non_ascii_counted_as_stored(self):
        sysmeta.stash(self.instance, self.attempt, steps=['\u00e9' * 40])
        self.assertLessEqual(len(self._raw()), 255)

    def test_worst_case_essentials(self):
        # The longest names Nova has, a real request id and timestamp.
        state = states.InstanceState(
            _longest(vm_states), _longest(task_states),
            max(power_state.STATE_MAP.values(), key=len), 'h' * 255)
        self.attempt = attempt_mod.Attempt(
            self.context, self.instance, rec.FORCE_DELETE, rec.TRIGGER_API,
            'api', state=state)
        sysmeta.stash(self.instance, self.attempt, steps=['x' * 30] * 20,
                      decisions=['y' * 30] * 20)
        self.assertLessEqual(len(self._raw()), 255)
        carried = sysmeta.read(self.instance, self.context.request_id)
        self.assertEqual(state.vm_state, carried.state.vm_state)
        self.assertEqual(state.task_state, carried.state.task_state)
        self.assertEqual(rec.FORCE_DELETE, carried.delete_type)


@ddt.ddt
class ReadTest(CarryTestBase):

    def test_nothing_stashed(self):
        self.assertIsNone(sysmeta.read(self.instance, self.context.request_id))

    def test_empty_value(self):
        self.instance.system_metadata[sysmeta.REQUEST_KEY] = ''
        self.assertIsNone(sysmeta.read(self.instance, self.context.request_id))

    def test_stale_request_id_ignored(self):
        sysmeta.stash(self.instance, self.attempt)
        self.assertIsNone(sysmeta.read(self.instance, 'req-another'))
        self.assertIsNone(sysmeta.read(self.instance, None))
        self.assertIsNotNone(
            sysmeta.read(self.instance, self.context.request_id))

    def test_entry_without_request_id_matches_none_only(self):
        self.attempt.record.request_id = None
        sysmeta.stash(self.instance, self.attempt)
        self.assertIsNone(sysmeta.read(self.instance, 'req-1'))
        self.assertIsNotNone(sysmeta.read(self.instance, None))

    @ddt.data(
        'not json',
        '{"r": "req-1"',
        '{"r": "req-1"}',                                   # no 's'
        '{"r": "req-1", "s": ["active", null]}',            # short 's'
        '{"r": "req-1", "s": null, "t": "t", "d": "delete"}',
        '{"r": "req-1", "s": ["a", null, null], "d": "delete"}',  # no 't'
        '{"r": "req-1", "s": ["a", null, null], "t": "t"}',       # no 'd'
        '{"r": "req-1", "s": ["a", null, null], "t": "t", "d": "delete",'
        ' "x": 5}',
    )
    def test_unreadable_ignored(self, raw):
        self.instance.system_metadata[sysmeta.REQUEST_KEY] = raw
        self.assertIsNone(sysmeta.read(self.instance, 'req-1'))
        debug = self.logs.at(logging.DEBUG)
        self.assertEqual(1, len(debug))
        self.assertIn(sysmeta.REQUEST_KEY, debug[0].getMessage())
        self.assertIs(self.instance, debug[0].instance)

    @ddt.data('[1, 2]', 'null', '"req-1"', '42', 'true')
    def test_unreadable_non_object_json_ignored(self, raw):
        self.instance.system_metadata[sysmeta.REQUEST_KEY] = raw
        self.assertIsNone(sysmeta.read(self.instance, 'req-1'))

    def test_no_lazy_load_without_system_metadata(self):
        instance = base.make_instance(omit=('system_metadata',))
        self.assertFalse(instance.obj_attr_is_set('system_metadata'))
        with mock.patch.object(objects.Instance, 'obj_load_attr',
                               autospec=True) as load:
            self.assertIsNone(sysmeta.read(instance, self.context.request_id))
        load.assert_not_called()
        self.assertFalse(instance.obj_attr_is_set('system_metadata'))

    def test_unset_system_metadata_would_fail_to_load(self):
        # What read() avoids: this instance has no context to load with.
        instance = base.make_instance(omit=('system_metadata',))
        self.assertRaises(nova_exception.OrphanedObjectError, getattr,
                          instance, 'system_metadata')
        self.assertIsNone(sysmeta.read(instance, self.context.request_id))


class VersionTest(CarryTestBase):
    """The carried entry is a versioned protocol between two services."""

    def _put(self, data):
        self.instance.system_metadata[sysmeta.REQUEST_KEY] = jsonutils.dumps(
            data)

    def test_previous_format_without_a_version_is_read(self):
        # Written by nova-api running the release before versions.
        self._put({'r': self.context.request_id,
                   't': '2025-01-02T03:04:05+00:00', 'd': rec.DELETE,
                   's': [vm_states.STOPPED, None, 'shutdown'],
                   'x': ['confirm_resize'], 'p': ['protect:bypassed']})
        carried = sysmeta.read(self.instance, self.context.request_id)
        self.assertEqual(vm_states.STOPPED, carried.state.vm_state)
        self.assertEqual(rec.DELETE, carried.delete_type)
        self.assertEqual(['confirm_resize'], carried.steps)
        self.assertEqual(['protect:bypassed'], carried.decisions)

    def test_unknown_version_is_ignored_and_logged(self):
        for version in (2, '1', None, [1]):
            self._put({'v': version, 'r': self.context.request_id,
                       'future': {'shape': 'unknown'}})
            self.assertIsNone(sysmeta.read(self.instance,
                                           self.context.request_id))
        warnings = self.logs.at(logging.WARNING)
        self.assertEqual(4, len(warnings))
        self.assertIn('version 2 of the delete_ext_request entry is not '
                      'known here', warnings[0].getMessage())

    def test_take_removes_an_unknown_version_too(self):
        self._put({'v': 99})
        self.assertIsNone(sysmeta.take(self.instance,
                                       self.context.request_id))
        self.assertNotIn(sysmeta.REQUEST_KEY, self.instance.system_metadata)

    def test_a_bypassed_recycled_delete_keeps_its_decisions(self):
        # The longest common case: a real request id and time, protect
        # bypassed and recycle keeping the server.
        decisions = ['protect:bypassed(metadata delete_protection=true)',
                     'recycle:soft_delete(604800s)']
        sysmeta.stash(self.instance, self.attempt, decisions=decisions,
                      policies=['protect', 'recycle', 'capture', 'verify'])
        carried = sysmeta.read(self.instance, self.context.request_id)
        self.assertEqual(decisions, carried.decisions)
        # The policy names went first: nova-compute checks protect itself.
        self.assertIsNone(carried.policies)

    def test_policies_in_force_on_nova_api_are_carried(self):
        sysmeta.stash(self.instance, self.attempt,
                      policies=['protect', 'recycle'])
        carried = sysmeta.read(self.instance, self.context.request_id)
        self.assertEqual(['protect', 'recycle'], carried.policies)
        # Kept even when steps and decisions must go.
        sysmeta.stash(self.instance, self.attempt, steps=['s' * 200],
                      policies=['protect'])
        carried = sysmeta.read(self.instance, self.context.request_id)
        self.assertEqual(([], ['protect']), (carried.steps, carried.policies))

    def test_previous_format_does_not_say_which_policies(self):
        self._put({'r': self.context.request_id, 't': 't', 'd': rec.DELETE,
                   's': [vm_states.ACTIVE, None, 'running']})
        self.assertIsNone(sysmeta.read(self.instance,
                                       self.context.request_id).policies)

    def test_the_three_keys(self):
        self.assertEqual(
            ['delete_ext_protect_bypassed', 'delete_ext_request',
             'delete_ext_retention'],
            sorted([sysmeta.BYPASS_KEY, sysmeta.REQUEST_KEY,
                    sysmeta.RETENTION_KEY]))

    def test_get_and_drop_never_lazy_load(self):
        instance = base.make_instance(omit=['system_metadata'])
        self.assertIsNone(sysmeta.get(instance, sysmeta.RETENTION_KEY))
        sysmeta.drop(instance, sysmeta.RETENTION_KEY)
        self.assertFalse(instance.obj_attr_is_set('system_metadata'))


class UpgradeOrderTest(CarryTestBase):
    """nova-api writes the entry, nova-compute reads it: compute first.

    Each test runs the writer or the reader as the next release would (one
    protocol version ahead), the other as this one.
    """

    def _ahead(self):
        return mock.patch.object(sysmeta, 'VERSION', sysmeta.VERSION + 1)

    def test_nova_compute_ahead_reads_what_nova_api_writes(self):
        # The documented order: compute nodes upgraded, nova-api not yet.
        sysmeta.stash(self.instance, self.attempt, steps=['confirm_resize'],
                      decisions=['protect:bypassed(tag)'],
                      policies=['protect'])
        with self._ahead():
            carried = sysmeta.take(self.instance, self.context.request_id)
        self.assertEqual(self.attempt.state, carried.state)
        self.assertEqual(['confirm_resize'], carried.steps)
        self.assertEqual(['protect:bypassed(tag)'], carried.decisions)
        self.assertEqual(['protect'], carried.policies)
        self.assertEqual([], self.logs.at(logging.WARNING))

    def test_nova_api_ahead_is_ignored_and_the_delete_goes_on(self):
        # The other order: nova-api upgraded first. nova-compute records
        # what it sees, and, not knowing which policies nova-api applied,
        # checks protect itself (policies None).
        with self._ahead():
            sysmeta.stash(self.instance, self.attempt, policies=['protect'])
        self.assertIsNone(sysmeta.take(self.instance,
                                       self.context.request_id))
        self.assertNotIn(sysmeta.REQUEST_KEY, self.instance.system_metadata)
        warnings = self.logs.at(logging.WARNING)
        self.assertEqual(1, len(warnings))
        self.assertIn('version %d of the delete_ext_request entry is not '
                      'known here' % (sysmeta.VERSION + 1),
                      warnings[0].getMessage())

    def test_a_release_reads_the_version_before_its_own(self):
        # What makes the order above work when VERSION is raised.
        self.assertLessEqual(sysmeta.OLDEST_READ, max(1, sysmeta.VERSION - 1))
        self.assertLessEqual(sysmeta.OLDEST_READ, sysmeta.VERSION)


class TakeTest(CarryTestBase):
    """nova-compute takes the entry off before Nova saves the instance."""

    def setUp(self):
        super().setUp()
        self.instance.system_metadata = {'image_base_image_ref': 'img'}
        # As nova-api has it after its instance.save(): nothing pending.
        self.instance.obj_reset_changes()
        sysmeta.stash(self.instance, self.attempt)
        self.assertIn('system_metadata', self.instance.obj_what_changed())

    def test_take_returns_facts_and_leaves_nothing_to_save(self):
        carried = sysmeta.take(self.instance, self.context.request_id)
        self.assertEqual(rec.SOFT_DELETE, carried.delete_type)
        self.assertEqual({'image_base_image_ref': 'img'},
                         self.instance.system_metadata)
        self.assertEqual(set(), self.instance.obj_what_changed())

    def test_take_removes_a_stale_entry_too(self):
        self.assertIsNone(sysmeta.take(self.instance, 'req-another'))
        self.assertNotIn(sysmeta.REQUEST_KEY, self.instance.system_metadata)
        self.assertEqual(set(), self.instance.obj_what_changed())

    def test_take_without_system_metadata_loaded(self):
        instance = base.make_instance(omit=('system_metadata',))
        self.assertIsNone(sysmeta.take(instance, self.context.request_id))
        self.assertFalse(instance.obj_attr_is_set('system_metadata'))

    def test_too_long_is_not_carried(self):
        self.attempt.record.request_id = 'req-' + 'x' * 300
        instance = base.make_instance()
        sysmeta.stash(instance, self.attempt)
        self.assertNotIn(sysmeta.REQUEST_KEY, instance.system_metadata)


class PutTest(base.TestCase):
    """Only the extension's key is written; the rest is never rewritten."""

    def setUp(self):
        super().setUp()
        self.update = self.useFixture(base.fixtures.MockPatch(
            'nova.db.main.api.instance_system_metadata_update',
            autospec=True)).mock
        self.context = nova_context.get_admin_context()
        self.instance = base.make_instance(
            id=7, system_metadata={'image_min_ram': '0'})
        self.instance._context = self.context
        self.instance.obj_reset_changes()

    def test_nova_api_writes_the_key_alone(self):
        sysmeta.put(self.instance, sysmeta.RETENTION_KEY, '60')
        self.update.assert_called_once_with(
            self.context, self.instance.uuid, {sysmeta.RETENTION_KEY: '60'},
            False)
        self.assertEqual({'image_min_ram': '0', sysmeta.RETENTION_KEY: '60'},
                         self.instance.system_metadata)
        # Nova's next save leaves system_metadata alone.
        self.assertNotIn('system_metadata', self.instance.obj_what_changed())

    def test_changes_nova_made_stay_pending(self):
        self.instance.system_metadata['image_min_ram'] = '512'
        sysmeta.put(self.instance, sysmeta.BYPASS_KEY, 'req-1')
        self.assertIn('system_metadata', self.instance.obj_what_changed())

    def test_without_system_metadata_loaded_nothing_is_loaded(self):
        instance = base.make_instance(id=7, omit=('system_metadata',))
        instance._context = self.context
        sysmeta.put(instance, sysmeta.RETENTION_KEY, '60')
        self.update.assert_called_once_with(
            self.context, instance.uuid, {sysmeta.RETENTION_KEY: '60'},
            False)
        self.assertFalse(instance.obj_attr_is_set('system_metadata'))

    def test_through_conductor_or_before_a_cell_set_for_the_save(self):
        not_in_a_cell = base.make_instance(system_metadata={})
        sysmeta.put(not_in_a_cell, sysmeta.RETENTION_KEY, '60')
        with mock.patch('nova.objects.base.NovaObject.indirection_api',
                        mock.Mock()):
            sysmeta.put(self.instance, sysmeta.RETENTION_KEY, '60')
        self.update.assert_not_called()
        for instance in (not_in_a_cell, self.instance):
            self.assertEqual('60',
                             instance.system_metadata[sysmeta.RETENTION_KEY])
            self.assertIn('system_metadata', instance.obj_what_changed())
