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

"""The extension's own workers for the work after a delete.

The policies that act after a delete (``verify``, any plugin's
``after_delete``) call services that may be slow or stuck. They run here:
``[delete_ext]after_delete_workers`` daemon threads fed by a queue of at
most ``[delete_ext]after_delete_queue_size`` jobs, never on Nova's shared
thread pools and never on the thread that serves the delete.
:meth:`Executor.submit` never blocks: when the queue is full the job is
refused and the caller records that it was skipped.

``threading`` and ``queue`` are what Nova's eventlet mode patches into
green threads and green queues, so the same code serves both of Nova's
concurrency modes.
"""

import atexit
import queue
import threading

from oslo_log import log as logging

from nova_delete_ext import conf as ext_conf

LOG = logging.getLogger(__name__)

#: Put in the queue by :meth:`Executor.stop`, once per worker.
_STOP = object()


class Executor:
    """A fixed number of daemon workers and a bounded queue of jobs."""

    def __init__(self, workers, queue_size):
        self.workers = workers
        self.queue_size = queue_size
        self._queue = queue.Queue(maxsize=queue_size)
        self._threads = []
        self._start_lock = threading.Lock()
        #: Set by :meth:`stop`: every job is refused from then on.
        self.stopping = False
        # Jobs queued or running, and a condition to wait for none.
        self._pending = 0
        self._idle = threading.Condition()

    def _ensure_started(self):
        # Started on first use, in the process that uses it: a service that
        # forks its workers after loading the extension has no thread left
        # in them.
        if len(self._alive()) == self.workers:
            return
        with self._start_lock:
            self._threads = self._alive()
            while len(self._threads) < self.workers:
                thread = threading.Thread(
                    target=self._run, daemon=True,
                    name='nova-delete-ext-after-%d' % len(self._threads))
                thread.start()
                self._threads.append(thread)

    def _alive(self):
        return [t for t in self._threads if t.is_alive()]

    def submit(self, job):
        """Queue ``job`` (a callable); False if refused, never waits.

        A job is refused when the queue is full or the executor stopping.
        """
        if self.stopping:
            return False
        self._ensure_started()
        with self._idle:
            self._pending += 1
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            self._done()
            return False
        return True

    def _done(self):
        with self._idle:
            self._pending -= 1
            if self._pending == 0:
                self._idle.notify_all()

    def _run(self):
        while True:
            job = self._queue.get()
            if job is _STOP:
                return
            try:
                job()
            except Exception:
                LOG.exception('nova-delete-ext work after a delete failed.')
            finally:
                self._done()

    @property
    def pending(self):
        """Jobs queued or running."""
        return self._pending

    def flush(self, timeout):
        """Wait up to ``timeout`` s until no job is left; True if none."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def stop(self, timeout):
        """Refuse new jobs; wait up to ``timeout`` s for those queued."""
        self.stopping = True
        if not self.flush(timeout):
            LOG.warning('nova-delete-ext stopped with %d check(s) after '
                        'deletes not done.', self._pending)
            return
        for _ in self._alive():
            try:
                self._queue.put_nowait(_STOP)
            except queue.Full:
                break


_ACTIVE = None
_ACTIVE_LOCK = threading.Lock()
_STOP_AT_EXIT = []


def active():
    """This process's executor, sized from ``nova.conf`` on first use.

    When the process exits, the checks queued or running are given
    ``[delete_ext]sink_stop_timeout`` seconds to finish and write their
    records (before the sinks stop, which registered their own exit
    handler earlier).
    """
    global _ACTIVE
    if _ACTIVE is None:
        with _ACTIVE_LOCK:
            if _ACTIVE is None:
                opts = ext_conf.CONF.delete_ext
                _ACTIVE = Executor(opts.after_delete_workers,
                                   opts.after_delete_queue_size)
                if not _STOP_AT_EXIT:
                    _STOP_AT_EXIT.append(True)
                    atexit.register(_stop_active)
    return _ACTIVE


def _stop_active():
    if _ACTIVE is not None:
        _ACTIVE.stop(ext_conf.CONF.delete_ext.sink_stop_timeout)


def set_active(executor):
    """Make ``executor`` the active one; return the one it replaces."""
    global _ACTIVE
    with _ACTIVE_LOCK:
        previous, _ACTIVE = _ACTIVE, executor
    return previous


def flush(timeout=10.0):
    """Wait until the work queued after deletes is done; True if it is."""
    return _ACTIVE is None or _ACTIVE.flush(timeout)
