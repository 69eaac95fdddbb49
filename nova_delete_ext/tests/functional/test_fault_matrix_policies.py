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

"""Fault injection: each policy moment raises, or hangs past its limit.

The policies run at five moments: ``on_request`` (nova-api),
``before_destroy``, ``on_restore`` and ``retention`` (nova-compute) and
``after_delete`` (the extension's after-delete workers). Each is a call
into a policy's code, which may do I/O (protect reads the database), so
each gets both faults: an exception, and a hang far beyond
``[delete_ext]policy_timeout`` (1 s here).

A fault in ``protect``, which fails closed, refuses the delete: the server
is left as it was and deletable, and is deleted once the fault is gone. A
fault in a policy that fails open (the example ``name_guard``) or in one
that acts after the delete (``verify``) is logged and skipped.
"""

import time

import testscenarios

from nova_delete_ext.policies import protect
from nova_delete_ext.policies import verify
from nova_delete_ext.tests.functional import example_policy
from nova_delete_ext.tests.functional import faults

load_tests = testscenarios.load_tests_apply_scenarios

#: Deletes nova-api starts: on the compute host, or done in nova-api.
API_STATES = ('active', 'shelved_offloaded', 'error_no_host', 'building')
#: Deletes on the compute host: an API delete, a reclaim, a resumed delete.
HOST_STATES = ('active', 'reclaimed', 'resumed')


class TestPolicyMoment(faults.FaultMatrixBase):

    scenarios = [(form, {'form': form}) for form in faults.FORMS]

    def test_on_request_fail_open(self):
        servers = self.prepare(API_STATES + ('resumed',))
        fault = self.inject(example_policy.NameGuard, 'on_request',
                            self.form)
        self.assert_all_deleted(servers)
        self.assert_fault_hit(fault)

    def test_on_request_fail_closed_refuses(self):
        servers = self.prepare(API_STATES)
        with faults.Fault(protect.Protect, 'on_request', self.form) as fault:
            for state, server in servers.items():
                started = time.monotonic()
                message = self.assert_conflict(self.api.delete_server,
                                               server['id'])
                self.assertLess(time.monotonic() - started, faults.BOUND)
                self.assertIn('The protect policy could not decide', message)
                shown = self.api.get_server(server['id'])
                self.assertEqual(
                    (server['status'], server['OS-EXT-STS:task_state']),
                    (shown['status'], shown['OS-EXT-STS:task_state']))
                self.assertEqual('denied',
                                 self.only_record(server)['outcome'])
            self.assert_fault_hit(fault)
        # The fault is gone: the same deletes go through.
        self.assert_all_deleted(servers)

    def test_before_destroy_fail_closed_leaves_it_deletable(self):
        servers = self.prepare(HOST_STATES)
        before = {s: len(self.delete_records(servers[s])) for s in servers}
        with faults.Fault(protect.Protect, 'before_destroy',
                          self.form) as fault:
            for state, server in servers.items():
                self.assertLess(self.delete(state, server), faults.BOUND)
                status = 'SOFT_DELETED' if state == 'reclaimed' else 'ACTIVE'
                self._wait_for_server_parameter(
                    server, {'OS-EXT-STS:task_state': None,
                             'status': status}, max_retries=60)
                record = self.wait_for_record(server, before[state] + 1)
                self.assertEqual('denied', record['outcome'], state)
            self.assert_fault_hit(fault)
        for state, server in servers.items():
            self.assert_deleted('reclaimed' if state == 'reclaimed'
                                else 'active', server)

    def test_after_delete(self):
        servers = self.prepare(API_STATES + ('reclaimed',))
        fault = self.inject(verify.Verify, 'after_delete', self.form)
        self.assert_all_deleted(servers)
        for _ in range(100):
            if fault.hits:
                break
            time.sleep(0.1)
        self.assert_fault_hit(fault)
        fault.release.set()
        for state, server in servers.items():
            check = self.check_record(server)
            self.assertEqual('checked', check['outcome'], check)
            verified = [d for d in check['decisions']
                        if d.startswith('verify:')]
            self.assertEqual([] if self.form == faults.RAISE
                             else ['verify:clean'], verified, (state, check))

    def test_on_restore(self):
        server = self.server_soft_delete()
        fault = self.inject(protect.Protect, 'on_restore', self.form)
        started = time.monotonic()
        self.api.post_server_action(server['id'], {'restore': None})
        self._wait_for_state_change(server, 'ACTIVE', max_retries=60)
        self.assertLess(time.monotonic() - started, faults.BOUND)
        self.assertEqual('restored',
                         self.wait_for_record(server, 2)['outcome'])
        self.assert_fault_hit(fault)
        self.assert_deleted('active', server)

    def test_retention(self):
        servers = self.prepare(('reclaimed',))
        fault = self.inject(example_policy.NameGuard, 'retention',
                            self.form)
        # Without an answer Nova's reclaim_instance_interval applies, and
        # the reclaim goes ahead as it would without the extension.
        self.assert_all_deleted(servers)
        self.assert_fault_hit(fault)
