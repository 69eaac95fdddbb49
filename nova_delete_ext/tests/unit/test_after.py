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

"""Tests of :mod:`nova_delete_ext.record.after`, the after-delete workers."""

import logging
import threading
import time

from nova_delete_ext.record import after
from nova_delete_ext.tests.unit import base


class ExecutorTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.release = threading.Event()
        self.addCleanup(self.release.set)
        self.executor = after.Executor(workers=2, queue_size=3)
        self.addCleanup(self.executor.stop, 5)

    def wait_for(self, predicate):
        for _ in range(500):
            if predicate():
                return
            time.sleep(0.01)
        self.fail('not in time')

    def test_runs_jobs_on_its_own_threads(self):
        names = []
        for _ in range(3):
            self.assertTrue(self.executor.submit(
                lambda: names.append(threading.current_thread().name)))
        self.assertTrue(self.executor.flush(10))
        self.assertEqual(3, len(names))
        self.assertTrue(all(n.startswith('nova-delete-ext-after-')
                            for n in names), names)
        self.assertEqual(0, self.executor.pending)

    def test_at_most_workers_at_once_then_the_queue_then_refused(self):
        running = []

        def job():
            running.append(1)
            self.release.wait(10)

        for _ in range(2):
            self.assertTrue(self.executor.submit(job))
        self.wait_for(lambda: len(running) == 2)
        for _ in range(3):
            self.assertTrue(self.executor.submit(job))
        started = time.monotonic()
        self.assertFalse(self.executor.submit(job))
        self.assertLess(time.monotonic() - started, 1.0)
        self.assertEqual(5, self.executor.pending)
        self.assertFalse(self.executor.flush(0.05))
        self.release.set()
        self.assertTrue(self.executor.flush(10))
        self.assertEqual(5, len(running))

    def test_a_failing_job_is_logged_and_the_worker_goes_on(self):
        done = []

        def boom():
            raise ValueError('x')

        self.executor.submit(boom)
        self.executor.submit(lambda: done.append(1))
        self.assertTrue(self.executor.flush(10))
        self.assertEqual([1], done)
        self.assertEqual(1, len(self.logs.at(logging.ERROR)))

    def test_workers_started_again_when_gone(self):
        # As in a process forked after the first use.
        self.executor.submit(lambda: None)
        self.assertTrue(self.executor.flush(10))
        self.executor._threads = []
        done = []
        self.executor.submit(lambda: done.append(1))
        self.assertTrue(self.executor.flush(10))
        self.assertEqual([1], done)

    def test_stop_refuses_new_jobs(self):
        self.executor.stop(5)
        self.assertFalse(self.executor.submit(lambda: None))
        self.assertTrue(self.executor.stopping)


class ActiveTest(base.TestCase):

    def test_sized_from_the_options(self):
        self.flags(after_delete_workers=3, after_delete_queue_size=7,
                   group='delete_ext')
        executor = after.active()
        self.assertIs(executor, after.active())
        self.assertEqual((3, 7), (executor.workers, executor.queue_size))

    def test_defaults_are_small(self):
        executor = after.active()
        self.assertEqual((2, 100), (executor.workers, executor.queue_size))
