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

"""Fault injection: the facts nova-api carries, and the record write.

Both faults for the ``file`` sink's write, which is file I/O (an NFS mount
that stopped answering, a full disk): it runs on the sink's writer thread,
so a hang costs records written late, never a delete, and an exception
costs the record, counted and logged, never a delete.

Only the exception for the rest, which is in-memory work on Nova's thread
that does no I/O, so that a hang could come from nowhere and nothing could
bound it:

* carrying the facts (``sysmeta.stash``, nova-api) and reading them
  (``sysmeta.take``, nova-compute) only touch the instance's
  ``system_metadata`` already loaded (they never lazy-load it);
* the ``log`` sink formats a line and hands it to the service log on the
  thread of the delete, exactly as Nova's own log lines next to it: a
  logging handler that blocks blocks Nova at its next line just the same;
* opening the attempt (the record to be) only reads the instance already
  loaded: when it fails, no policy can run, and with one that fails closed
  (``protect``) the delete is refused rather than done unchecked.
"""

import time

import testscenarios

from nova_delete_ext.record import attempt as attempt_mod
from nova_delete_ext.record import sysmeta
from nova_delete_ext.sinks import file as file_sink
from nova_delete_ext.sinks import log as log_sink
from nova_delete_ext.tests.functional import faults

load_tests = testscenarios.load_tests_apply_scenarios


class TestInMemoryPlaceRaises(faults.FaultMatrixBase):

    def test_reading_the_carried_facts(self):
        servers = self.prepare(('active', 'reclaimed', 'resumed'))
        fault = self.inject(sysmeta, 'take', faults.RAISE)
        self.assert_all_deleted(servers)
        self.assert_fault_hit(fault)

    def test_carrying_the_facts(self):
        servers = self.prepare(('active', 'resumed'))
        fault = self.inject(sysmeta, 'stash', faults.RAISE)
        self.assert_all_deleted(servers)
        self.assert_fault_hit(fault)

    def test_log_sink(self):
        # The record still reaches the other sinks.
        servers = self.prepare(('active', 'shelved_offloaded', 'building',
                                'reclaimed'))
        fault = self.inject(log_sink.LogSink, 'emit', faults.RAISE)
        self.assert_all_deleted(servers)
        self.assert_fault_hit(fault)


class TestRecordWrite(faults.FaultMatrixBase):

    scenarios = [(form, {'form': form}) for form in faults.FORMS]

    def test_file_sink(self):
        servers = self.prepare(('active', 'shelved_offloaded', 'building',
                                'reclaimed', 'resumed'))
        before = {s: len(self.delete_records(servers[s])) for s in servers}
        fault = self.inject(file_sink.FileSink, 'emit', self.form)
        started = time.monotonic()
        for state, server in servers.items():
            self.assertLess(self.delete(state, server), faults.BOUND)
            self.assert_gone(server)
        self.assertLess(time.monotonic() - started, faults.BOUND)
        self.assert_fault_hit(fault)
        if self.form == faults.HANG:
            # Written late, each once.
            fault.release.set()
            for state, server in servers.items():
                record = self.wait_for_record(server, before[state] + 1)
                self.assertEqual('deleted', record['outcome'], state)
            return
        # Lost, counted and logged; none written twice.
        for state, server in servers.items():
            self.assertEqual(before[state], len(self.delete_records(server)))
        lost = [m for m in self.errors.messages
                if 'for the file sink: Injected' in m]
        self.assertNotEqual([], lost, self.errors.messages)


class TestAttemptNotOpened(faults.FaultMatrixBase):
    """No attempt, so no policy: a protection is never silently off."""

    def no_attempt(self, side):
        """Opening an attempt on ``side`` (``api``, ``compute``) raises."""
        # Attempt(context, instance, delete_type, trigger, side, ...)
        return faults.Fault(attempt_mod.Attempt, '__init__', faults.RAISE,
                            only=lambda *args, **kwargs: args[5] == side)

    def test_nova_api_refuses(self):
        servers = self.prepare(('active', 'shelved_offloaded',
                                'error_no_host', 'building'))
        with self.no_attempt('api') as fault:
            for state, server in servers.items():
                message = self.assert_conflict(self.api.delete_server,
                                               server['id'])
                self.assertIn('could not check whether server %s may be '
                              'deleted' % server['id'], message)
                shown = self.api.get_server(server['id'])
                self.assertEqual(
                    (server['status'], server['OS-EXT-STS:task_state']),
                    (shown['status'], shown['OS-EXT-STS:task_state']))
                self.assertEqual([], self.delete_records(server))
            self.assert_fault_hit(fault)
        self.assert_all_deleted(servers)

    def test_compute_host_refuses(self):
        servers = self.prepare(('active', 'reclaimed', 'resumed'))
        before = {s: len(self.delete_records(servers[s])) for s in servers}
        with self.no_attempt('compute') as fault:
            for state, server in servers.items():
                self.assertLess(self.delete(state, server), faults.BOUND)
                status = 'SOFT_DELETED' if state == 'reclaimed' else 'ACTIVE'
                # Left deletable, as for any refusal on the host.
                self._wait_for_server_parameter(
                    server, {'OS-EXT-STS:task_state': None,
                             'status': status}, max_retries=60)
            self.assert_fault_hit(fault)
        for state, server in servers.items():
            self.assertEqual(before[state],
                             len(self.delete_records(server)), state)
            self.assert_deleted('reclaimed' if state == 'reclaimed'
                                else 'active', server)
