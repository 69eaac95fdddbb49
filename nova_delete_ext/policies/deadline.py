"""Run a policy's moment on the delete path within a time limit.

``on_request`` and ``before_destroy`` run while Nova waits: a policy that
hangs there (a service that stopped answering, a lock never released)
would hang the delete. Each call runs on a thread of its own, and the
delete waits for it at most ``[delete_ext]policy_timeout`` seconds; a call
still running then is left to finish alone and counts as a failure of the
policy (a fail-closed policy refuses the delete, another is skipped). At
most :data:`MAX_RUNNING` calls run at once in a process, so policies that
hang on every delete cannot pile up threads: past that, a call fails at
once.
"""

import contextvars
import threading

from nova_delete_ext import exception

#: Policy calls that may run at once in a process, hung ones included.
MAX_RUNNING = 32

_SLOTS = threading.BoundedSemaphore(MAX_RUNNING)


class TimedOut(exception.DeleteExtError):
    msg_fmt = 'no answer within %(seconds)s s'


class Busy(exception.DeleteExtError):
    msg_fmt = ('%(count)d earlier policy calls are still running; not '
               'starting another')


def call(func, arg, timeout):
    """``func(arg)``, or :class:`TimedOut` after ``timeout`` seconds.

    :param timeout: seconds; 0 or None runs ``func`` on the caller's
        thread, without a limit.
    :raises: what ``func`` raises, :class:`TimedOut` or :class:`Busy`.
    """
    if not timeout:
        return func(arg)
    slots = _SLOTS  # the one released, whatever happens to the global
    if not slots.acquire(blocking=False):
        raise Busy(count=MAX_RUNNING)
    done = threading.Event()
    outcome = {}
    # The caller's context variables go along (hooks keep state in them).
    context = contextvars.copy_context()

    def run():
        try:
            outcome['result'] = context.run(func, arg)
        except BaseException as exc:
            outcome['error'] = exc
        finally:
            slots.release()
            done.set()

    threading.Thread(target=run, daemon=True,
                     name='nova-delete-ext-policy').start()
    if not done.wait(timeout):
        raise TimedOut(seconds=timeout)
    if 'error' in outcome:
        raise outcome['error']
    return outcome['result']
