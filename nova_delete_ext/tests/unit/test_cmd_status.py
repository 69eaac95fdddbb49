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

"""Tests of ``nova-delete-ext-status upgrade check``."""

import os
import subprocess
import sys
from unittest import mock

import fixtures
from oslo_upgradecheck import upgradecheck

from nova_delete_ext.cmd import status
from nova_delete_ext import compat
from nova_delete_ext import hooks
from nova_delete_ext.tests.unit import base

Code = upgradecheck.Code


class ChecksTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.checks = status.Checks(self.conf)
        self.tmp = self.useFixture(fixtures.TempDir()).path

    def assert_result(self, code, check, *fragments):
        result = check()
        self.assertEqual(code, result.code, result.details)
        for fragment in fragments:
            self.assertIn(fragment, result.details)

    def test_nova_release_tested(self):
        # The Nova of this test environment is one of the release matrix.
        self.assert_result(Code.SUCCESS, self.checks._check_nova_release,
                           'Nova %s, series ' % compat.nova_version(),
                           ': tested (with Nova ')
        with mock.patch.object(compat, 'nova_version', autospec=True,
                               return_value='33.0.9'):
            self.assert_result(Code.SUCCESS, self.checks._check_nova_release,
                               'Nova 33.0.9, series 2026.1: tested (with '
                               'Nova 33.0.2)')

    def test_nova_release_untested_is_a_warning(self):
        for version in ('35.0.0', '30.1.0', '0.0.0.dev1', 'unknown'):
            with mock.patch.object(compat, 'nova_version', autospec=True,
                                   return_value=version):
                self.assert_result(Code.WARNING,
                                   self.checks._check_nova_release,
                                   'Nova %s is not a release this '
                                   'extension was tested on' % version,
                                   '2025.1 (Nova 31.3.1)')

    def test_hook_points(self):
        self.assert_result(Code.SUCCESS, self.checks._check_hook_points,
                           'match the installed Nova')
        with mock.patch.object(hooks, 'problems', return_value=[
                'nova.compute.api.API._delete: method not found']):
            self.assert_result(Code.FAILURE, self.checks._check_hook_points,
                               'API._delete: method not found')

    def test_activation(self):
        self.flags(driver=['messagingv2'],
                   group='oslo_messaging_notifications')
        self.assert_result(Code.WARNING, self.checks._check_activation,
                           'Not activated on this node')
        self.flags(driver=['messagingv2', 'nova_delete_ext'],
                   group='oslo_messaging_notifications')
        self.assert_result(Code.SUCCESS, self.checks._check_activation)
        self.flags(enabled=False, group='delete_ext')
        self.assert_result(Code.WARNING, self.checks._check_activation,
                           'enabled is false')

    def test_configuration(self):
        self.assert_result(Code.SUCCESS, self.checks._check_configuration,
                           'no policy enabled')
        self.flags(policies=['protect'], group='delete_ext')
        self.assert_result(Code.SUCCESS, self.checks._check_configuration,
                           'policies in force: protect')
        self.flags(policies=['protect', 'shield'], group='delete_ext')
        self.assert_result(Code.FAILURE, self.checks._check_configuration,
                           "[delete_ext]policies: unknown policy 'shield'",
                           'would not start')

    def test_sinks(self):
        self.assert_result(Code.SUCCESS, self.checks._check_sinks,
                           'Records go to: log, file; no '
                           '[delete_ext]record_file')
        self.flags(record_file=os.path.join(self.tmp, 'records.jsonl'),
                   group='delete_ext')
        self.assert_result(Code.SUCCESS, self.checks._check_sinks,
                           'is writable')
        self.flags(record_file=os.path.join(self.tmp, 'missing', 'a.jsonl'),
                   group='delete_ext')
        self.assert_result(Code.FAILURE, self.checks._check_sinks,
                           'not writable')
        self.flags(sinks=['notification'], group='delete_ext')
        self.assert_result(Code.SUCCESS, self.checks._check_sinks,
                           'Records go to: log, notification.')
        self.flags(sinks=['syslog'], group='delete_ext')
        self.assert_result(Code.FAILURE, self.checks._check_sinks,
                           "unknown sink 'syslog'", 'would not start')

    def test_capture_directory(self):
        self.assert_result(Code.SUCCESS,
                           self.checks._check_capture_directory,
                           'not enabled')
        self.flags(policies=['capture'], group='delete_ext')
        self.flags(directory=self.tmp, group='delete_ext_capture')
        self.assert_result(Code.SUCCESS,
                           self.checks._check_capture_directory)
        self.flags(directory=os.path.join(self.tmp, 'new'),
                   group='delete_ext_capture')
        self.assert_result(Code.SUCCESS,
                           self.checks._check_capture_directory,
                           'will be created')
        # Checking creates nothing (run as root, it would be root's).
        self.assertFalse(os.path.exists(os.path.join(self.tmp, 'new')))
        blocker = os.path.join(self.tmp, 'file')
        open(blocker, 'w').close()
        self.flags(directory=os.path.join(blocker, 'sub'),
                   group='delete_ext_capture')
        self.assert_result(Code.FAILURE,
                           self.checks._check_capture_directory,
                           'cannot be created', 'is not a directory')

    def test_recycle_retention(self):
        self.assert_result(Code.SUCCESS,
                           self.checks._check_recycle_retention,
                           'not enabled')
        self.flags(policies=['recycle'], group='delete_ext')
        self.flags(retention={'active': 86400}, group='delete_ext_recycle')
        self.flags(reclaim_instance_interval=0)
        self.assert_result(Code.WARNING,
                           self.checks._check_recycle_retention,
                           'would never reclaim')
        self.flags(reclaim_instance_interval=600)
        self.assert_result(Code.SUCCESS,
                           self.checks._check_recycle_retention,
                           'about a minute after their retention')
        self.conf.clear_override('retention', group='delete_ext_recycle')
        self.conf_fixture.load_raw_values(group='delete_ext_recycle',
                                          retention='active:-1')
        self.assert_result(Code.FAILURE,
                           self.checks._check_recycle_retention,
                           "[delete_ext_recycle]retention: '-1' for vm_state "
                           "active")


class CommandTest(base.TestCase):
    """The command as an operator runs it, in its own process."""

    def run_status(self, conf_text):
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            'nova.conf')
        with open(path, 'w') as f:
            f.write(conf_text)
        code = ('import sys; from nova_delete_ext.cmd import status; '
                'sys.exit(status.main(sys.argv[1:]))')
        return subprocess.run(
            [sys.executable, '-c', code, '--config-file', path, 'upgrade',
             'check'], capture_output=True, text=True, timeout=120)

    def test_all_good(self):
        done = self.run_status('[oslo_messaging_notifications]\n'
                               'driver = nova_delete_ext\n'
                               '[delete_ext]\npolicies = protect\n')
        self.assertEqual(0, done.returncode, done.stdout + done.stderr)
        self.assertIn('Check: Hook points', done.stdout)
        self.assertIn('Check: Recycle retention', done.stdout)

    def test_invalid_configuration_fails(self):
        done = self.run_status('[oslo_messaging_notifications]\n'
                               'driver = nova_delete_ext\n'
                               '[delete_ext]\npolicies = recycle\n'
                               '[delete_ext_recycle]\n'
                               'retention = active:-1\n')
        self.assertEqual(2, done.returncode, done.stdout + done.stderr)
        self.assertIn('Result: Failure', done.stdout)
        self.assertIn('retention', done.stdout)

    def test_not_activated_warns(self):
        done = self.run_status('[DEFAULT]\n')
        self.assertEqual(1, done.returncode, done.stdout + done.stderr)
        self.assertIn('Not activated on this node', done.stdout)
