"""A background writer: one thread and one bounded queue per sink.

The thread that serves a delete only puts the record in the queue, which
never blocks: when the queue is full the record is dropped and counted. So a
file system that stopped answering, a FIFO nobody reads or a message broker
that is down costs records, never a delete. Losses and failures are logged
at most once per :data:`REPORT_INTERVAL` seconds, each time with the number
of records lost since the last report.

In Nova's eventlet mode the writer's thread is a green thread, and a write
that blocks in the kernel (an NFS mount that stopped answering) would block
every green thread of the process, the deletes with them. A sink that
writes to a file system hands the write to
:func:`nova_delete_ext.compat.on_native_thread`: a
native thread of eventlet's thread pool (``tpool``), as Nova's libvirt
driver does with its blocking calls, while the green thread waits without
holding the others. A hung write then holds one thread of that pool and
the sink's writer; the queue fills and records are lost and counted, as
above. (Not for a sink that talks through eventlet's green sockets, such
as the notification sink: those must stay on green threads.)
"""

import queue
import threading
import time

from oslo_log import log as logging

LOG = logging.getLogger(__name__)

#: Seconds between two reports of lost records by one writer.
REPORT_INTERVAL = 60.0


#: Put in the queue by :meth:`Writer.stop`: the thread ends there.
_STOP = object()


class _Mark:
    """Put in the queue to learn when everything before it was handled."""

    def __init__(self):
        self.reached = threading.Event()


class Writer:
    """Feeds one sink from a bounded queue on a daemon thread."""

    def __init__(self, name, sink, queue_size):
        self.name = name
        self.sink = sink
        self._queue = queue.Queue(maxsize=queue_size)
        self._thread = None
        self._start_lock = threading.Lock()
        self._stopping = False
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
            self._queue.put_nowait(record)
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
            try:
                self.sink.emit(item)
            except Exception as exc:
                self._lose('%s: %s' % (type(exc).__name__, exc))

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
        """Refuse new records and write the queued ones within ``timeout``."""
        self._stopping = True
        if not self.flush(timeout):
            LOG.warning('nova-delete-ext stopped with %d delete record(s) '
                        'not yet written by the %s sink.',
                        self._queue.qsize(), self.name)
            return
        try:
            self._queue.put_nowait(_STOP)
        except queue.Full:
            pass
