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

"""Fault injection: each service the checks call fails, or never answers.

``verify`` calls placement, Neutron, Cinder and Glance after a delete, on
the extension's after-delete workers, each call with
``[delete_ext_verify]timeout`` (1 s here). Each service's call gets both
faults, for the checks' calls only (Nova's own calls of the same client
go through): the delete is done and recorded as without the extension,
and its check record says what could not be verified, and why.

The deletes come from the states whose delete releases what that service
holds: Cinder only from a server with a volume attached, Glance only from
a shelved one.
"""

import threading
import time

from nova.scheduler.client import report
from nova.volume import cinder
import testscenarios

from nova_delete_ext.record import sysmeta
from nova_delete_ext.sinks import file as file_sink
from nova_delete_ext.tests.functional import example_policy
from nova_delete_ext.tests.functional import faults

load_tests = testscenarios.load_tests_apply_scenarios

#: (service, the call the checks make: test -> (owner, name), states).
SERVICES = [
    ('placement',
     lambda test: (report.SchedulerReportClient, 'get_allocs_for_consumer'),
     ('active', 'error_no_host', 'building', 'reclaimed', 'resumed')),
    ('neutron', lambda test: (test.neutron, 'list_ports'),
     ('active', 'shelved_offloaded', 'error_no_host', 'reclaimed')),
    # The CinderFixture's stand-in for Nova's client.
    ('cinder', lambda test: (cinder.API, 'attachment_get_all'), ('volume',)),
    ('glance', lambda test: (test.glance, 'show'), ('shelved_offloaded',)),
]


class TestServiceCall(faults.FaultMatrixBase):

    scenarios = testscenarios.multiply_scenarios(
        [(name, {'call': call, 'states': states})
         for name, call, states in SERVICES],
        [(form, {'form': form}) for form in faults.FORMS])

    def test_delete(self):
        servers = self.prepare()
        owner, name = self.call(self)
        fault = self.inject(owner, name, self.form, only=faults.by_the_checks)
        self.assert_all_deleted(servers)
        why = 'timeout' if self.form == faults.HANG else 'Injected'
        for state, server in servers.items():
            check = self.check_record(server)
            self.assertIn('verify:unverified(%s)' % why, check['decisions'],
                          (state, check))
        self.assert_fault_hit(fault)


class TestConcurrentDeletesUnderFaults(faults.FaultMatrixBase):

    COUNT = 20

    def _setup_services(self):
        # Room for twenty servers on the one fake compute host.
        self.flags(cpu_allocation_ratio=16.0)
        self.flags(instances=-1, cores=-1, ram=-1, group='quota')
        super()._setup_services()

    def test_twenty_deletes_at_once(self):
        flavor = self._create_flavor(memory_mb=64, vcpu=1, disk=1)
        body = self._build_server(flavor_id=flavor, networks='none')
        body.update(min_count=self.COUNT, max_count=self.COUNT)
        self.api.post_server({'server': body})
        for _ in range(120):
            servers = [s for s in self.api.get_servers()
                       if s['status'] == 'ACTIVE']
            if len(servers) == self.COUNT:
                break
            time.sleep(0.5)
        self.assertEqual(self.COUNT, len(servers))
        # A policy that hangs in nova-api, facts that cannot be read on
        # the compute host, a record file that hangs, a placement that
        # does not answer the checks.
        hung = [self.inject(example_policy.NameGuard, 'on_request',
                            faults.HANG),
                self.inject(file_sink.FileSink, 'emit', faults.HANG),
                self.inject(report.SchedulerReportClient,
                            'get_allocs_for_consumer', faults.HANG,
                            only=faults.by_the_checks)]
        self.inject(sysmeta, 'take', faults.RAISE)
        took, errors = {}, []

        def delete(server):
            started = time.monotonic()
            try:
                self.api.delete_server(server['id'])
            except Exception as exc:  # reported below, in the test
                errors.append(exc)
            took[server['id']] = time.monotonic() - started

        threads = [threading.Thread(target=delete, args=(s,))
                   for s in servers]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(faults.HANG_SECONDS)
        self.assertEqual([], errors)
        # Nova's harness answers a DELETE once the compute host is done,
        # and in eventlet mode the twenty deletes' own work shares one
        # thread: the last answer waits for the others' work. A hang would
        # still show: it holds a delete HANG_SECONDS.
        bound = faults.HANG_SECONDS / 2
        self.assertLess(max(took.values()), bound, took)
        for server in servers:
            self.assert_gone(server)
        self.assertLess(time.monotonic() - started, bound)
        for fault in hung:
            fault.release.set()
        for server in servers:
            record = self.wait_for_record(server)
            self.assertEqual('deleted', record['outcome'])
