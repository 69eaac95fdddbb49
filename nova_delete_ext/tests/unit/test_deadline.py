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

"""The extension's calls with a time limit: :mod:`nova_delete_ext.deadline`."""

import contextvars
import logging
import threading
import time

from nova_delete_ext import compat
from nova_delete_ext import deadline
from nova_delete_ext.tests.unit import base
from nova_delete_ext.tests.unit import test_leaks

_VAR = contextvars.ContextVar('test_deadline_var', default=None)


class CallTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.release = threading.Event()
        self.addCleanup(self.release.set)

    def hang(self):
        self.release.wait(10)
        return 'late'

    def test_answer_in_time(self):
        self.assertEqual(3, deadline.call(1.0, 'x', lambda a, b=0: a + b,
                                          1, b=2))

    def test_error_raised(self):
        self.assertRaises(ValueError, deadline.call, 1.0, 'x',
                          int, 'not a number')

    def test_no_timeout_calls_here(self):
        self.assertEqual(threading.current_thread().name,
                         deadline.call(None, 'x', lambda: threading.
                                       current_thread().name))

    def test_given_up(self):
        started = time.monotonic()
        error = self.assertRaises(deadline.CallTimedOut, deadline.call, 0.05,
                                  'glance', self.hang)
        self.assertLess(time.monotonic() - started, 5)
        self.assertEqual('glance did not answer hang within 0.05 s',
                         str(error))
        self.assertEqual(1, deadline.abandoned())
        self.release.set()
        test_leaks.wait_until_none_abandoned(self)

    def test_calls_fail_at_once_while_too_many_hang(self):
        self.useFixture(base.fixtures.MonkeyPatch(
            'nova_delete_ext.deadline.MAX_ABANDONED', 2))
        for _ in range(2):
            self.assertRaises(deadline.CallTimedOut, deadline.call, 0.01,
                              'neutron', self.hang)
        called = []
        error = self.assertRaises(deadline.TooManyCallsHanging,
                                  deadline.call, 10, 'neutron',
                                  called.append, 1)
        self.assertEqual([], called)
        self.assertIn('2 earlier calls', str(error))
        self.release.set()
        test_leaks.wait_until_none_abandoned(self)
        self.assertEqual('ok', deadline.call(1.0, 'neutron', lambda: 'ok'))

    def test_calls_on_a_call_thread_run_there(self):
        def listing():
            return [deadline.call(1.0, 'placement', threading.get_ident)
                    for _ in range(3)], threading.get_ident()

        def threads_started():
            return len([thread for thread in threading.enumerate()
                        if thread.name.startswith('nova-delete-ext-call')])

        before = threads_started()
        inner, outer = deadline.call(1.0, 'placement', listing)
        self.assertEqual([outer] * 3, inner)
        self.assertNotEqual(threading.get_ident(), outer)
        self.assertLessEqual(threads_started(), before + 1)

    def test_each_call_on_a_call_thread_has_its_own_time_limit(self):
        # Together they take longer than one call's limit, each less.
        def listing():
            for _ in range(4):
                deadline.call(0.5, 'placement', time.sleep, 0.2)
            return 'listed'

        self.assertEqual('listed', deadline.call(0.5, 'placement', listing))

    def test_a_call_on_a_call_thread_that_hangs_gives_the_call_up(self):
        def listing():
            deadline.call(5.0, 'placement', lambda: None)
            deadline.call(0.05, 'placement', self.hang)

        started = time.monotonic()
        error = self.assertRaises(deadline.CallTimedOut, deadline.call,
                                  5.0, 'placement', listing)
        self.assertLess(time.monotonic() - started, 4)
        # The call that hung is named, with its own limit.
        self.assertEqual('placement did not answer hang within 0.05 s',
                         str(error))
        self.release.set()
        test_leaks.wait_until_none_abandoned(self)

    def test_a_call_given_up_makes_no_further_call(self):
        made = []

        def listing():
            try:
                deadline.call(0.05, 'placement', self.hang)
            except deadline.CallTimedOut:
                pass  # the listing would go on, were it not given up
            made.append(deadline.call(5.0, 'placement', lambda: 'next'))

        self.assertRaises(deadline.CallTimedOut, deadline.call, 5.0,
                          'placement', listing)
        self.release.set()
        test_leaks.wait_until_none_abandoned(self)
        self.assertEqual([], made)

    def test_the_outer_call_has_its_time_limit_between_calls(self):
        def listing():
            deadline.call(5.0, 'placement', lambda: None)
            self.hang()

        error = self.assertRaises(deadline.CallTimedOut, deadline.call,
                                  0.05, 'placement', listing)
        self.assertEqual('placement did not answer listing within 0.05 s',
                         str(error))
        self.release.set()
        test_leaks.wait_until_none_abandoned(self)


class ContextTest(base.TestCase):

    def test_context_variables_go_along(self):
        _VAR.set('from the hook')
        self.assertEqual('from the hook',
                         deadline.call(5.0, 'x', _VAR.get))
        self.assertEqual('from the hook',
                         deadline.call_native(5.0, 'x', _VAR.get))

    def test_zero_is_no_limit_and_runs_here(self):
        self.assertEqual(threading.get_ident(),
                         deadline.call(0, 'x', threading.get_ident))


class CapTest(base.TestCase):
    """One cap and one count of the calls given up, per service."""

    def setUp(self):
        super().setUp()
        self.release = threading.Event()
        self.addCleanup(self.release.set)
        self.useFixture(base.fixtures.MonkeyPatch(
            'nova_delete_ext.deadline.MAX_ABANDONED', 2))
        # A service of this test's own: other tests' calls never count.
        self.service = self.id()

    def hang(self):
        # Polled, not waited for: the same call hangs on a green thread
        # (call) and on a native one (call_native), and under eventlet's
        # patching a native thread waiting on the test's green Event is
        # woken through the main thread's hub, which cannot switch to it.
        until = time.monotonic() + 30
        while not self.release.is_set() and time.monotonic() < until:
            time.sleep(0.01)
        return 'late'

    def wait_for_count(self, service, count):
        for _ in range(500):
            if deadline.abandoned(service) == count:
                return
            time.sleep(0.01)
        self.fail('%d calls to %s still given up, not %d' % (
            deadline.abandoned(service), service, count))

    def test_calls_given_up_are_counted_until_they_end(self):
        total = deadline.abandoned()
        self.assertRaises(deadline.CallTimedOut, deadline.call, 0.05,
                          self.service, self.hang)
        self.assertRaises(deadline.CallTimedOut, deadline.call_native, 0.05,
                          self.service, self.hang)
        self.assertEqual(2, deadline.abandoned(self.service))
        self.assertLessEqual(total + 2, deadline.abandoned())
        self.release.set()
        self.wait_for_count(self.service, 0)

    def test_at_the_cap_calls_fail_at_once_native_ones_too(self):
        for call in (deadline.call, deadline.call_native):
            self.assertRaises(deadline.CallTimedOut, call, 0.05,
                              self.service, self.hang)
        started = time.monotonic()
        called = []
        for call in (deadline.call, deadline.call_native):
            error = self.assertRaises(deadline.TooManyCallsHanging, call,
                                      5.0, self.service, called.append, 1)
            self.assertIn('2 earlier calls given up after 5.0 s',
                          str(error))
        self.assertEqual([], called)
        self.assertLess(time.monotonic() - started, 1.0)
        # Another service's calls are not held up by these.
        self.assertEqual(2, deadline.call_native(5.0, self.service + '-2',
                                                 lambda: 2))
        # Once the calls given up end, calls are made again.
        self.release.set()
        self.wait_for_count(self.service, 0)
        self.assertEqual('late', deadline.call_native(5.0, self.service,
                                                      self.hang))

    def test_a_call_that_ends_in_time_is_not_counted(self):
        self.assertEqual(1, deadline.call_native(5.0, self.service,
                                                 lambda: 1))
        self.assertRaises(ValueError, deadline.call_native, 5.0,
                          self.service, int, 'x')
        self.assertEqual(0, deadline.abandoned(self.service))

    def test_giving_up_is_logged_with_the_count(self):
        self.assertRaises(deadline.CallTimedOut, deadline.call_native, 0.05,
                          self.service, self.hang)
        message = self.logs.at(logging.WARNING)[0].getMessage()
        self.assertIn('gave up waiting for %s (hang) after 0.05 s; 1 such '
                      'calls' % self.service, message)


class NativeTest(base.TestCase):

    def test_without_a_limit_off_eventlets_threads_only(self):
        # Under eventlet a call blocked in the kernel would hold every
        # green thread; in native threading mode the caller's thread is
        # as good as a new one.
        self.assertEqual(compat._eventlet_patched(),
                         threading.get_ident() != deadline.call_native(
                             None, 'x', threading.get_ident))

    def test_with_a_limit_on_another_thread(self):
        self.assertNotEqual(threading.get_ident(),
                            deadline.call_native(5.0, 'x',
                                                 threading.get_ident))

    def test_arguments_and_errors(self):
        self.assertEqual(3, deadline.call_native(
            5.0, 'x', lambda a, b=0: a + b, 1, b=2))

        def write():
            time.sleep(0.5)

        error = self.assertRaises(deadline.CallTimedOut,
                                  deadline.call_native, 0.05, 'disk', write)
        self.assertEqual('disk did not answer write within 0.05 s',
                         str(error))
