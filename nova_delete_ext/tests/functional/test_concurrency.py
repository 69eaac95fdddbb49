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

"""Deletes running at the same time keep to their own records.

The hooks keep the delete under way in ContextVars (``attempt.API_ATTEMPT``,
``COMPUTE_TRIGGER``, ``REDIRECTED``). They are per green thread under
eventlet, the only mode of Nova 31, which monkey patches as
``nova.monkey_patch`` is imported, and per thread in native threading mode.
These tests run in the mode the suite runs in.
"""

import os
import sys
import threading
import time

from oslotest import base as oslotest_base

from nova_delete_ext.record import attempt as attempt_mod
from nova_delete_ext.tests.functional import base
from nova_delete_ext.tests.functional import scenarios
from nova_delete_ext.tests import nova_spawn

EVENTLET = os.environ.get('OS_NOVA_DISABLE_EVENTLET_PATCHING', '').lower(
) not in ('1', 'true', 'yes')


def _wait(handle):
    return nova_spawn.wait(handle, 60)


class TestContextVarsPerThread(oslotest_base.BaseTestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(base.isolated_executor(self.id()))

    def test_mode_is_the_one_asked_for(self):
        # Never import eventlet here: in threading mode Nova forbids it.
        patcher = sys.modules.get('eventlet.patcher')
        self.assertEqual(EVENTLET, patcher is not None and
                         patcher.is_monkey_patched('thread'))

    def test_each_spawned_delete_sees_its_own(self):
        count = 4
        barrier = threading.Barrier(count, timeout=60)

        def run(n):
            tokens = [attempt_mod.API_ATTEMPT.set(n),
                      attempt_mod.COMPUTE_TRIGGER.set('t%d' % n),
                      attempt_mod.REDIRECTED.set([n])]
            try:
                # Every thread has set its own before any of them reads.
                barrier.wait()
                time.sleep(0.01)
                return (attempt_mod.API_ATTEMPT.get(),
                        attempt_mod.COMPUTE_TRIGGER.get(),
                        attempt_mod.REDIRECTED.get())
            finally:
                for var, token in zip((attempt_mod.API_ATTEMPT,
                                       attempt_mod.COMPUTE_TRIGGER,
                                       attempt_mod.REDIRECTED), tokens):
                    var.reset(token)

        handles = [nova_spawn.spawn(run, n) for n in range(count)]
        self.assertEqual([(n, 't%d' % n, [n]) for n in range(count)],
                         [_wait(h) for h in handles])
        self.assertIsNone(attempt_mod.API_ATTEMPT.get())


class TestConcurrentDeletes(scenarios.ServerStates, base.DeleteExtTestBase):

    def test_two_deletes_at_once(self):
        servers = [self.server_active(), self.server_stopped()]
        errors = []

        def delete(server):
            try:
                self.api.delete_server(server['id'])
            except Exception as exc:  # reported below, in the test
                errors.append(exc)

        threads = [threading.Thread(target=delete, args=(s,))
                   for s in servers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        self.assertEqual([], errors)
        request_ids = set()
        for server, vm_state in zip(servers, ('active', 'stopped')):
            self.assert_gone(server)
            record = self.only_record(server)
            self.assertEqual(vm_state, record['vm_state'], record)
            self.assertEqual('deleted', record['outcome'], record)
            request_ids.add(record['request_id'])
        self.assertEqual(2, len(request_ids))
