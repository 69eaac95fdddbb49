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

"""A policy that hangs on the delete path costs its time limit, no more."""

import threading
import time

from nova_delete_ext import conf as ext_conf
from nova_delete_ext import policies
from nova_delete_ext.policies import base as policy_base
from nova_delete_ext.tests.functional import base
from nova_delete_ext.tests.functional import scenarios

TIMEOUT = 1.0
#: How long a hung policy would hold a delete without the time limit; a
#: delete that took half of it waited for the policy.
HANG = 60.0


class Hang(policy_base.DeletePolicy):
    """Hangs in the moment named ``where`` until the test ends."""

    where = 'on_request'

    def __init__(self, conf, name, release):
        super().__init__(conf, name)
        self.release = release

    def validate(self):
        pass

    def _hang(self, event):
        self.release.wait(HANG)

    def on_request(self, event):
        if self.where == 'on_request':
            self._hang(event)

    def before_destroy(self, event):
        if self.where == 'before_destroy':
            self._hang(event)


class TestHangingPolicy(scenarios.ServerStates, base.DeleteExtTestBase):

    def use_hanging(self, where, fail_closed=False):
        release = threading.Event()
        self.addCleanup(release.set)
        policy = Hang(ext_conf.CONF, 'hang', release)
        policy.where, policy.fail_closed = where, fail_closed
        self.addCleanup(policies.set_active, policies.set_active(
            policies.PolicyChain([policy], timeout=TIMEOUT)))

    def timed_delete(self, server):
        started = time.monotonic()
        self.api.delete_server(server['id'])
        return time.monotonic() - started

    def test_on_request(self):
        server = self.server_active()
        self.use_hanging('on_request')
        elapsed = self.timed_delete(server)
        self.assert_gone(server)
        self.assertGreaterEqual(elapsed, TIMEOUT)
        self.assertLess(elapsed, HANG / 2)
        self.assertEqual('deleted', self.only_record(server)['outcome'])

    def test_before_destroy(self):
        server = self.server_active()
        self.use_hanging('before_destroy')
        started = time.monotonic()
        self._delete_server(server)
        self.assert_gone(server)
        self.assertLess(time.monotonic() - started, HANG / 2)
        self.assertEqual('deleted', self.only_record(server)['outcome'])

    def test_fail_closed_on_request_refuses(self):
        server = self.server_active()
        self.use_hanging('on_request', fail_closed=True)
        message = self.assert_conflict(self.api.delete_server, server['id'])
        self.assertIn('did not answer on_request within 1.0 s', message)
        self.assertEqual('ACTIVE', self.api.get_server(server['id'])['status'])
        self.assertEqual('denied', self.only_record(server)['outcome'])

    def test_fail_closed_before_destroy_leaves_it_deletable(self):
        server = self.server_active()
        self.use_hanging('before_destroy', fail_closed=True)
        self.api.delete_server(server['id'])
        self._wait_for_server_parameter(
            server, {'OS-EXT-STS:task_state': None, 'status': 'ACTIVE'})
        self.assertEqual('denied', self.only_record(server)['outcome'])
