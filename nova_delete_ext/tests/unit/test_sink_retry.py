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

"""A record a sink could not write waits in its queue and is tried again."""

import logging
import os
import time

import fixtures
from oslo_config import cfg
from oslo_serialization import jsonutils

from nova_delete_ext import sinks
from nova_delete_ext.sinks import writer as writer_mod
from nova_delete_ext.tests.unit import base


class _FailingSink(sinks.Sink):
    """Fails its first ``failures`` writes with ``error``."""

    def __init__(self, failures=0, error=OSError(6, 'No such device')):
        super().__init__(None)
        self.failures = failures
        self.error = error
        self.tries = 0
        self.got = []

    def emit(self, record):
        self.tries += 1
        if self.failures:
            self.failures -= 1
            raise self.error
        self.got.append(record)


class RetryTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.MonkeyPatch(
            'nova_delete_ext.sinks.writer.RETRY_FIRST_DELAY', 0.01))
        self.useFixture(fixtures.MonkeyPatch(
            'nova_delete_ext.sinks.writer.RETRY_MAX_DELAY', 0.05))

    def writer(self, sink, retry_age=30.0, queue_size=10):
        writer = writer_mod.Writer('test', sink, queue_size, retry_age)
        self.addCleanup(writer.stop, 0)
        return writer

    def test_tried_again_until_written(self):
        sink = _FailingSink(failures=3)
        writer = self.writer(sink)
        writer.put(1)
        writer.put(2)
        self.assertTrue(writer.flush(10))
        self.assertEqual([1, 2], sink.got)
        self.assertEqual(0, writer.lost)
        self.assertEqual([], self.logs.at(logging.ERROR))
        warnings = [r.getMessage() for r in self.logs.at(logging.WARNING)]
        self.assertEqual(1, len(warnings), warnings)
        self.assertIn('could not write a delete record to the test sink: '
                      'OSError', warnings[0])
        self.assertIn('tried again until it is 30 s old', warnings[0])
        self.assertIn('writes delete records to the test sink again',
                      self.logs.at(logging.INFO)[-1].getMessage())

    def test_lost_and_counted_once_too_old(self):
        sink = _FailingSink(failures=1000)
        writer = self.writer(sink, retry_age=0.3)
        started = time.monotonic()
        for n in range(3):
            writer.put(n)
        self.assertTrue(writer.flush(10))
        self.assertLess(time.monotonic() - started, 5)
        self.assertGreater(sink.tries, 3)
        self.assertEqual([], sink.got)
        errors = [r.getMessage() for r in self.logs.at(logging.ERROR)]
        self.assertEqual(1, len(errors))  # rate-limited, all counted
        self.assertIn('lost 1 delete record(s) for the test sink: OSError',
                      errors[0])
        self.assertEqual(2, writer.lost)
        # Those queued behind it were as old: one try each, not 0.3 s each.
        self.assertLess(sink.tries, 3 + 0.3 / 0.01)

    def test_other_errors_lose_the_record_at_once(self):
        sink = _FailingSink(failures=1, error=TypeError('not JSON'))
        writer = self.writer(sink)
        writer.put(1)
        writer.put(2)
        self.assertTrue(writer.flush(10))
        self.assertEqual(([2], 2), (sink.got, sink.tries))
        self.assertIn('TypeError: not JSON',
                      self.logs.at(logging.ERROR)[0].getMessage())

    def test_zero_loses_the_record_at_the_first_failure(self):
        sink = _FailingSink(failures=1)
        writer = self.writer(sink, retry_age=0)
        writer.put(1)
        self.assertTrue(writer.flush(10))
        self.assertEqual(([], 1), (sink.got, sink.tries))

    def test_full_queue_loses_the_new_records(self):
        sink = _FailingSink(failures=1000)
        writer = self.writer(sink, queue_size=2)
        writer.put(0)
        for _ in range(100):
            if sink.tries:
                break  # 0 is out of the queue, being tried again
            time.sleep(0.01)
        for n in range(1, 4):
            writer.put(n)
        self.assertIn('its queue of 2 records is full',
                      self.logs.at(logging.ERROR)[0].getMessage())
        sink.failures = 0
        self.assertTrue(writer.flush(10))
        self.assertEqual([0, 1, 2], sink.got)

    def test_stopping_ends_the_retries(self):
        sink = _FailingSink(failures=1000)
        writer = self.writer(sink, retry_age=600)
        self.useFixture(fixtures.MonkeyPatch(
            'nova_delete_ext.sinks.writer.RETRY_MAX_DELAY', 600))
        writer.put(1)
        started = time.monotonic()
        writer.stop(10)
        self.assertLess(time.monotonic() - started, 5)
        self.assertIn('lost 1 delete record(s)',
                      self.logs.at(logging.ERROR)[0].getMessage())


class FifoReaderLateTest(base.TestCase):
    """The file sink, on a real FIFO whose reader comes after the record."""

    def test_the_record_reaches_the_late_reader(self):
        directory = self.useFixture(fixtures.TempDir()).path
        fifo = os.path.join(directory, 'records.fifo')
        os.mkfifo(fifo)
        self.flags(record_file=fifo, group='delete_ext')
        loaded = sinks.load(cfg.CONF)
        self.addCleanup(loaded.stop)
        self.assertEqual(300.0, cfg.CONF.delete_ext.sink_retry_age)
        record = base.make_record(outcome='deleted', duration_ms=1.0)
        loaded.emit(record)
        # Nobody reads yet: the first tries fail (ENXIO) and are retried.
        time.sleep(2)
        self.assertFalse(loaded.flush(0.1),
                         'the record was dropped instead of waiting')
        reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        self.addCleanup(os.close, reader)
        received = b''
        deadline_at = time.monotonic() + 20
        while not received.endswith(b'\n'):
            self.assertLess(time.monotonic(), deadline_at,
                            'the record never reached the FIFO')
            try:
                received += os.read(reader, 65536)
            except BlockingIOError:
                time.sleep(0.05)
        self.assertEqual(record.as_dict(), jsonutils.loads(received))
        self.assertTrue(loaded.flush(10))
        self.assertIn('could not write a delete record to the file sink: '
                      'OSError: [Errno 6]',
                      self.logs.at(logging.WARNING)[0].getMessage())
        self.assertEqual([], self.logs.at(logging.ERROR))
