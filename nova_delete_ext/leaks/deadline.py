"""Calls with a deadline: a service that does not answer costs a timeout.

Nova's service clients wait as long as ``nova.conf`` tells them
(``[placement]timeout``, ``[neutron]timeout``... unset by default: for
ever). A check that waits for ever holds an after-delete worker for ever,
and a sweep never ends. :func:`call` runs one call on a thread of its own
and waits for it at most ``timeout`` seconds; a call that takes longer is
given up with :class:`CallTimedOut`.

A call made on the thread of another (a listing of many requests, run as
one call) runs right there, with a deadline of its own: the outer call is
given up as soon as the one running on its thread, the nested call or the
outer itself since the last nested call ended, has run longer than its
timeout. A listing of twelve requests then costs one thread, not twelve:
every hand-over between threads lets the other threads of the process
run first.

A thread cannot be stopped from outside: a call given up goes on until the
service or the client's own timeout ends it, and only then is its thread
gone. At most :data:`MAX_ABANDONED` such calls are left running; while
that many are, further calls fail at once instead of leaving more threads
behind.

``threading`` is what Nova's eventlet mode patches into green threads, so
this works the same in both of Nova's concurrency modes.
"""

import contextlib
import contextvars
import threading
import time
import typing

from oslo_context import context as common_context

from nova_delete_ext import exception

#: Calls given up but still running, at most; then calls fail at once.
MAX_ABANDONED = 8

_lock = threading.Lock()
_abandoned = 0
# The call whose thread this is, in that thread's context.
_running = contextvars.ContextVar('nova_delete_ext_deadline_call',
                                  default=None)


class CallTimedOut(exception.DeleteExtError):
    msg_fmt = '%(service)s did not answer %(call)s within %(timeout)s s'


class TooManyCallsHanging(CallTimedOut):
    msg_fmt = ('%(service)s not called (%(call)s): %(count)d earlier calls '
               'given up after %(timeout)s s are still waiting for an '
               'answer')


def abandoned():
    """How many calls were given up and are still running."""
    return _abandoned


def _release():
    global _abandoned
    with _lock:
        _abandoned -= 1


class _Step(typing.NamedTuple):
    """What runs now on a call's thread, and since when."""

    service: str
    call: str
    timeout: float | None
    started: float

    def left(self):
        """Seconds left, or None without a time limit."""
        if self.timeout is None:
            return None
        return self.started + self.timeout - time.monotonic()

    def timed_out(self):
        return CallTimedOut(service=self.service, call=self.call,
                            timeout=self.timeout)


class _Call:

    def __init__(self, step, func, args, kwargs):
        # The request context oslo.log names, as Nova's own spawn does.
        self.request_context = common_context.get_current()
        self.step = step
        self.func = func
        self.args = args
        self.kwargs = kwargs
        self.done = threading.Event()
        self.value = None
        self.error = None
        self.given_up = False
        self.thread_id = None
        self._lock = threading.Lock()

    def run(self):
        self.thread_id = threading.get_ident()
        _running.set(self)
        try:
            if self.request_context is not None:
                self.request_context.update_store()
            self.value = self.func(*self.args, **self.kwargs)
        except BaseException as exc:
            self.error = exc
        finally:
            with self._lock:
                self.done.set()
                given_up = self.given_up
            if given_up:
                _release()

    @contextlib.contextmanager
    def nested(self, step):
        """``step`` runs on this call's thread; then this call again."""
        outer = self.step
        self.step = step
        try:
            yield
        finally:
            self.step = outer._replace(started=time.monotonic())

    def wait(self):
        """True once done; False when what runs now is out of time."""
        while True:
            # One read: the thread replaces the step, never changes it.
            step = self.step
            left = step.left()
            if self.done.wait(None if left is None else max(left, 0)):
                return True
            if self.step is step:
                return False

    def result(self):
        """What the call returns, once it has; as :func:`call` says."""
        if not self.wait():
            # What ran out of time: the call itself, or one made on its
            # thread.
            step = self.step
            if self.give_up():
                raise step.timed_out()
        if self.error is not None:
            raise self.error
        return self.value

    def give_up(self):
        """True if given up; False if it finished meanwhile."""
        global _abandoned
        with self._lock:
            if self.done.is_set():
                return False
            self.given_up = True
        with _lock:
            _abandoned += 1
        return True


def _name(func):
    return getattr(func, '__name__', None) or repr(func)


def call(timeout, service, func, *args, **kwargs):
    """``func(*args, **kwargs)``, given up after ``timeout`` seconds.

    :param timeout: seconds, or None to call ``func`` right here.
    :param service: what is called, for the error: ``placement``...
    :returns: what ``func`` returns.
    :raises CallTimedOut: ``func``, or a call made on its thread, did not
        return in time; ``func`` goes on in the background (a call made on
        its thread from then on fails at once) and what it returns is
        dropped.
    :raises: what ``func`` raises.

    Called on the thread of another call, ``func`` runs right there, and
    that call waits for it at most ``timeout`` seconds.
    """
    if timeout is None:
        return func(*args, **kwargs)
    outer = _running.get()
    if outer is not None and outer.thread_id == threading.get_ident():
        step = _Step(service, _name(func), timeout, time.monotonic())
        if outer.given_up:
            # Nobody waits for this any more: end it at its next call.
            raise step.timed_out()
        with outer.nested(step):
            return func(*args, **kwargs)
    return start(timeout, service, func, *args, **kwargs).result()


def start(timeout, service, func, *args, **kwargs):
    """``func(*args, **kwargs)`` started on a thread of its own.

    :param timeout: seconds, or None for no time limit but those of the
        calls made on its thread.
    :returns: the running call; its ``result()`` waits for it as
        :func:`call` does.
    :raises TooManyCallsHanging: too many calls given up still run.
    """
    name = _name(func)
    if _abandoned >= MAX_ABANDONED:
        raise TooManyCallsHanging(service=service, call=name,
                                  count=_abandoned, timeout=timeout)
    pending = _Call(_Step(service, name, timeout, time.monotonic()), func,
                    args, kwargs)
    # The caller's context variables go along (the log context of oslo.log
    # and of the extension).
    context = contextvars.copy_context()
    thread = threading.Thread(target=context.run, args=(pending.run,),
                              daemon=True,
                              name='nova-delete-ext-call-%s' % name)
    thread.start()
    return pending
