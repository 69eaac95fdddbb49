"""The capture policy on the real in-process Nova."""

import os
import threading
import time

import fixtures
from oslo_serialization import jsonutils

from nova_delete_ext.policies import capture_files
from nova_delete_ext.tests.functional import base
from nova_delete_ext.tests.functional import hung as hung_mod
from nova_delete_ext.tests.functional import scenarios


class TestCapture(scenarios.ServerStates, base.DeleteExtTestBase):

    def setUp(self):
        super().setUp()
        self.capture_dir = os.path.join(self.temp_dir, 'captures')
        self.use_policies('capture', delete_ext_capture={
            'directory': self.capture_dir, 'max_bytes': 4096})

    def captured(self, record):
        self.assertEqual(self.capture_dir,
                         os.path.dirname(record['capture']))
        with open(record['capture'], 'rb') as f:
            return jsonutils.load(f)

    def test_errored_server_is_captured_before_destroy(self):
        server = self.server_error()
        self._delete_server(server)
        self.assert_gone(server)
        record = self.only_record(server)
        self.assertEqual(['capture:saved'], record['decisions'])
        data = self.captured(record)
        self.assertEqual(server['id'], data['instance_uuid'])
        self.assertEqual('error', data['vm_state'])
        self.assertEqual(record['request_id'], data['request_id'])
        self.assertIn('FAKE CONSOLE OUTPUT', data['console_output'])
        self.assertFalse(data['console_truncated'])
        self.assertEqual('running', data['diagnostics']['state'])
        self.assertEqual({}, data['errors'])
        self.assertEqual({}, data['skipped'])

    def test_other_states_are_not_captured(self):
        server = self.server_active()
        self._delete_server(server)
        self.assert_gone(server)
        record = self.only_record(server)
        self.assertEqual([], record['decisions'])
        self.assertNotIn('capture', record)
        # Created at the first capture only.
        self.assertFalse(os.path.exists(self.capture_dir))

    def test_console_is_cut_to_its_end(self):
        self.useFixture(fixtures.MockPatch(
            'nova.virt.fake.FakeDriver.get_console_output',
            return_value='x' * 10000 + 'THE END'))
        server = self.server_error()
        self._delete_server(server)
        self.assert_gone(server)
        data = self.captured(self.only_record(server))
        self.assertTrue(data['console_truncated'])
        self.assertEqual(4096, len(data['console_output']))
        self.assertTrue(data['console_output'].endswith('THE END'))

    def test_driver_failures_are_noted_not_fatal(self):
        self.useFixture(fixtures.MockPatch(
            'nova.virt.fake.FakeDriver.get_console_output',
            side_effect=NotImplementedError('no console here')))
        server = self.server_error()
        self._delete_server(server)
        self.assert_gone(server)
        data = self.captured(self.only_record(server))
        self.assertEqual(
            {'console_output': 'NotImplementedError: no console here'},
            data['errors'])
        self.assertIn('diagnostics', data)

    def test_unwritable_directory_never_blocks_the_delete(self):
        server = self.server_error()
        # A file where the directory would be created after the service
        # started: no write can succeed there, whoever runs the test.
        open(self.capture_dir, 'w').close()
        self._delete_server(server)
        self.assert_gone(server)
        record = self.only_record(server)
        self.assertEqual(['capture:failed'], record['decisions'])
        self.assertEqual('deleted', record['outcome'])

    def test_hung_driver_delays_the_delete_by_the_limit_only(self):
        self.flags(driver_timeout=1, group='delete_ext_capture')
        release = threading.Event()
        self.addCleanup(release.set)
        # The guest's console never answers (for longer than Nova's test
        # helper waits for a delete).
        self.useFixture(fixtures.MockPatch(
            'nova.virt.fake.FakeDriver.get_console_output',
            side_effect=lambda *args: release.wait(60)))
        server = self.server_error()
        start = time.monotonic()
        self._delete_server(server)
        elapsed = time.monotonic() - start
        self.assert_gone(server)
        # The limit, and the helper's polling every half second.
        self.assertLess(elapsed, 1 + 4)
        record = self.only_record(server)
        self.assertEqual(['capture:saved'], record['decisions'])
        data = self.captured(record)
        self.assertIn('DriverTimeout: no answer from the virt driver within '
                      '1 s', data['errors']['console_output'])
        self.assertEqual('running', data['diagnostics']['state'])

    def test_no_diagnostics_of_a_stopped_guest(self):
        server = self.server_stopped()
        self.api.post_server_action(server['id'],
                                    {'os-resetState': {'state': 'error'}})
        server = self._wait_for_state_change(server, 'ERROR',
                                             wait_for_fault_key=False)
        with fixtures.MockPatch(
                'nova.virt.fake.FakeDriver.get_instance_diagnostics'
        ) as diagnostics:
            self._delete_server(server)
        self.assert_gone(server)
        diagnostics.mock.assert_not_called()
        data = self.captured(self.only_record(server))
        self.assertEqual({'diagnostics': 'the guest is not running '
                                         '(power_state shutdown)'},
                         data['skipped'])
        self.assertIn('FAKE CONSOLE OUTPUT', data['console_output'])


class TestHungCaptureDirectory(scenarios.ServerStates,
                               base.DeleteExtTestBase):

    def test_hung_file_system_costs_the_policy_timeout_only(self):
        self.flags(policy_timeout=1.0, group='delete_ext')
        self.use_policies('capture', delete_ext_capture={
            'directory': os.path.join(self.temp_dir, 'captures')})
        hung = hung_mod.HungCall(capture_files.write)
        self.addCleanup(setattr, hung, 'released', True)
        self.useFixture(fixtures.MockPatchObject(
            capture_files, 'write', autospec=True, side_effect=hung))
        server = self.server_error()
        self._delete_server(server)
        self.assert_gone(server)
        self.assertEqual(1, hung.entered)
        self.assertFalse(hung.given_up,
                         'the delete waited for the hung capture write')
        record = self.only_record(server)
        self.assertEqual('deleted', record['outcome'])
        self.assertNotIn('capture', record)
