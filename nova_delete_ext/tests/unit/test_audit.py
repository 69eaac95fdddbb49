"""Tests of :mod:`nova_delete_ext.audit`: the log line and the JSON file."""

import logging
import multiprocessing
import os
import stat
import threading
from unittest import mock

import fixtures
from oslo_config import cfg
from oslo_serialization import jsonutils

from nova_delete_ext import audit
from nova_delete_ext import conf as ext_conf
from nova_delete_ext.tests.unit import base

# Long enough that a line takes many pages of the page cache: lines that
# were not written in one write() would visibly interleave.
_PAD = 'x' * 16384


def _write_many(path, writer, count):
    """Append ``count`` lines tagged with ``writer`` (also in a process)."""
    for seq in range(count):
        audit.write_line(path, {'writer': writer, 'seq': seq, 'pad': _PAD})


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
        audit.write_line(self.path, {'b': 2, 'a': 'é'})
        self.assertEqual(b'{"a": "\\u00e9", "b": 2}\n', self._read_bytes())

    def test_appends(self):
        with open(self.path, 'w') as f:
            f.write('{"kept": true}\n')
        audit.write_line(self.path, {'n': 1})
        audit.write_line(self.path, {'n': 2})
        self.assertEqual([{'kept': True}, {'n': 1}, {'n': 2}],
                         self._lines())

    def test_record_as_dict(self):
        record = base.make_record(outcome='deleted', duration_ms=2.0)
        audit.write_line(self.path, record.as_dict())
        self.assertEqual([record.as_dict()], self._lines())

    def test_mode_on_create(self):
        old = os.umask(0)
        self.addCleanup(os.umask, old)
        audit.write_line(self.path, {'n': 1})
        self.assertEqual(0o640, stat.S_IMODE(os.stat(self.path).st_mode))

    def test_mode_on_create_honours_umask(self):
        old = os.umask(0o077)
        self.addCleanup(os.umask, old)
        audit.write_line(self.path, {'n': 1})
        self.assertEqual(0o600, stat.S_IMODE(os.stat(self.path).st_mode))

    def test_existing_mode_unchanged(self):
        with open(self.path, 'w'):
            pass
        os.chmod(self.path, 0o644)
        audit.write_line(self.path, {'n': 1})
        self.assertEqual(0o644, stat.S_IMODE(os.stat(self.path).st_mode))

    def test_recreated_after_rotation(self):
        audit.write_line(self.path, {'n': 1})
        os.rename(self.path, self.path + '.1')
        audit.write_line(self.path, {'n': 2})
        self.assertEqual([{'n': 2}], self._lines())
        with open(self.path + '.1') as f:
            self.assertEqual([{'n': 1}], [jsonutils.loads(x) for x in f])

    def test_missing_directory_raises(self):
        path = os.path.join(self.dir, 'no-such-dir', 'audit.jsonl')
        self.assertRaises(FileNotFoundError, audit.write_line, path, {})
        self.assertFalse(os.path.exists(os.path.dirname(path)))

    def test_directory_path_raises(self):
        self.assertRaises(IsADirectoryError, audit.write_line, self.dir, {})

    def test_short_write_raises_and_closes(self):
        fds = []

        def short_write(fd, data):
            fds.append(fd)
            return 3

        with mock.patch.object(audit.os, 'write', autospec=True,
                               side_effect=short_write):
            exc = self.assertRaises(OSError, audit.write_line, self.path,
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


class EmitTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.path = os.path.join(self.dir, 'audit.jsonl')
        self.record = base.make_record(outcome='deleted',
                                       duration_ms=1.0)
        self.instance = base.make_instance(uuid=base.UUID)
        self.logs = self.useFixture(base.LogRecords('nova_delete_ext.audit'))

    def _assert_logged_once(self):
        infos = self.logs.at(logging.INFO)
        self.assertEqual(1, len(infos))
        self.assertEqual('Delete record: %s' % self.record.summary(),
                         infos[0].getMessage())
        self.assertIs(self.instance, infos[0].instance)
        self.assertEqual(infos, self.logs.records)

    def test_log_only_by_default(self):
        self.assertIsNone(cfg.CONF.delete_ext.audit_log)
        with mock.patch.object(audit, 'write_line',
                               autospec=True) as write_line:
            audit.emit(self.record, self.instance)
        write_line.assert_not_called()
        self._assert_logged_once()
        self.assertFalse(os.path.exists(self.path))

    def test_empty_path_is_unset(self):
        self.flags(audit_log='', group='delete_ext')
        with mock.patch.object(audit, 'write_line',
                               autospec=True) as write_line:
            audit.emit(self.record, self.instance)
        write_line.assert_not_called()
        self._assert_logged_once()

    def test_writes_when_set(self):
        self.flags(audit_log=self.path, group='delete_ext')
        audit.emit(self.record, self.instance)
        self._assert_logged_once()
        with open(self.path) as f:
            self.assertEqual([self.record.as_dict()],
                             [jsonutils.loads(line) for line in f])

    def test_explicit_conf(self):
        conf = cfg.ConfigOpts()
        ext_conf.register_opts(conf)
        conf.set_override('audit_log', self.path, group='delete_ext')
        with mock.patch.object(audit, 'write_line',
                               autospec=True) as write_line:
            audit.emit(self.record, self.instance, conf=conf)
        write_line.assert_called_once_with(self.path, self.record.as_dict())

    def test_unwritable_path_propagates(self):
        self.flags(audit_log=os.path.join(self.dir, 'gone', 'a.jsonl'),
                   group='delete_ext')
        self.assertRaises(OSError, audit.emit, self.record, self.instance)
        # The log line went out before the file failed.
        self._assert_logged_once()

    def test_directory_path_propagates(self):
        self.flags(audit_log=self.dir, group='delete_ext')
        self.assertRaises(IsADirectoryError, audit.emit, self.record,
                          self.instance)
