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

"""A real in-process Nova with the extension installed.

Nova's own functional harness starts nova-api (through wsgi-intercept),
conductor, scheduler, one compute service on the fake virt driver and
placement, with Nova's Neutron, Glance and Cinder fixtures. On top of it
this base installs the hooks, points the record file at a temporary file and
reads the records back.
"""

import inspect
import os
import sys
import sysconfig
import time

import fixtures
from nova.tests import fixtures as nova_fixtures
from nova.tests.functional.api import client
from nova.tests.functional import integrated_helpers
from oslo_serialization import jsonutils

from nova_delete_ext import conf as ext_conf
from nova_delete_ext import deadline
from nova_delete_ext import hooks
from nova_delete_ext import policies
from nova_delete_ext import sinks
from nova_delete_ext.tests import fixtures as ext_fixtures


def api_paste_config():
    """``etc/nova/api-paste.ini`` as the nova wheel installs it."""
    for root in (sysconfig.get_path('data'), os.path.dirname(
            os.path.dirname(os.path.dirname(os.__file__)))):
        path = os.path.join(root, 'etc', 'nova', 'api-paste.ini')
        if os.path.exists(path):
            return path
    raise RuntimeError('etc/nova/api-paste.ini of the nova package was not '
                       'found; is nova installed in this environment?')


def _takes(func, name):
    return name in inspect.signature(func).parameters


# Nova's harness differs between the releases the suite runs on; the
# helpers of DeleteExtTestBase give every test the harness of Nova 34.
#: Nova 34 (2026.2) and later: _wait_for_state_change() can wait for the
#: fault of an ERROR server (wait_for_fault_key, on by default); older
#: releases return as soon as the status matches.
HARNESS_WAITS_FOR_FAULT = _takes(
    integrated_helpers.InstanceHelperMixin._wait_for_state_change,
    'wait_for_fault_key')
#: Nova 33 (2026.1) and later have _attach_volume(); 31 and 32 only
#: _attach_volumes(), which does not wait for the attach notification.
HARNESS_ATTACHES_ONE_VOLUME = hasattr(
    integrated_helpers.InstanceHelperMixin, '_attach_volume')


def isolated_executor(test_id):
    """Nova's fixture giving one test its own default pool or executor.

    For tests that spawn through Nova outside ``DeleteExtTestBase``, whose
    ``setUp`` (Nova's) uses it already: the next test of Nova's harness
    checks that no shared executor was left behind. Nova 32 (2025.2) and
    later: ``IsolatedExecutorFixture``; Nova 31: ``IsolatedGreenPoolFixture``.
    """
    isolate = getattr(nova_fixtures, 'IsolatedExecutorFixture', None)
    if isolate is None:
        isolate = nova_fixtures.IsolatedGreenPoolFixture
    return isolate(test_id)


def called_by_the_leak_checks():
    """Whether the caller was called by :mod:`nova_delete_ext.leaks`.

    On whatever thread: Nova's own calls of the same method are told apart
    from those of a check or a sweep.
    """
    frame = sys._getframe(1)
    while frame is not None:
        module = frame.f_globals.get('__name__', '')
        if module == deadline.__name__ and isinstance(
                frame.f_locals.get('self'), deadline._Call):
            # On the thread of a call with a time limit: who asked for it.
            module = frame.f_locals['self'].origin or ''
        if module.startswith('nova_delete_ext.leaks'):
            return True
        frame = frame.f_back
    return False


class HooksFixture(fixtures.Fixture):
    """Install the hooks for one test and take them out afterwards."""

    def _setUp(self):
        hooks.install()
        self.addCleanup(hooks.uninstall)


class DeleteExtTestBase(integrated_helpers._IntegratedTestBase):
    """The extension on the in-process Nova; records read from the file."""

    ADMIN_API = True
    REQUIRES_LOCKING = False
    microversion = 'latest'

    def setUp(self):
        # Hooks go in before the services start, as in a deployment where
        # the notification driver loads while the service parses its
        # configuration.
        self.useFixture(HooksFixture())
        self.useFixture(ext_fixtures.Sinks())
        self.useFixture(ext_fixtures.AfterDelete())
        self.temp_dir = self.useFixture(fixtures.TempDir()).path
        self.record_file = os.path.join(self.temp_dir, 'records.jsonl')
        super().setUp()

    def _setup_services(self):
        self.flags(api_paste_config=api_paste_config(), group='wsgi')
        self.flags(record_file=self.record_file, group='delete_ext')
        super()._setup_services()

    # Nova's helpers, the same on every release ------------------------

    def _wait_for_state_change(self, server, expected_status, max_retries=10,
                               wait_for_fault_key=True):
        if HARNESS_WAITS_FOR_FAULT:
            return super()._wait_for_state_change(
                server, expected_status, max_retries,
                wait_for_fault_key=wait_for_fault_key)
        server = super()._wait_for_state_change(server, expected_status,
                                                max_retries)
        if wait_for_fault_key and expected_status == 'ERROR':
            # Nova sets ERROR before it records the fault.
            for _ in range(max_retries):
                if 'fault' in server:
                    break
                time.sleep(0.5)
                server = self.admin_api.get_server(server['id'])
            else:
                self.fail('server %s in ERROR has no fault: %s'
                          % (server['id'], server))
        return server

    def _attach_volume(self, server, volume_id):
        if HARNESS_ATTACHES_ONE_VOLUME:
            return super()._attach_volume(server, volume_id)
        # Nova 34's _attach_volume().
        self.api.post_server_volume(
            server['id'], {'volumeAttachment': {'volumeId': volume_id}})
        self._wait_for_volume_attach(server['id'], volume_id)
        self.notifier.wait_for_versioned_notifications(
            'instance.volume_attach.end')

    # Policies ------------------------------------------------------------

    def use_policies(self, *names, **groups):
        """Enable ``names`` with options ``groups={group: {opt: value}}``.

        The chain is loaded and validated as the notification driver does
        at service start; the hooks read it at every delete.
        """
        self.flags(policies=list(names), group='delete_ext')
        for group, values in groups.items():
            self.flags(group=group, **values)
        chain = policies.load(ext_conf.CONF)
        previous = policies.set_active(chain)
        self.addCleanup(policies.set_active, previous)
        return chain

    def assert_conflict(self, call, *args):
        """``call`` fails with 409 Conflict; return the error message."""
        exc = self.assertRaises(client.OpenStackApiException, call, *args)
        self.assertEqual(409, exc.response.status_code, exc)
        return exc.response.json()['conflictingRequest']['message']

    # Reading the records back ------------------------------------------

    def records(self, instance_uuid=None, kind=None):
        """The records written so far; those of one instance, one kind.

        :param kind: ``delete`` or ``check`` (see
            :mod:`nova_delete_ext.record`); None for every line.
        """
        # The file sink writes in the background.
        self.assertTrue(sinks.flush(10), 'records not written in time')
        if not os.path.exists(self.record_file):
            return []
        with open(self.record_file) as f:
            found = [jsonutils.loads(line) for line in f]
        if instance_uuid:
            found = [r for r in found if r['instance_uuid'] == instance_uuid]
        if kind:
            found = [r for r in found if r.get('kind') == kind]
        return found

    def only_record(self, server):
        """The one delete record of ``server``."""
        found = self.records(server['id'], kind='delete')
        self.assertEqual(1, len(found), found)
        return found[0]

    def wait_for_record(self, server, count=1, timeout=20.0, kind='delete'):
        """The ``count``-th record of ``server``, once it is written.

        Delete records are written when the delete ends, which for a delete
        nova-compute does is after the API answered.
        """
        deadline = time.monotonic() + timeout
        while True:
            found = self.records(server['id'], kind=kind)
            if len(found) >= count:
                self.assertEqual(count, len(found), found)
                return found[-1]
            if time.monotonic() > deadline:
                self.fail('no %s record %d for %s: %s' % (
                    kind, count, server['id'], self.records(server['id'])))
            time.sleep(0.05)

    def check_record(self, server, count=1, timeout=30.0):
        """The ``count``-th check record of ``server``, once written.

        Written by the after-delete workers once the after_delete policies
        are done; it names its delete record (``delete_id``).
        """
        check = self.wait_for_record(server, count, timeout, kind='check')
        delete_ids = [r['id'] for r in self.records(server['id'],
                                                    kind='delete')]
        self.assertIn(check['delete_id'], delete_ids)
        return check

    # Checking that Nova really finished -----------------------------------

    def assert_gone(self, server):
        self._wait_until_deleted(server)
        self.assertEqual({}, self._get_allocations_by_server_uuid(
            server['id']))
