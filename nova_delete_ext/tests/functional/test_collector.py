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

"""The collector on the fake bus, fed by the in-process Nova's deletes.

The records go from the hooks through the ``notification`` sink and Nova's
notifier, with Nova's serializer, onto the harness's ``fake://`` bus, among
Nova's own notifications; the collector takes them off its pool's queue
into a real store on SQLite.
"""

import os

from nova import context as nova_context
from oslo_db import exception as db_exc

from nova_delete_ext.collector import filters
from nova_delete_ext.tests.functional import base
from nova_delete_ext.tests.functional import collecting
from nova_delete_ext.tests.functional import scenarios


class CollectorTestBase(scenarios.ServerStates, base.DeleteExtTestBase):

    def setUp(self):
        super().setUp()
        self.bus = self.useFixture(collecting.OnTheBus(self))
        self.collecting = self.useFixture(collecting.Collecting(
            os.path.join(self.temp_dir, 'records.sqlite')))
        self.store = self.collecting.store

    def stored(self):
        """Every record in the store, by id."""
        found = self.store.list(filters.Filters())
        by_id = {r['id']: r for r in found}
        self.assertEqual(len(found), len(by_id))
        return by_id

    def wait_stored(self, count):
        return self.collecting.wait_for(lambda h: h.stored >= count)

    def send(self, payload, event_type='delete_ext.delete.end'):
        """A message on the bus, as a node's sink would send it."""
        self.bus.notifier.prepare(publisher_id='nova-compute:other').info(
            nova_context.get_admin_context(), event_type, payload)

    def delete_one(self):
        server = self.server_active()
        self._delete_server(server)
        return self.wait_for_record(server)


class TestCollector(CollectorTestBase):

    def test_records_of_several_deletes_arrive_once_each(self):
        self.use_policies('protect', 'verify')
        deleted = [self.server_active(), self.server_stopped(),
                   self.server_paused()]
        for server in deleted:
            self._delete_server(server)
        protected = self.server_active()
        self.api.post_server_metadata(protected['id'],
                                      {'delete_protection': 'true'})
        self.assert_conflict(self.api.delete_server, protected['id'])
        self.flags(reclaim_instance_interval=3600)
        restored = self.server_active()
        self.api.delete_server(restored['id'])
        self._wait_for_state_change(restored, 'SOFT_DELETED')
        self.api.post_server_action(restored['id'], {'restore': None})
        self._wait_for_state_change(restored, 'ACTIVE')
        for server in deleted:
            self.check_record(server)
        self.wait_for_record(restored, 2)
        written = self.records()
        kinds = sorted((r['kind'], r['outcome']) for r in written)
        self.assertEqual(
            [('check', 'checked')] * 3 + [('delete', 'deleted')] * 3 +
            [('delete', 'denied'), ('delete', 'restored'),
             ('delete', 'soft_deleted')], kinds)

        health = self.wait_stored(len(written))
        stored = self.stored()
        self.assertEqual({r['id'] for r in written}, set(stored))
        for record in written:
            self.assertEqual(dict(record, schema_version='1.1'),
                             stored[record['id']])
        # Nova's own notifications on the same topic never reach the store.
        self.assertEqual(dict(received=9, stored=9, duplicates=0,
                              malformed=0, requeued=0, store_failures=0),
                         {k: v for k, v in health.snapshot().items()
                          if k not in ('last_stored_at', 'retry_delay')})
        check = [r for r in written if r['kind'] == 'check'][0]
        self.assertEqual([dict(check, schema_version='1.1')],
                         self.store.checks_of(check['delete_id']))

    def test_malformed_message_is_acknowledged_and_counted(self):
        self.send('{"not JSON')
        self.send({'kind': 'delete', 'instance_uuid': 'not a record'})
        self.send({'kind': 'delete', 'id': 'from-the-future',
                   'instance_uuid': 'x', 'schema_version': '2.0',
                   'requested_at': '2030-01-01T00:00:00+00:00'})
        # Acknowledged, not requeued: the records behind them get through.
        record = self.delete_one()
        health = self.wait_stored(1)
        self.assertEqual((4, 1, 3, 0), (health.received, health.stored,
                                        health.malformed, health.requeued))
        self.assertEqual([record['id']], list(self.stored()))

    def test_redelivered_record_is_stored_once(self):
        record = self.delete_one()
        self.wait_stored(1)
        self.send(dict(record, schema_version='1.1'))
        health = self.collecting.wait_for(lambda h: h.duplicates == 1)
        self.assertEqual(1, health.stored)
        self.assertEqual([record['id']], list(self.stored()))

    def test_store_failure_requeues_then_stores(self):
        real_add = self.store.add
        calls = []

        def add(records):
            calls.append([r['id'] for r in records])
            if len(calls) == 1:
                raise db_exc.DBConnectionError('the database went away')
            return real_add(records)

        self.store.add = add
        record = self.delete_one()
        health = self.wait_stored(1)
        self.assertEqual([[record['id']]] * 2, calls)
        self.assertEqual((1, 1, 2), (health.store_failures, health.requeued,
                                     health.received))
        self.assertEqual([record['id']], list(self.stored()))
