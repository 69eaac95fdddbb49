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

"""Tests of :mod:`nova_delete_ext.sinks`: loading, writers, each sink."""

import logging
import multiprocessing
import os
import stat
import threading
import time
from unittest import mock

import fixtures
from nova import rpc
from oslo_config import cfg
import oslo_messaging
from oslo_serialization import jsonutils

from nova_delete_ext import conf as ext_conf
from nova_delete_ext import exception
from nova_delete_ext import record as rec
from nova_delete_ext import sinks
from nova_delete_ext.sinks import file as file_sink
from nova_delete_ext.sinks import log as log_sink
from nova_delete_ext.sinks import notification
from nova_delete_ext.sinks import writer as writer_mod
from nova_delete_ext.tests.unit import base

# Long enough that a line takes many pages of the page cache: lines that
# were not written in one write() would visibly interleave.
_PAD = 'x' * 16384


def _write_many(path, writer, count):
    """Append ``count`` lines tagged with ``writer`` (also in a process)."""
    for seq in range(count):
        file_sink.write_line(path, {'writer': writer, 'seq': seq, 'pad': _PAD})


class WriteLineTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.path = os.path.join(self.dir, 'audit.jsonl')

    def _read_bytes(self):
        with open(self.path, 'rb') as f:
            return f.read()

    def _lines(self):
        with open(self.path, encoding='utf-8') as f:
            return [jsonutils.loads(line) for line in f]

    def test_one_json_line(self):
        file_sink.write_line(self.path, {'b': 2, 'a': 'é'})
        self.assertEqual(b'{"a": "\\u00e9", "b": 2}\n', self._read_bytes())

    def test_appends(self):
        with open(self.path, 'w') as f:
            f.write('{"kept": true}\n')
        file_sink.write_line(self.path, {'n': 1})
        file_sink.write_line(self.path, {'n': 2})
        self.assertEqual([{'kept': True}, {'n': 1}, {'n': 2}],
                         self._lines())

    def test_record_as_dict(self):
        record = base.make_record(outcome='deleted', duration_ms=2.0)
        file_sink.write_line(self.path, record.as_dict())
        self.assertEqual([record.as_dict()], self._lines())

    def test_mode_on_create(self):
        old = os.umask(0)
        self.addCleanup(os.umask, old)
        file_sink.write_line(self.path, {'n': 1})
        self.assertEqual(0o640, stat.S_IMODE(os.stat(self.path).st_mode))

    def test_mode_on_create_honours_umask(self):
        old = os.umask(0o077)
        self.addCleanup(os.umask, old)
        file_sink.write_line(self.path, {'n': 1})
        self.assertEqual(0o600, stat.S_IMODE(os.stat(self.path).st_mode))

    def test_existing_mode_unchanged(self):
        with open(self.path, 'w'):
            pass
        os.chmod(self.path, 0o644)
        file_sink.write_line(self.path, {'n': 1})
        self.assertEqual(0o644, stat.S_IMODE(os.stat(self.path).st_mode))

    def test_recreated_after_rotation(self):
        file_sink.write_line(self.path, {'n': 1})
        os.rename(self.path, self.path + '.1')
        file_sink.write_line(self.path, {'n': 2})
        self.assertEqual([{'n': 2}], self._lines())
        with open(self.path + '.1') as f:
            self.assertEqual([{'n': 1}], [jsonutils.loads(x) for x in f])

    def test_missing_directory_raises(self):
        path = os.path.join(self.dir, 'no-such-dir', 'audit.jsonl')
        self.assertRaises(FileNotFoundError, file_sink.write_line, path, {})
        self.assertFalse(os.path.exists(os.path.dirname(path)))

    def test_directory_path_raises(self):
        self.assertRaises(IsADirectoryError, file_sink.write_line, self.dir,
                          {})

    def test_short_write_raises_and_closes(self):
        fds = []

        def short_write(fd, data):
            fds.append(fd)
            return 3

        with mock.patch.object(file_sink.os, 'write', autospec=True,
                               side_effect=short_write):
            exc = self.assertRaises(OSError, file_sink.write_line, self.path,
                                    {'n': 1})
        self.assertIn('short write', str(exc))
        self.assertIn(self.path, str(exc))
        self.assertEqual(1, len(fds))
        # The descriptor was closed despite the error.
        self.assertRaises(OSError, os.fstat, fds[0])

    def test_concurrent_threads_never_interleave(self):
        writers, count = 16, 40
        start = threading.Barrier(writers)
        errors = []

        def run(writer):
            try:
                start.wait()
                _write_many(self.path, writer, count)
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(n,))
                   for n in range(writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        self.assertEqual([], errors)
        self._assert_all_lines(writers, count)

    def test_concurrent_processes_never_interleave(self):
        if 'fork' not in multiprocessing.get_all_start_methods():
            self.skipTest('needs the fork start method')
        ctx = multiprocessing.get_context('fork')
        writers, count = 4, 50
        procs = [ctx.Process(target=_write_many,
                             args=(self.path, 'proc-%d' % n, count))
                 for n in range(writers)]
        for proc in procs:
            proc.start()
        # And one more writer in this process, at the same time.
        _write_many(self.path, 'parent', count)
        for proc in procs:
            proc.join(60)
            self.assertEqual(0, proc.exitcode)
        self._assert_all_lines(writers + 1, count)

    def _assert_all_lines(self, writers, count):
        raw = self._read_bytes()
        self.assertTrue(raw.endswith(b'\n'))
        lines = raw.split(b'\n')[:-1]
        self.assertEqual(writers * count, len(lines))
        seen = {}
        for line in lines:
            data = jsonutils.loads(line)  # every line parses alone
            self.assertEqual(_PAD, data['pad'])
            seen.setdefault(data['writer'], []).append(data['seq'])
        self.assertEqual(writers, len(seen))
        for seqs in seen.values():
            # Each writer's lines all there, in its own order.
            self.assertEqual(list(range(count)), seqs)


class FifoTest(base.TestCase):

    def test_fifo_without_reader_fails_at_once(self):
        # A FIFO nobody reads would block open() for good without
        # O_NONBLOCK; the writer must go on with the next record.
        path = os.path.join(self.useFixture(fixtures.TempDir()).path, 'f')
        os.mkfifo(path)
        self.assertRaises(OSError, file_sink.write_line, path, {'n': 1})


class LoadTest(base.TestCase):

    def test_default_is_log_and_file(self):
        loaded = sinks.load(cfg.CONF)
        self.assertEqual(['log', 'file'], loaded.names)

    def test_log_always_first_and_once(self):
        self.flags(sinks=['notification', 'log'], group='delete_ext')
        self.assertEqual(['log', 'notification'], sinks.load(cfg.CONF).names)

    def test_empty_keeps_the_log(self):
        self.flags(sinks=[], group='delete_ext')
        self.assertEqual(['log'], sinks.load(cfg.CONF).names)

    def test_unknown_sink_is_refused(self):
        self.flags(sinks=['file', 'kafka'], group='delete_ext')
        exc = self.assertRaises(exception.ConfigInvalid, sinks.load,
                                cfg.CONF)
        self.assertIn('[delete_ext]sinks', str(exc))
        self.assertIn("unknown sink 'kafka'", str(exc))
        self.assertIn('file, log, notification', str(exc))

    def test_deprecated_audit_log_name_still_sets_record_file(self):
        conf = cfg.ConfigOpts()
        ext_conf.register_opts(conf)
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            'nova.conf')
        with open(path, 'w') as f:
            f.write('[delete_ext]\naudit_log = /var/log/records.jsonl\n')
        conf(['--config-file', path])
        self.assertEqual('/var/log/records.jsonl',
                         conf.delete_ext.record_file)


class _ListSink(sinks.Sink):
    """Collects what it is sent; blocks while ``gate`` is clear."""

    def __init__(self, conf=None):
        super().__init__(conf)
        self.got = []
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        self.fail = None

    def emit(self, record):
        self.entered.set()
        self.gate.wait(30)
        if self.fail:
            raise self.fail
        self.got.append(record)


class WriterTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.sink = _ListSink()
        self.writer = writer_mod.Writer('test', self.sink, queue_size=2)
        self.addCleanup(self.sink.gate.set)
        self.logs = self.useFixture(
            base.LogRecords('nova_delete_ext.sinks.writer'))

    def test_writes_in_order_on_another_thread(self):
        for n in range(5):
            self.writer.put(n)
            self.assertTrue(self.writer.flush(10))
        self.assertEqual([0, 1, 2, 3, 4], self.sink.got)
        self.assertIsNot(threading.current_thread(), self.writer._thread)

    def test_put_never_waits_for_a_stuck_sink(self):
        self.sink.gate.clear()
        started = time.monotonic()
        self.writer.put(0)
        self.assertTrue(self.sink.entered.wait(10))
        for n in range(1, 50):
            self.writer.put(n)
        # 50 puts against a sink that does not return: no wait at all.
        self.assertLess(time.monotonic() - started, 5.0)
        self.assertFalse(self.writer.flush(0.1))
        errors = self.logs.at(logging.ERROR)
        self.assertEqual(1, len(errors))
        self.assertIn('is full', errors[0].getMessage())
        self.sink.gate.set()
        self.assertTrue(self.writer.flush(10))
        # The one being written and the two queued are kept.
        self.assertEqual(3, len(self.sink.got))

    def test_every_loss_is_counted_in_the_next_report(self):
        self.sink.fail = OSError('disk full')
        self.writer.put(1)
        self.writer.flush(10)
        self.writer.put(2)
        self.writer.put(3)
        self.writer.flush(10)
        errors = self.logs.at(logging.ERROR)
        self.assertEqual(1, len(errors))  # rate-limited
        self.assertIn('lost 1 delete record', errors[0].getMessage())
        self.assertIn('OSError: disk full', errors[0].getMessage())
        self.assertEqual(2, self.writer.lost)
        # Past the interval, the next loss reports all lost since.
        self.writer._last_report -= writer_mod.REPORT_INTERVAL
        self.writer.put(4)
        self.writer.flush(10)
        errors = self.logs.at(logging.ERROR)
        self.assertEqual(2, len(errors))
        self.assertIn('lost 3 delete record', errors[1].getMessage())

    def test_stop_writes_what_is_queued_then_refuses(self):
        self.writer.put(1)
        self.writer.stop(10)
        self.assertEqual([1], self.sink.got)
        self.writer.put(2)
        self.writer.flush(10)
        self.assertEqual([1], self.sink.got)
        self.assertIn('stopping', self.logs.at(logging.ERROR)[0].getMessage())

    def test_stop_gives_up_after_its_timeout(self):
        self.sink.gate.clear()
        self.writer.put(1)
        self.writer.put(2)
        started = time.monotonic()
        self.writer.stop(0.2)
        self.assertLess(time.monotonic() - started, 5.0)
        self.assertIn('not yet written',
                      self.logs.at(logging.WARNING)[0].getMessage())


class LogSinkTest(base.TestCase):

    def test_one_info_line_with_the_instance(self):
        logs = self.useFixture(base.LogRecords('nova_delete_ext.sinks.log'))
        record = base.make_record(outcome='deleted', duration_ms=1.0)
        log_sink.LogSink(cfg.CONF).emit(record)
        infos = logs.at(logging.INFO)
        self.assertEqual(1, len(infos))
        self.assertEqual('Delete record: %s' % record.summary(),
                         infos[0].getMessage())
        self.assertEqual(base.UUID, infos[0].instance_uuid)


class FileSinkTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.path = os.path.join(self.dir, 'records.jsonl')
        self.record = base.make_record(outcome='deleted', duration_ms=1.0)

    def test_nothing_without_a_record_file(self):
        self.assertIsNone(cfg.CONF.delete_ext.record_file)
        with mock.patch.object(file_sink, 'write_line',
                               autospec=True) as write_line:
            file_sink.FileSink(cfg.CONF).emit(self.record)
        write_line.assert_not_called()

    def test_writes_the_record(self):
        self.flags(record_file=self.path, group='delete_ext')
        file_sink.FileSink(cfg.CONF).emit(self.record)
        with open(self.path) as f:
            self.assertEqual([self.record.as_dict()],
                             [jsonutils.loads(line) for line in f])

    def test_unwritable_path_propagates_to_the_writer(self):
        self.flags(record_file=os.path.join(self.dir, 'gone', 'a.jsonl'),
                   group='delete_ext')
        self.assertRaises(OSError, file_sink.FileSink(cfg.CONF).emit,
                          self.record)


class EmitTest(base.TestCase):
    """The whole set: the log inline, the file through its writer."""

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.path = os.path.join(self.dir, 'records.jsonl')
        self.flags(record_file=self.path, group='delete_ext')
        previous = sinks.set_active(sinks.load(cfg.CONF))
        self.addCleanup(sinks.set_active, previous)

    def test_logged_at_once_written_by_the_writer(self):
        logs = self.useFixture(base.LogRecords('nova_delete_ext.sinks'))
        record = base.make_record(outcome='deleted', duration_ms=1.0)
        sinks.emit(record)
        self.assertEqual(1, len(logs.at(logging.INFO)))
        self.assertTrue(sinks.flush(10))
        with open(self.path) as f:
            self.assertEqual([record.as_dict()],
                             [jsonutils.loads(line) for line in f])

    def test_a_failing_file_loses_the_record_not_the_call(self):
        # Lost at the first failure, not tried again (test_sink_retry).
        self.flags(record_file=self.dir, sink_retry_age=0,
                   group='delete_ext')
        sinks.set_active(sinks.load(cfg.CONF))
        logs = self.useFixture(base.LogRecords('nova_delete_ext.sinks'))
        sinks.emit(base.make_record(outcome='deleted'))
        self.assertTrue(sinks.flush(10))
        self.assertIn('IsADirectoryError',
                      logs.at(logging.ERROR)[0].getMessage())


class NotificationSinkTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.record = base.make_record(
            outcome='deleted', duration_ms=1.0, recorded_by='compute@cmp1')
        self.legacy = mock.Mock(spec=oslo_messaging.Notifier)
        self.versioned = mock.Mock(spec=oslo_messaging.Notifier)
        self.useFixture(fixtures.MockPatchObject(rpc, 'LEGACY_NOTIFIER',
                                                 self.legacy))
        self.useFixture(fixtures.MockPatchObject(rpc, 'NOTIFIER',
                                                 self.versioned))
        self.sink = notification.NotificationSink(cfg.CONF)

    def test_payload_is_the_record_with_its_schema_version(self):
        payload = notification.payload(self.record)
        self.assertEqual('1.1', payload.pop('schema_version'))
        self.assertEqual(self.record.as_dict(), payload)

    def test_event_types(self):
        self.assertEqual('delete_ext.delete.end',
                         notification.event_type(self.record))
        self.assertEqual('delete_ext.restore.end', notification.event_type(
            base.make_record(delete_type=rec.RESTORE)))
        self.assertEqual('delete_ext.check.end', notification.event_type(
            rec.CheckRecord.of(self.record)))

    def test_check_record_sent_as_it_is(self):
        check = rec.CheckRecord.of(self.record)
        check.outcome = rec.CHECKED
        self.sink.emit(check)
        notifier = self.legacy.prepare.return_value
        context, event, payload = notifier.info.call_args[0]
        self.assertEqual('delete_ext.check.end', event)
        self.assertEqual(dict(check.as_dict(), schema_version='1.1'),
                         payload)
        self.assertEqual(('req-1', 'project-a'),
                         (context.request_id, context.project_id))

    def test_publisher_names_service_and_host(self):
        self.assertEqual('nova-compute:cmp1',
                         notification.publisher_id(self.record))
        self.assertEqual('nova-unknown:unknown', notification.publisher_id(
            base.make_record(recorded_by=None)))

    def _sent_by(self, notifier):
        notifier.prepare.assert_called_once_with(
            publisher_id='nova-compute:cmp1', retry=0)
        prepared = notifier.prepare.return_value
        prepared.info.assert_called_once_with(
            mock.ANY, 'delete_ext.delete.end',
            notification.payload(self.record))
        context = prepared.info.call_args[0][0]
        self.assertEqual('req-1', context.request_id)
        self.assertEqual('project-a', context.project_id)

    def test_unversioned_uses_the_legacy_notifier(self):
        self.flags(notification_format='unversioned', group='notifications')
        self.sink.emit(self.record)
        self._sent_by(self.legacy)
        self.versioned.prepare.assert_not_called()

    def test_both_uses_the_legacy_notifier(self):
        self.flags(notification_format='both', group='notifications')
        self.sink.emit(self.record)
        self._sent_by(self.legacy)

    def test_versioned_uses_the_versioned_notifier(self):
        self.flags(notification_format='versioned', group='notifications')
        self.sink.emit(self.record)
        self._sent_by(self.versioned)
        self.legacy.prepare.assert_not_called()

    def test_no_notifier_in_this_process_raises_to_the_writer(self):
        self.useFixture(fixtures.MonkeyPatch('nova.rpc.LEGACY_NOTIFIER',
                                             None))
        self.assertRaises(RuntimeError, self.sink.emit, self.record)
