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

"""The collector on oslo.messaging's fake transport, the store mocked.

The listener, the dispatch, the acknowledgements and the requeues are
oslo.messaging's own; only the fake driver's acknowledge and requeue are
watched, to see in which order they come with the store's commits.
"""

import threading
import time
from unittest import mock

import fixtures
from oslo_db import exception as db_exc
import oslo_messaging
from oslo_messaging._drivers import impl_fake

from nova_delete_ext.collector import listener
from nova_delete_ext.collector import service
from nova_delete_ext.db import api as db_api
from nova_delete_ext.tests.unit import base
from nova_delete_ext.tests.unit import test_collector_batch as test_batch


def wait_until(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError('not true in %ss: %s' % (timeout, predicate))
        time.sleep(0.01)


class CollectorTestBase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.flags(batch_size=10, batch_timeout=0.05, retry_interval=0.1,
                   max_retry_interval=0.2, group='delete_ext_collector')
        self.transport = listener.get_transport(self.conf, url='fake://')
        # The fake driver's queues live in its class: empty them after.
        self.addCleanup(self.transport.cleanup)
        self.notifier = oslo_messaging.Notifier(
            self.transport, driver='messagingv2', topics=['notifications'],
            publisher_id='nova-compute:cmp1')
        self.events = []
        self.store = mock.create_autospec(db_api.Store, instance=True)
        self.store.add.side_effect = self.add
        self._watch(impl_fake.FakeIncomingMessage, 'acknowledge', 'ack')
        self._watch(impl_fake.FakeIncomingMessage, 'requeue', 'requeue')
        self.collector = service.Collector(self.conf, store=self.store,
                                           transport=self.transport)

    def _watch(self, cls, name, event):
        original = getattr(cls, name)

        def watched(message):
            self.events.append((event, message.message['payload'].get('id')))
            return original(message)

        self.useFixture(fixtures.MockPatchObject(
            cls, name, autospec=True, side_effect=watched))

    def add(self, records):
        self.events.append(('commit', [r['id'] for r in records]))
        return test_batch.result(records)

    def start(self):
        self.collector.start()
        self.addCleanup(self.collector.stop)

    def send(self, data, event_type='delete_ext.delete.end'):
        self.notifier.info({}, event_type, data)
        return data


class TestListener(CollectorTestBase):

    def test_acknowledged_only_after_the_commit(self):
        sent = [self.send(test_batch.payload()) for _ in range(3)]
        self.start()
        wait_until(lambda: len(self.events) == 4)
        ids = [p['id'] for p in sent]
        self.assertEqual([('commit', ids)] + [('ack', i) for i in ids],
                         self.events)

    def test_store_failure_requeues_then_stores(self):
        attempts = []

        def add(records):
            attempts.append([r['id'] for r in records])
            if len(attempts) == 1:
                raise db_exc.DBConnectionError('down')
            return self.add(records)

        self.store.add.side_effect = add
        sent = self.send(test_batch.payload())
        self.start()
        wait_until(lambda: ('ack', sent['id']) in self.events)
        self.assertEqual([[sent['id']]] * 2, attempts)
        self.assertEqual([('requeue', sent['id']), ('commit', [sent['id']]),
                          ('ack', sent['id'])], self.events)
        self.assertEqual((1, 1, 1), (self.collector.health.store_failures,
                                     self.collector.health.requeued,
                                     self.collector.health.stored))

    def test_other_notifications_never_reach_the_store(self):
        self.send({'instance_id': 'x'}, 'compute.instance.delete.end')
        record = self.send(test_batch.check_payload(),
                           'delete_ext.check.end')
        self.start()
        wait_until(lambda: len(self.events) == 3)
        self.assertEqual([('commit', [record['id']])], [
            e for e in self.events if e[0] == 'commit'])
        self.assertEqual(1, self.collector.health.received)

    def test_other_consumers_of_the_topic_still_get_every_record(self):
        got = []

        class Other:
            def info(self, ctxt, publisher_id, event_type, payload, meta):
                got.append(payload['id'])

        other = oslo_messaging.get_notification_listener(
            self.transport, [oslo_messaging.Target(topic='notifications')],
            [Other()])
        other.start()
        self.addCleanup(other.wait)
        self.addCleanup(other.stop)
        self.start()
        sent = self.send(test_batch.payload())
        wait_until(lambda: got and ('ack', sent['id']) in self.events)
        self.assertEqual([sent['id']], got)

    def test_topics_are_nova_notifier_topics_unless_set(self):
        self.flags(topics=['nova_a', 'nova_b'],
                   group='oslo_messaging_notifications')
        self.assertEqual(['nova_a', 'nova_b'], listener.topics(self.conf))
        self.flags(topics=['records'], group='delete_ext_collector')
        self.assertEqual(['records'], listener.topics(self.conf))

    def test_rabbitmq_prefetch_is_ten_batches_unless_set(self):
        # The driver reads it when it loads; no broker is contacted.
        url = 'rabbit://guest:guest@127.0.0.1:1/'
        transport = listener.get_transport(self.conf, url=url)
        self.addCleanup(transport.cleanup)
        self.assertEqual(100, transport._driver.prefetch_size)
        self.flags(rabbit_qos_prefetch_count=7, group='oslo_messaging_rabbit')
        transport = listener.get_transport(self.conf, url=url)
        self.addCleanup(transport.cleanup)
        self.assertEqual(7, transport._driver.prefetch_size)

    def test_pool_and_exchange_are_those_of_the_options(self):
        self.flags(pool='audit', group='delete_ext_collector')
        server = listener.get_listener(self.transport, self.conf,
                                       self.collector.handler)
        self.assertEqual('audit', server._pool)
        self.assertEqual('nova', self.conf.control_exchange)


class TestStop(CollectorTestBase):

    def test_stop_waits_for_the_batch_being_stored(self):
        entered, release = threading.Event(), threading.Event()

        def slow_add(records):
            entered.set()
            release.wait(10)
            return self.add(records)

        self.store.add.side_effect = slow_add
        sent = self.send(test_batch.payload())
        self.collector.start()
        self.assertTrue(entered.wait(10))
        stopper = threading.Thread(target=self.collector.stop)
        stopper.start()
        stopper.join(0.3)
        self.assertTrue(stopper.is_alive(), 'stop() did not wait')
        release.set()
        stopper.join(10)
        self.assertFalse(stopper.is_alive())
        self.assertEqual([('commit', [sent['id']]), ('ack', sent['id'])],
                         self.events)

    def test_stop_during_back_off_requeues_at_once(self):
        self.flags(retry_interval=60, max_retry_interval=60,
                   group='delete_ext_collector')
        self.store.add.side_effect = db_exc.DBConnectionError('down')
        sent = self.send(test_batch.payload())
        self.collector.start()
        # Requeued, delivered again, and now waiting out the back-off.
        wait_until(lambda: self.collector.health.received == 2)
        started = time.monotonic()
        self.collector.stop()
        self.assertLess(time.monotonic() - started, 5)
        self.assertEqual(1, self.store.add.call_count)
        self.assertEqual([('requeue', sent['id'])] * 2, self.events)
