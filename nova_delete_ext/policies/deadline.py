"""Run a policy's moment on the delete path within a time limit.

``on_request`` and ``before_destroy`` run while Nova waits: a policy that
hangs there (a service that stopped answering, a lock never released)
would hang the delete. Each call runs on a thread of its own, and the
delete waits for it at most ``[delete_ext]policy_timeout`` seconds; a call
still running then is left to finish alone and counts as a failure of the
policy (a fail-closed policy refuses the delete, another is skipped). At
most :data:`MAX_RUNNING` calls of one policy run at once in a process, so a
policy that hangs on every delete cannot pile up threads: past that, its
calls fail at once. The count is per policy: one that hangs never starves
the others (a healthy ``protect`` keeps deciding while another policy's
calls are stuck).
"""

import contextvars
import threading

from nova_delete_ext import exception

#: Calls of one policy that may run at once in a process, hung ones
#: included.
MAX_RUNNING = 32

# {policy name: semaphore of MAX_RUNNING}
_SLOTS = {}
_SLOTS_LOCK = threading.Lock()


class TimedOut(exception.DeleteExtError):
    msg_fmt = 'no answer within %(seconds)s s'


class Busy(exception.DeleteExtError):
    msg_fmt = ('%(count)d earlier calls of this policy are still running; '
               'not starting another')


def _slots(key):
    with _SLOTS_LOCK:
        slots = _SLOTS.get(key)
        if slots is None:
            slots = _SLOTS[key] = threading.BoundedSemaphore(MAX_RUNNING)
        return slots


def call(func, arg, timeout, key=None):
    """``func(arg)``, or :class:`TimedOut` after ``timeout`` seconds.

    :param timeout: seconds; 0 or None runs ``func`` on the caller's
        thread, without a limit.
    :param key: whose calls these are (the policy's name): each key has its
        own :data:`MAX_RUNNING`.
    :raises: what ``func`` raises, :class:`TimedOut` or :class:`Busy`.
    """
    if not timeout:
        return func(arg)
    slots = _slots(key)
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
