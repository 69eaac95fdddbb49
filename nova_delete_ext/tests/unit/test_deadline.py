"""Policy moments on the delete path run within a time limit."""

import contextvars
import sys
import threading
import time

from nova_delete_ext.policies import deadline
from nova_delete_ext.tests.unit import base

_VAR = contextvars.ContextVar('test_deadline_var', default=None)


class CallTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.release = threading.Event()
        self.addCleanup(self.release.set)

    def hang(self, arg):
        self.release.wait(30)
        return arg

    def test_answer_within_the_limit(self):
        self.assertEqual(3, deadline.call(lambda x: x + 1, 2, 5.0))

    def test_error_is_raised_to_the_caller(self):
        self.assertRaises(ZeroDivisionError, deadline.call,
                          lambda x: 1 / x, 0, 5.0)

    def test_hang_times_out(self):
        started = time.monotonic()
        exc = self.assertRaises(deadline.TimedOut, deadline.call,
                                self.hang, 1, 0.2)
        self.assertLess(time.monotonic() - started, 5.0)
        self.assertEqual('no answer within 0.2 s', str(exc))

    def test_no_limit_runs_on_the_caller_thread(self):
        caller = threading.current_thread()
        self.assertIs(caller, deadline.call(
            lambda _: threading.current_thread(), None, 0))

    def test_context_variables_go_along(self):
        _VAR.set('from the hook')
        self.assertEqual('from the hook',
                         deadline.call(lambda _: _VAR.get(), None, 5.0))

    def test_hung_calls_cannot_pile_up(self):
        patcher = sys.modules.get('eventlet.patcher')
        if patcher is not None and patcher.is_monkey_patched('thread'):
            # Something imported earlier in this test process (Nova 31
            # itself, or nova.cmd) patched eventlet in: green and native
            # threading primitives are mixed here, unlike in a service.
            self.skipTest('eventlet patched this test process')
        self.useFixture(base.fixtures.MonkeyPatch(
            'nova_delete_ext.policies.deadline.MAX_RUNNING', 2))
        key = self.id()
        for _ in range(2):
            self.assertRaises(deadline.TimedOut, deadline.call, self.hang,
                              1, 0.05, key=key)
        started = time.monotonic()
        self.assertRaises(deadline.Busy, deadline.call, self.hang, 1, 5.0,
                          key=key)
        self.assertLess(time.monotonic() - started, 1.0)
        # Another policy's calls are not held up by these.
        self.assertEqual(2, deadline.call(lambda x: x + 1, 1, 5.0,
                                          key=key + '-other'))
        # Once the hung calls end, their slots are free again.
        self.release.set()
        deadline_at = time.monotonic() + 10
        while time.monotonic() < deadline_at:
            try:
                self.assertEqual(1, deadline.call(self.hang, 1, 5.0,
                                                  key=key))
                break
            except deadline.Busy:
                time.sleep(0.01)
        else:
            self.fail('slots not released')
