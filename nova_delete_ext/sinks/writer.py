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

"""A background writer: one thread and one bounded queue per sink.

The thread that serves a delete only puts the record in the queue, which
never blocks: when the queue is full the record is dropped and counted. So a
file system that stopped answering, a FIFO nobody reads or a message broker
that is down costs records, never a delete.

A record the sink fails to write with an error that may pass
(:attr:`~nova_delete_ext.sinks.Sink.retried_errors`: a FIFO whose reader is
not there yet, a disk full for a moment, an NFS error) stays at the head
of the queue and is tried again, after :data:`RETRY_FIRST_DELAY` seconds,
then twice as long each time up to :data:`RETRY_MAX_DELAY`, until it is
``retry_age`` seconds old (``[delete_ext]sink_retry_age``, counted from
when it was queued); the records behind it wait. It is lost, and counted,
only then, or at once for another error, or when the service stops.
Records queued meanwhile that are already that old get one try each, so
the queue drains as fast as the sink fails. Losses are logged at most once
per :data:`REPORT_INTERVAL` seconds, each time with the number lost since
the last report.

In Nova's eventlet mode the writer's thread is a green thread. A sink that
writes to a file system runs each write with
:func:`nova_delete_ext.deadline.call_native`, on a native thread of the
extension's own, so that a write blocked in the kernel holds that thread
and the sink's writer, never the other green threads. (Not a sink that
talks through eventlet's green sockets, such as the notification sink:
those must stay on green threads.)
"""

import queue
import threading
import time
import typing

from oslo_log import log as logging

LOG = logging.getLogger(__name__)

#: Seconds between two reports of lost records by one writer.
REPORT_INTERVAL = 60.0
#: Seconds before the first retry of a record that could not be written.
RETRY_FIRST_DELAY = 0.5
#: Seconds between two retries of a record, at most.
RETRY_MAX_DELAY = 30.0


#: Put in the queue by :meth:`Writer.stop`: the thread ends there.
_STOP = object()


class _Mark:
    """Put in the queue to learn when everything before it was handled."""

    def __init__(self):
        self.reached = threading.Event()


class _Queued(typing.NamedTuple):
    record: object
    #: ``time.monotonic()`` when it was queued.
    since: float


class Writer:
    """Feeds one sink from a bounded queue on a daemon thread.

    :param retry_age: seconds a record that failed with one of the sink's
        ``retried_errors`` is tried again, counted from when it was
        queued; 0 loses it at the first failure.
    """

    def __init__(self, name, sink, queue_size, retry_age=0.0):
        self.name = name
        self.sink = sink
        self.retry_age = retry_age
        self._queue = queue.Queue(maxsize=queue_size)
        self._thread = None
        self._start_lock = threading.Lock()
        self._stopping = False
        # Set when stopping: no more waiting between retries.
        self._wake = threading.Event()
        # Whether the sink failed since it last wrote (logged once).
        self._failing = False
        # Records lost since the last report, and when that was.
        self.lost = 0
        self._last_report = None

    def _ensure_started(self):
        # Started on first use, in the process that uses it: a WSGI server
        # that forks its workers after loading the application leaves no
        # thread behind in them.
        if self._thread is not None and self._thread.is_alive():
            return
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, daemon=True,
                    name='nova-delete-ext-sink-%s' % self.name)
                self._thread.start()

    def put(self, record):
        """Queue ``record``; drop and count it when the queue is full."""
        if self._stopping:
            self._lose('the service is stopping')
            return
        self._ensure_started()
        try:
            self._queue.put_nowait(_Queued(record, time.monotonic()))
        except queue.Full:
            self._lose('its queue of %d records is full'
                       % self._queue.maxsize)

    def _run(self):
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            if isinstance(item, _Mark):
                item.reached.set()
                continue
            self._write(item)

    def _write(self, item):
        """Emit ``item``'s record, tried again while it is young enough."""
        delay = RETRY_FIRST_DELAY
        while True:
            try:
                self.sink.emit(item.record)
            except Exception as exc:
                why = '%s: %s' % (type(exc).__name__, exc)
                left = self.retry_age - (time.monotonic() - item.since)
                retried = getattr(self.sink, 'retried_errors', ())
                if (self._stopping or left <= 0 or
                        not isinstance(exc, retried)):
                    self._lose(why)
                    return
                self._retrying(why)
                self._wake.wait(min(delay, left))
                delay = min(delay * 2, RETRY_MAX_DELAY)
            else:
                if self._failing:
                    self._failing = False
                    LOG.info('nova-delete-ext writes delete records to the '
                             '%s sink again.', self.name)
                return

    def _retrying(self, why):
        if not self._failing:
            self._failing = True
            LOG.warning('nova-delete-ext could not write a delete record '
                        'to the %(sink)s sink: %(why)s. It stays queued '
                        'and is tried again until it is %(age)g s old; '
                        'the records after it wait. Deletes are not '
                        'affected.', {'sink': self.name, 'why': why,
                                      'age': self.retry_age})

    def _lose(self, why):
        self.lost += 1
        now = time.monotonic()
        if (self._last_report is None or
                now - self._last_report >= REPORT_INTERVAL):
            LOG.error('nova-delete-ext lost %(count)d delete record(s) for '
                      'the %(sink)s sink: %(why)s. Deletes are not '
                      'affected.', {'count': self.lost, 'sink': self.name,
                                    'why': why})
            self.lost = 0
            self._last_report = now

    def flush(self, timeout):
        """Wait up to ``timeout`` s for what is queued; True if written."""
        if self._thread is None or not self._thread.is_alive():
            return self._queue.empty()
        mark = _Mark()
        try:
            self._queue.put(mark, timeout=timeout)
        except queue.Full:
            return False
        return mark.reached.wait(timeout)

    def stop(self, timeout):
        """Refuse new records and write the queued ones within ``timeout``.

        A record that fails then is lost at once, not tried again.
        """
        self._stopping = True
        self._wake.set()
        if not self.flush(timeout):
            LOG.warning('nova-delete-ext stopped with %d delete record(s) '
                        'not yet written by the %s sink.',
                        self._queue.qsize(), self.name)
            return
        try:
            self._queue.put_nowait(_STOP)
        except queue.Full:
            pass
