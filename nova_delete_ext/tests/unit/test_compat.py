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

"""nova_delete_ext.compat, and Nova's own spawn, on the installed Nova.

The unit tests run without eventlet monkey patching, so on Nova 32 and
later Nova's own spawn runs in native threading mode here: on Nova 32 and
33, whose functional harness does not run in that mode, this is where the
hooks' context variables are tested in it.
"""

import contextvars
import threading

import fixtures
from nova import context as nova_context
import nova.utils
from oslo_context import context as common_context
from oslo_context import fixture as context_fixture

from nova_delete_ext import compat
from nova_delete_ext.record import attempt as attempt_mod
from nova_delete_ext.tests import nova_spawn
from nova_delete_ext.tests.unit import base

#: Nova 32 (2025.2) and later have a native threading mode.
HAS_THREADING_MODE = hasattr(nova.utils, 'concurrency_mode_threading')


def _wait(handle):
    return nova_spawn.wait(handle, 10)


class ReleaseTest(base.TestCase):

    def test_installed_nova_is_one_tested(self):
        series, version = compat.tested_series(compat.nova_version())
        self.assertEqual(compat.nova_version().split('.')[0],
                         version.split('.')[0])
        self.assertRegex(series, r'^20\d\d\.[12]$')

    def test_series_by_major_version(self):
        self.assertEqual(('2025.1', '31.3.1'), compat.tested_series('31.0.0'))
        self.assertIsNone(compat.tested_series('35.0.0.0rc1'))
        self.assertIsNone(compat.tested_series('unknown'))


class NativeThreadTest(base.TestCase):

    def test_native_threads_and_events_in_either_mode(self):
        # Nova 31 patches eventlet as it is imported, unit tests included:
        # there the module eventlet patched is the native one.
        threads = compat.native_threading()
        self.assertEqual(compat._eventlet_patched(),
                         threads is not threading)
        done = compat.native_event()
        seen = []

        def run():
            seen.append(threads.get_ident())
            done.set()

        threads.Thread(target=run).start()
        self.assertTrue(done.wait(10))
        self.assertTrue(done.is_set())
        done.close()
        self.assertNotEqual([threading.get_ident()], seen)


class SpawnTest(base.TestCase):

    def test_runs_the_function_with_its_arguments(self):
        self.assertEqual((1, 2), _wait(nova_spawn.spawn(
            lambda a, b=None: (a, b), 1, b=2)))

    def test_request_context_goes_along(self):
        self.useFixture(context_fixture.ClearRequestContext())
        context = nova_context.RequestContext('user', 'project',
                                              is_admin=False, overwrite=True)
        seen = _wait(nova_spawn.spawn(common_context.get_current))
        self.assertEqual(context.request_id, seen.request_id)

    def test_hook_context_stays_with_the_delete(self):
        # What the hooks keep in ContextVars is not seen by background work:
        # it gets what it needs as arguments.
        token = attempt_mod.API_ATTEMPT.set('the delete')
        self.addCleanup(attempt_mod.API_ATTEMPT.reset, token)
        self.assertIsNone(_wait(nova_spawn.spawn(attempt_mod.API_ATTEMPT.get)))
        self.assertEqual('the delete', attempt_mod.API_ATTEMPT.get())

    def test_calls_novas_spawn_at_each_call(self):
        # Whatever stubs Nova's spawn (as Nova's SpawnIsSynchronousFixture
        # does) applies to the extension too.
        target = getattr(nova_spawn._spawner, '__name__')
        stub = self.useFixture(fixtures.MockPatch(
            target + '.spawn', return_value='stubbed')).mock
        self.assertEqual('stubbed', nova_spawn.spawn(len, 'x'))
        stub.assert_called_once_with(len, 'x')

    def _threading_mode_only(self):
        if not HAS_THREADING_MODE:
            self.skipTest('Nova 31 (2025.1) has no native threading mode')
        if compat._eventlet_patched():
            # On Nova 32 and 33 a test that ran earlier in this process and
            # imported Nova's test package patched eventlet in.
            self.skipTest('eventlet patched this test process')

    def test_native_thread_in_threading_mode(self):
        self._threading_mode_only()
        self.assertTrue(nova.utils.concurrency_mode_threading())
        caller = threading.get_ident()
        self.assertNotEqual(caller,
                            _wait(nova_spawn.spawn(threading.get_ident)))

    def test_contextvars_per_thread_in_threading_mode(self):
        self._threading_mode_only()
        var = contextvars.ContextVar('nova_delete_ext_test', default=None)
        started = threading.Barrier(2, timeout=10)

        def run(name):
            var.set(name)
            started.wait()
            return var.get()

        first = nova_spawn.spawn(run, 'first')
        second = nova_spawn.spawn(run, 'second')
        self.assertEqual(['first', 'second'], [_wait(first), _wait(second)])
        self.assertIsNone(var.get())
