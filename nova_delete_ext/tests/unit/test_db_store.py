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

"""Tests of :mod:`nova_delete_ext.db.api`: the idempotent store, its
counters, its listings and its purge, on SQLite and on MariaDB."""

import datetime
import threading
from unittest import mock

from oslo_db import exception as db_exc
import testscenarios

from nova_delete_ext.collector import filters as filters_mod
from nova_delete_ext.collector import totals
from nova_delete_ext.db import api as db_api
from nova_delete_ext.db import migration
from nova_delete_ext.tests.unit import base
from nova_delete_ext.tests.unit import store_fixtures as sf

load_tests = testscenarios.load_tests_apply_scenarios

BACKENDS = [('sqlite', {'backend': 'sqlite'}), ('mysql', {'backend': 'mysql'})]
T0 = datetime.datetime(2026, 3, 12, 10, 0)


def at(minutes):
    """An ISO time ``minutes`` after T0."""
    return (T0 + datetime.timedelta(minutes=minutes)).isoformat() + '+00:00'


def deletes_total(store):
    return sum(value for (metric, _), value in store.totals().items()
               if metric == totals.DELETES_TOTAL)


class StoreAddTest(base.TestCase):
    scenarios = BACKENDS

    def setUp(self):
        super().setUp()
        self.db = self.useFixture(sf.Database(self.backend))
        self.store = self.db.store

    def test_stored_once_across_batches(self):
        first, second = sf.delete_record(), sf.delete_record()
        result = self.store.add([first])
        self.assertEqual((1, 0, [first]),
                         (result.stored, result.duplicates, result.new))
        result = self.store.add([first, second])
        self.assertEqual((1, 1, [second]),
                         (result.stored, result.duplicates, result.new))
        self.assertEqual(2, len(self.store.list(filters_mod.Filters())))
        self.assertEqual(2.0, deletes_total(self.store))

    def test_stored_once_within_a_batch(self):
        record = sf.delete_record()
        result = self.store.add([record, dict(record), record])
        self.assertEqual((1, 2), (result.stored, result.duplicates))
        self.assertEqual([record], result.new)
        self.assertEqual(1.0, deletes_total(self.store))

    def test_redelivered_batch_changes_nothing(self):
        batch = [sf.delete_record() for _ in range(3)]
        self.store.add(batch)
        before = self.store.totals()
        result = self.store.add(batch)
        self.assertEqual((0, 3, []),
                         (result.stored, result.duplicates, result.new))
        self.assertEqual(before, self.store.totals())

    def test_totals_by_labels(self):
        self.store.add([sf.delete_record(), sf.delete_record(),
                        sf.delete_record(outcome='denied', path='local',
                                         recorded_by='api@ctl1')])
        labels = (('outcome', 'deleted'), ('path', 'compute'),
                  ('service', 'compute'), ('vm_state', 'active'))
        self.assertEqual(2.0, self.store.totals()[
            totals.DELETES_TOTAL, labels])
        self.assertEqual(3.0, deletes_total(self.store))

    def test_record_kept_whole(self):
        delete = sf.delete_record(future_field={'a': [1]})
        check = sf.check_record(delete)
        self.store.add([check, delete])  # the check may come first
        self.assertEqual(delete, self.store.get(delete['id']))
        self.assertEqual([check], self.store.checks_of(delete['id']))
        self.assertIsNone(self.store.get('no-such-id'))

    def test_last_stored_at(self):
        self.assertIsNone(self.store.last_stored_at())
        self.store.add([sf.delete_record()])
        stored_at = self.store.last_stored_at()
        self.assertLess(datetime.datetime.utcnow() - stored_at,
                        datetime.timedelta(minutes=1))

    def test_nothing_stored_when_the_transaction_fails(self):
        good = sf.delete_record()
        with mock.patch.object(db_api.upsert, 'add_totals', autospec=True,
                               side_effect=db_exc.DBConnectionError('down')):
            self.assertRaises(db_exc.DBConnectionError, self.store.add,
                              [good])
        self.assertIsNone(self.store.get(good['id']))
        self.assertEqual(1, self.store.add([good]).stored)

    def test_id_stored_by_another_collector_meanwhile(self):
        # Another collector commits the same record between this one's
        # look-up of the stored ids and its insert: the insert fails on
        # the primary key, the batch is retried, the record is skipped.
        if self.backend == 'sqlite':
            self.skipTest('SQLite locks the database for the look-up\'s '
                          'transaction: no other writer gets in between')
        record, other = sf.delete_record(), sf.delete_record()
        other_store = db_api.Store(self.db.url)
        real = db_api._stored_ids
        main = threading.current_thread()
        calls = []

        def stored_ids(session, ids):
            if threading.current_thread() is not main:
                return real(session, ids)
            calls.append(ids)
            if len(calls) == 1:
                found = real(session, ids)
                thread = threading.Thread(target=other_store.add,
                                          args=([record],))
                thread.start()
                thread.join()
                return found
            return real(session, ids)

        with mock.patch.object(db_api, '_stored_ids', autospec=True,
                               side_effect=stored_ids):
            result = self.store.add([record, other])
        self.assertEqual(2, len(calls))
        self.assertEqual((1, 1, [other]),
                         (result.stored, result.duplicates, result.new))
        self.assertEqual(2.0, deletes_total(self.store))

    def test_two_collectors_at_once_store_each_record_once(self):
        records = [sf.delete_record() for _ in range(300)]
        stores = [self.store, db_api.Store(self.db.url)]
        results, errors = [], []

        def add(store, batch):
            try:
                for start in range(0, len(batch), 50):
                    results.append(store.add(batch[start:start + 50]))
            except Exception as exc:
                errors.append(exc)

        threads = [threading.Thread(target=add, args=(store, order))
                   for store, order in zip(stores,
                                           (records, records[::-1]))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual([], errors)
        self.assertEqual(300, sum(r.stored for r in results))
        self.assertEqual(300, sum(r.duplicates for r in results))
        self.assertEqual(300.0, deletes_total(self.store))


class StoreSchemaTest(base.TestCase):

    def test_empty_database_too_old(self):
        store = self.useFixture(sf.Database(sync=False)).store
        error = self.assertRaises(db_api.SchemaTooOld, store.check_schema)
        self.assertIn('run "nova-delete-ext db sync"', str(error))

    def test_synced_database(self):
        self.useFixture(sf.Database()).store.check_schema()

    def test_older_and_newer_revisions(self):
        with mock.patch.object(migration, 'REVISIONS', ('a', 'b')):
            self.assertTrue(migration.is_older(None))
            self.assertTrue(migration.is_older('a'))
            self.assertFalse(migration.is_older('b'))
            # A newer release's revision: its schema only adds to ours.
            self.assertFalse(migration.is_older('c'))

    def test_revisions_are_alembics(self):
        self.assertEqual(migration.script_revisions(), migration.REVISIONS)
