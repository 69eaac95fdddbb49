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

"""The capture policy on the real in-process Nova."""

import os
import threading
import time

import fixtures
from nova.tests import fixtures as nova_fixtures
from oslo_serialization import jsonutils

from nova_delete_ext import compat
from nova_delete_ext import deadline
from nova_delete_ext.policies import capture
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
        error = data['errors']['console_output']
        self.assertIn('CallTimedOut: virt driver did not answer ', error)
        self.assertTrue(error.endswith(' within 1.0 s'), error)
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


class BlockedWrites:
    """Capture writes that block in the kernel, until :meth:`unblock`.

    Each opens a FIFO that nobody reads, which blocks the calling OS thread
    in ``open()`` as a write to an NFS mount that stopped answering does.
    """

    def __init__(self, directory):
        self.fifo = os.path.join(directory, 'nobody-reads')
        os.mkfifo(self.fifo)
        self.entered = 0
        self.left = 0

    def __call__(self, directory, instance_uuid, data):
        self.entered += 1
        try:
            with open(self.fifo, 'wb'):
                pass
        finally:
            self.left += 1
        raise OSError('the FIFO was read at last')

    def unblock(self, limit=20.0):
        """A reader at last: the writes blocked (and any queued) return."""
        reader = os.open(self.fifo, os.O_RDONLY | os.O_NONBLOCK)
        try:
            deadline_at = time.monotonic() + limit
            quiet_since = time.monotonic()
            while time.monotonic() < deadline_at:
                if self.left < self.entered:
                    quiet_since = time.monotonic()
                elif time.monotonic() - quiet_since > 1.0:
                    return
                hung_mod._blocking_sleep()(0.05)
        finally:
            os.close(reader)


class TestCapturesOnTheirOwnThreads(scenarios.ServerStates,
                                    base.DeleteExtTestBase):
    """Hung capture writes hold the extension's threads, none of Nova's."""

    #: More than eventlet's tpool has threads (20), or the policy's old
    #: cap (32), in bursts: the host's resource tracker reads the
    #: allocations of every server on it at each delete.
    DELETES, BURST = 40, 10
    #: Forty boots and deletes on a loaded machine take minutes.
    TIMEOUT_SCALING_FACTOR = 3

    def _setup_services(self):
        # Room for BURST servers on the harness's host (10 VCPUs).
        self.flags(cpu_allocation_ratio=8.0)
        super()._setup_services()

    def errored_servers(self, count):
        request = self._build_server(networks=[
            {'uuid': nova_fixtures.NeutronFixture.network_1['id']}])
        request.update(min_count=count, max_count=count,
                       return_reservation_id=True)
        reservation = self.api.post_server({'server': request})
        servers = self.api.get_servers(search_opts={
            'reservation_id': reservation['reservation_id']})
        self.assertEqual(count, len(servers))
        for server in servers:
            # Ten builds at once take a while on a loaded machine.
            self._wait_for_state_change(server, 'ACTIVE', max_retries=60)
            self.api.post_server_action(
                server['id'], {'os-resetState': {'state': 'error'}})
        return [self._wait_for_state_change(server, 'ERROR',
                                            wait_for_fault_key=False)
                for server in servers]

    def test_forty_hung_captures_leave_eventlets_thread_pool_free(self):
        self.flags(policy_timeout=1.0, group='delete_ext')
        self.use_policies('capture', delete_ext_capture={
            'directory': os.path.join(self.temp_dir, 'captures'),
            'write_timeout': 0.1})
        before = deadline.abandoned(capture.FILES)
        blocked = BlockedWrites(self.temp_dir)
        self.addCleanup(blocked.unblock)
        self.useFixture(fixtures.MockPatchObject(
            capture_files, 'write', autospec=True, side_effect=blocked))
        deleted = []
        while len(deleted) < self.DELETES:
            # A burst, as when a host's errored servers are cleaned up.
            servers = self.errored_servers(self.BURST)
            for server in servers:
                self.api.delete_server(server['id'])
            for server in servers:
                self._wait_until_deleted(server)
            deleted += servers
        if compat._eventlet_patched():
            # Nova's libvirt driver sends every libvirt call to eventlet's
            # tpool: it still runs a call at once.
            from eventlet import timeout
            from eventlet import tpool
            started = time.monotonic()
            try:
                with timeout.Timeout(10):
                    self.assertEqual(2, tpool.execute(lambda: 2))
            except timeout.Timeout:
                self.fail("eventlet's tpool ran no call within 10 s: the "
                          "hung capture writes hold its threads")
            self.assertLess(time.monotonic() - started, 1.0)
        # Each capture either wrote (and hangs, given up and counted) or,
        # the cap reached, did not try.
        refused = self.stdlog.logger.output.count(
            'its delete: capture directory not called')
        self.assertEqual(self.DELETES, blocked.entered + refused)
        self.assertGreater(refused, 0)
        self.assertEqual(before + blocked.entered,
                         deadline.abandoned(capture.FILES))
        self.assertGreaterEqual(deadline.abandoned(capture.FILES),
                                deadline.MAX_ABANDONED)
        records = [self.only_record(server) for server in deleted]
        self.assertEqual({('deleted', ('capture:failed',))},
                         {(r['outcome'], tuple(r['decisions']))
                          for r in records})
