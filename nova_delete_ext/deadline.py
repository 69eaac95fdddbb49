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

"""Calls with a time limit, each on a thread of the extension's own.

Whatever the extension waits for can stop answering: a policy deciding on
a delete, a service a leak check asks, the virt driver or the file system
a capture writes to. :func:`call` runs one call on a thread of its own and
waits for it at most ``timeout`` seconds; a call that takes longer is given
up with :class:`CallTimedOut`. The one place where the extension does this.

A thread cannot be stopped from outside: a call given up goes on until it
returns by itself. Those still running are counted per ``service`` (a
policy's name, ``placement``, ``virt driver``, ``capture directory``...):
:func:`abandoned`. While :data:`MAX_ABANDONED` calls to one service are,
further calls to it fail at once with :class:`TooManyCallsHanging` instead
of leaving more threads behind. Per service, so that one that hangs never
starves another: ``protect`` keeps deciding while a capture directory
hangs.

Which threads. :func:`call` and :func:`start` use ``threading``, which
Nova's eventlet mode patches into green threads: right for what waits on
green sockets (service clients, a policy). A call that may block in the
kernel, such as a write to an NFS mount that stopped answering, would hold
every green thread of the process: :func:`call_native` runs it on a
native thread started for it, never on eventlet's ``tpool``, whose threads
Nova's libvirt driver needs for every libvirt call. In native threading
mode the two are the same.

A call made on the thread of a call to the same service (a listing of
many requests, run as one call) runs right there, with a time limit of its
own: the outer call is given up as soon as what runs on its thread, the
nested call or the outer itself since the last nested call ended, has run
longer than its limit. A listing of twelve requests then costs one thread,
not twelve.
"""

import collections
import contextlib
import contextvars
import sys
import threading
import time
import typing

from oslo_context import context as common_context
from oslo_log import log as logging

from nova_delete_ext import compat
from nova_delete_ext import exception

LOG = logging.getLogger(__name__)

#: Calls to one service given up but still running, at most; then further
#: calls to it fail at once.
MAX_ABANDONED = 8

# Native: the extension's native threads take it too. Held for a few
# statements that never yield, so a green thread never waits on it.
_lock = compat.native_threading().Lock()
# {service: calls given up and still running}
_abandoned = collections.Counter()
# The call whose thread this is, in that thread's context.
_running = contextvars.ContextVar('nova_delete_ext_deadline_call',
                                  default=None)


class CallTimedOut(exception.DeleteExtError):
    msg_fmt = '%(service)s did not answer %(call)s within %(timeout)s s'


class TooManyCallsHanging(CallTimedOut):
    msg_fmt = ('%(service)s not called (%(call)s): %(count)d earlier calls '
               'given up after %(timeout)s s are still waiting for an '
               'answer')


def abandoned(service=None):
    """Calls given up and still running: to ``service``, or in all."""
    with _lock:
        if service is None:
            return sum(_abandoned.values())
        return _abandoned[service]


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

    def __init__(self, step, func, args, kwargs, done):
        # The request context oslo.log names, as Nova's own spawn does.
        self.request_context = common_context.get_current()
        #: The module that asked for the call: the call's thread does not
        #: show it (the tests tell the leak checks' calls from Nova's).
        self.origin = _origin()
        self.step = step
        self.service = step.service
        self.func = func
        self.args = args
        self.kwargs = kwargs
        self.done = done
        self.value = None
        self.error = None
        self.given_up = False
        self.thread_id = None
        self._lock = compat.native_threading().Lock()

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
                with _lock:
                    _abandoned[self.service] -= 1

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
        try:
            if not self.wait():
                # What ran out of time: the call itself, or one made on
                # its thread.
                step = self.step
                if self.give_up(step):
                    raise step.timed_out()
        finally:
            close = getattr(self.done, 'close', None)
            if close is not None:
                close()
        if self.error is not None:
            raise self.error
        return self.value

    def give_up(self, step=None):
        """True if given up; False if it finished meanwhile."""
        step = step or self.step
        with self._lock:
            if self.done.is_set():
                return False
            self.given_up = True
        with _lock:
            _abandoned[self.service] += 1
            count = _abandoned[self.service]
        LOG.warning('nova-delete-ext gave up waiting for %(service)s '
                    '(%(call)s) after %(timeout)s s; %(count)d such calls '
                    'to it are still running (at most %(max)d, then '
                    'further calls to it fail at once).',
                    {'service': self.service, 'call': step.call,
                     'timeout': step.timeout, 'count': count,
                     'max': MAX_ABANDONED})
        return True


def _origin():
    frame = sys._getframe(1)
    while frame is not None and frame.f_globals.get('__name__') == __name__:
        frame = frame.f_back
    return frame.f_globals.get('__name__') if frame is not None else None


def _name(func):
    return getattr(func, '__name__', None) or repr(func)


def call(timeout, service, func, *args, **kwargs):
    """``func(*args, **kwargs)``, given up after ``timeout`` seconds.

    :param timeout: seconds; None or 0 calls ``func`` right here.
    :param service: what is called, for the error and the count:
        ``placement``, a policy's name...
    :returns: what ``func`` returns.
    :raises CallTimedOut: ``func``, or a call made on its thread, did not
        return in time; ``func`` goes on in the background (a call made on
        its thread from then on fails at once) and what it returns is
        dropped.
    :raises TooManyCallsHanging: too many calls to ``service`` given up
        still run; ``func`` was not called.
    :raises: what ``func`` raises.
    """
    if not timeout:
        return func(*args, **kwargs)
    outer = _running.get()
    if (outer is not None and outer.service == service and
            outer.thread_id == threading.get_ident()):
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
    :raises TooManyCallsHanging: as :func:`call`.
    """
    return _start(threading, timeout, service, func, args, kwargs)


def call_native(timeout, service, func, *args, **kwargs):
    """As :func:`call`, always on a native thread: for blocking I/O.

    ``func`` must not use what eventlet patched to wait for something
    (green locks, sockets, sleeps): it runs outside eventlet's hub.

    :param timeout: seconds, or None to wait without a limit (the caller
        is a green thread in eventlet mode: the others go on meanwhile;
        in native threading mode ``func`` then runs right here).
    """
    if timeout is None and not compat._eventlet_patched():
        return func(*args, **kwargs)
    return _start(compat.native_threading(), timeout, service, func, args,
                  kwargs, compat.native_event).result()


def _start(threads, timeout, service, func, args, kwargs, done=None):
    name = _name(func)
    with _lock:
        count = _abandoned[service]
    if count >= MAX_ABANDONED:
        raise TooManyCallsHanging(service=service, call=name, count=count,
                                  timeout=timeout)
    done = done() if done else threading.Event()
    pending = _Call(_Step(service, name, timeout, time.monotonic()), func,
                    args, kwargs, done)
    # The caller's context variables go along (the log context of oslo.log
    # and of the extension, the hooks' state).
    context = contextvars.copy_context()
    thread = threads.Thread(target=context.run, args=(pending.run,),
                            daemon=True, name='nova-delete-ext-call-%s' % name)
    try:
        thread.start()
    except BaseException:
        done.set()
        getattr(done, 'close', lambda: None)()
        raise
    return pending
