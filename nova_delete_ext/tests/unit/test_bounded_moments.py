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

"""Nova never waits past the time limit for a policy, nor loses a record
to one sink that fails.

The fault-injection suite (``tests/functional/test_fault_matrix_*``) shows
the same on the real Nova; these pin the rules down one by one.
"""

import logging
import os
import threading
import time
from unittest import mock

import fixtures
from oslo_config import cfg
from oslo_serialization import jsonutils

from nova_delete_ext import policies
from nova_delete_ext.policies import base as policy_base
from nova_delete_ext import sinks
from nova_delete_ext.sinks import log as log_sink
from nova_delete_ext.tests.unit import base
from nova_delete_ext.tests.unit import test_policies


class Hangs(policy_base.DeletePolicy):

    def __init__(self, conf, release):
        super().__init__(conf, 'hangs')
        self.release = release

    def validate(self):
        pass

    def on_restore(self, event):
        self.release.wait(30)

    def retention(self, instance):
        self.release.wait(30)
        return 0


class Answers(policy_base.DeletePolicy):

    def validate(self):
        pass

    def on_restore(self, event):
        return self.decision('restored')

    def retention(self, instance):
        return 60


class BoundedMomentTest(base.TestCase):

    def setUp(self):
        super().setUp()
        release = threading.Event()
        self.addCleanup(release.set)
        self.chain = policies.PolicyChain(
            [Hangs(cfg.CONF, release), Answers(cfg.CONF, 'answers')],
            timeout=0.2)
        self.logs = self.useFixture(base.LogRecords('nova_delete_ext'))

    def _timed(self, func, *args):
        started = time.monotonic()
        result = func(*args)
        self.assertLess(time.monotonic() - started, 10)
        return result

    def test_on_restore_that_hangs_is_skipped(self):
        event = test_policies.make_event(base.make_instance())
        decisions = self._timed(self.chain.on_restore, event)
        self.assertEqual(['answers:restored'], [str(d) for d in decisions])
        self.assertIn('policy hangs failed in on_restore',
                      self.logs.at(logging.ERROR)[0].getMessage())

    def test_retention_that_hangs_asks_the_next_policy(self):
        self.assertEqual(60, self._timed(self.chain.retention,
                                         base.make_instance()))


class InlineSinkFailureTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.path = os.path.join(self.dir, 'records.jsonl')
        self.flags(record_file=self.path, group='delete_ext')
        previous = sinks.set_active(sinks.load(cfg.CONF))
        self.addCleanup(sinks.set_active, previous)

    def test_the_other_sinks_still_get_the_record(self):
        logs = self.useFixture(base.LogRecords('nova_delete_ext.sinks'))
        self.useFixture(fixtures.MockPatchObject(
            log_sink.LogSink, 'emit', mock.Mock(side_effect=KeyError('x'))))
        record = base.make_record(outcome='deleted')
        sinks.emit(record)
        self.assertTrue(sinks.flush(10))
        with open(self.path) as f:
            self.assertEqual([record.as_dict()],
                             [jsonutils.loads(line) for line in f])
        self.assertIn('could not hand a record to the LogSink sink',
                      logs.at(logging.ERROR)[0].getMessage())
