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

"""The collector's handling of one batch, with the store mocked."""

import logging
from unittest import mock

import fixtures
from oslo_db import exception as db_exc
from oslo_serialization import jsonutils
from oslo_utils import uuidutils

from nova_delete_ext.collector import batch
from nova_delete_ext.collector import listener
from nova_delete_ext.db import api as db_api
from nova_delete_ext.tests.unit import base


def payload(**updates):
    """A delete record as the ``notification`` sink sends it."""
    data = base.make_record(id=uuidutils.generate_uuid()).as_dict()
    data['schema_version'] = '1.1'
    data.update(updates)
    return data


def check_payload(**updates):
    """A check record as the ``notification`` sink sends it."""
    data = payload(kind='check', delete_id=uuidutils.generate_uuid(),
                   checked_at='2025-01-02T03:04:07+00:00')
    data.update(updates)
    return data


def message(data, event_type='delete_ext.delete.end'):
    """One message as the batch listener gives it to the endpoint."""
    return {'ctxt': {}, 'publisher_id': 'nova-compute:cmp1',
            'event_type': event_type, 'payload': data,
            'metadata': {'message_id': uuidutils.generate_uuid(),
                         'timestamp': '2025-01-02 03:04:05.000000'}}


def result(records, duplicates=0):
    """What the store answers when all but ``duplicates`` are new."""
    new = records[duplicates:]
    return db_api.StoreResult(stored=len(new), duplicates=duplicates,
                              new=new)


class FakeClock(fixtures.Fixture):
    """``time.monotonic`` of the batch module, moved on by the waits."""

    def _setUp(self):
        self.now = 1000.0
        self.waits = []
        self.useFixture(fixtures.MonkeyPatch(
            'nova_delete_ext.collector.batch.time.monotonic',
            lambda: self.now))

    def wait(self, seconds=None):
        self.waits.append(round(seconds, 3))
        self.now += seconds
        return False


class BatchTestBase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.flags(retry_interval=1.0, max_retry_interval=4.0,
                   group='delete_ext_collector')
        self.store = mock.create_autospec(db_api.Store, instance=True)
        self.store.add.side_effect = result
        self.health = listener.Health()
        self.stored = []
        self.handler = batch.BatchHandler(
            self.store, self.conf.delete_ext_collector, self.health,
            [self.stored.append])
        self.clock = self.useFixture(FakeClock())
        self.handler.stopping = mock.Mock(wraps=self.handler.stopping)
        self.handler.stopping.wait.side_effect = self.clock.wait
        self.collector_logs = self.useFixture(
            base.LogRecords('nova_delete_ext.collector'))

    def counts(self):
        snapshot = self.health.snapshot()
        snapshot.pop('last_stored_at')
        return snapshot


class TestBatch(BatchTestBase):

    def test_records_are_stored_in_one_transaction_then_acknowledged(self):
        sent = [payload(), check_payload(), payload()]
        answer = self.handler.handle([message(p) for p in sent])
        self.assertEqual(batch.HANDLED, answer)
        self.store.add.assert_called_once_with(mock.ANY)
        stored = self.store.add.call_args[0][0]
        self.assertEqual([p['id'] for p in sent], [r['id'] for r in stored])
        self.assertEqual([stored], self.stored)
        self.assertEqual(dict(received=3, stored=3, duplicates=0, malformed=0,
                              requeued=0, store_failures=0, retry_delay=0.0),
                         self.counts())
        self.assertIsNotNone(self.health.last_stored_at)

    def test_duplicates_are_acknowledged_and_counted(self):
        self.store.add.side_effect = lambda records: result(records, 2)
        sent = [payload(), payload(), payload()]
        self.assertEqual(batch.HANDLED,
                         self.handler.handle([message(p) for p in sent]))
        self.assertEqual((1, 2), (self.health.stored, self.health.duplicates))
        # Only the new records go to the metrics.
        self.assertEqual([[sent[2]['id']]],
                         [[r['id'] for r in new] for new in self.stored])

    def test_all_duplicates_tell_no_reader(self):
        self.store.add.side_effect = lambda records: result(records, 1)
        self.assertEqual(batch.HANDLED, self.handler.handle(
            [message(payload())]))
        self.assertEqual([], self.stored)

    def test_malformed_messages_are_acknowledged_logged_and_counted(self):
        good = payload()
        sent = [message('{"not": json'), message(['a', 'list']),
                message(payload(schema_version='2.0')),
                message(good)]
        self.assertEqual(batch.HANDLED, self.handler.handle(sent))
        self.assertEqual([good['id']],
                         [r['id'] for r in self.store.add.call_args[0][0]])
        self.assertEqual(3, self.health.malformed)
        warnings = [r.getMessage() for r in
                    self.collector_logs.at(logging.WARNING)]
        self.assertEqual(3, len(warnings), warnings)
        self.assertIn('not JSON', warnings[0])
        for warning, sent_message in zip(warnings, sent):
            self.assertIn(sent_message['metadata']['message_id'], warning)

    def test_json_text_payload_is_parsed(self):
        good = payload()
        self.assertEqual(batch.HANDLED, self.handler.handle(
            [message(jsonutils.dumps(good))]))
        self.assertEqual(1, self.health.stored)

    def test_batch_of_malformed_only_never_reaches_the_store(self):
        self.assertEqual(batch.HANDLED,
                         self.handler.handle([message({'kind': 'delete'})]))
        self.store.add.assert_not_called()
        self.assertEqual(1, self.health.malformed)

    def test_a_callback_that_fails_does_not_requeue(self):
        self.handler.on_stored.insert(0, mock.Mock(side_effect=KeyError))
        self.assertEqual(batch.HANDLED,
                         self.handler.handle([message(payload())]))
        self.assertEqual(1, len(self.stored))


class TestStoreFailures(BatchTestBase):

    def test_database_down_requeues_the_batch(self):
        self.store.add.side_effect = db_exc.DBConnectionError('down')
        sent = [message(payload()), message(payload())]
        self.assertEqual(batch.REQUEUE, self.handler.handle(sent))
        self.assertEqual(dict(received=2, stored=0, duplicates=0, malformed=0,
                              requeued=2, store_failures=1, retry_delay=1.0),
                         self.counts())
        self.assertEqual([], self.stored)

    def test_back_off_doubles_up_to_the_maximum_then_resets(self):
        self.store.add.side_effect = [db_exc.DBConnectionError('down')] * 4
        for _ in range(4):
            self.assertEqual(batch.REQUEUE,
                             self.handler.handle([message(payload())]))
        self.store.add.side_effect = result
        self.assertEqual(batch.HANDLED,
                         self.handler.handle([message(payload())]))
        # Each try waited out the back-off of the failure before it.
        self.assertEqual([1.0, 2.0, 4.0, 4.0], self.clock.waits)
        self.assertEqual(0.0, self.health.retry_delay)
        self.handler.handle([message(payload())])
        self.assertEqual(4, len(self.clock.waits))

    def test_no_wait_once_the_back_off_has_passed(self):
        self.store.add.side_effect = db_exc.DBConnectionError('down')
        self.handler.handle([message(payload())])
        self.clock.now += 5
        self.store.add.side_effect = result
        self.assertEqual(batch.HANDLED,
                         self.handler.handle([message(payload())]))
        self.assertEqual([], self.clock.waits)

    def test_stopping_during_back_off_requeues_without_a_try(self):
        self.store.add.side_effect = db_exc.DBConnectionError('down')
        self.handler.handle([message(payload())])
        self.handler.stopping.set()
        self.assertEqual(batch.REQUEUE,
                         self.handler.handle([message(payload())]))
        self.assertEqual(1, self.store.add.call_count)

    def test_stopping_with_a_working_store_still_stores(self):
        self.handler.stopping.set()
        self.assertEqual(batch.HANDLED,
                         self.handler.handle([message(payload())]))

    def test_malformed_of_a_requeued_batch_is_logged_once(self):
        sent = [message(payload()), message('{')]
        self.store.add.side_effect = db_exc.DBConnectionError('down')
        self.assertEqual(batch.REQUEUE, self.handler.handle(sent))
        self.assertEqual([], self.malformed_logged())
        self.assertEqual(0, self.health.malformed)
        self.store.add.side_effect = result
        self.assertEqual(batch.HANDLED, self.handler.handle(sent))
        self.assertEqual(1, self.health.malformed)
        self.assertEqual(1, len(self.malformed_logged()))

    def malformed_logged(self):
        return [r for r in self.collector_logs.at(logging.WARNING)
                if 'Malformed' in r.getMessage()]

    def test_a_record_the_database_refuses_is_malformed_alone(self):
        sent = [payload(), payload(project_id='refused'), payload()]

        def add(records):
            if any(r['project_id'] == 'refused' for r in records):
                raise db_exc.DBDataError('Data too long for column host')
            return result(records)

        self.store.add.side_effect = add
        self.assertEqual(batch.HANDLED,
                         self.handler.handle([message(p) for p in sent]))
        # The batch, then each record on its own.
        self.assertEqual([3, 1, 1, 1],
                         [len(c[0][0]) for c in self.store.add.call_args_list])
        self.assertEqual((2, 1), (self.health.stored, self.health.malformed))
        self.assertEqual([[sent[0]['id'], sent[2]['id']]],
                         [[r['id'] for r in new] for new in self.stored])
        self.assertIn(sent[1]['id'], self.collector_logs.at(
            logging.WARNING)[-1].getMessage())

    def test_a_lone_record_the_database_refuses_is_acknowledged(self):
        self.store.add.side_effect = db_exc.DBDataError('too long')
        self.assertEqual(batch.HANDLED,
                         self.handler.handle([message(payload())]))
        self.assertEqual((1, 0), (self.health.malformed,
                                  self.health.store_failures))

    def test_database_down_while_isolating_a_refused_record_requeues(self):
        self.store.add.side_effect = [db_exc.DBDataError('too long'),
                                      result([{'id': 'a'}]),
                                      db_exc.DBConnectionError('down')]
        self.assertEqual(batch.REQUEUE, self.handler.handle(
            [message(payload()), message(payload())]))
        # The one stored before the failure is told to the readers.
        self.assertEqual([[{'id': 'a'}]], self.stored)
        self.assertEqual(0, self.health.malformed)
