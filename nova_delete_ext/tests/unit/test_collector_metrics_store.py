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

"""The counters from a real record store: restarts, collectors, purges."""

import datetime

from oslo_utils import uuidutils
from oslotest import base

from nova_delete_ext.collector import metrics
from nova_delete_ext.collector import schema
from nova_delete_ext.tests.unit import store_fixtures
from nova_delete_ext.tests.unit import test_collector_totals as records

DELETED = {'outcome': 'deleted', 'path': 'compute', 'service': 'compute',
           'vm_state': 'active'}


def parsed(**fields):
    return schema.parse(records.delete_record(
        id=uuidutils.generate_uuid(), **fields))


class StoreCountersTest(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        self.store = self.useFixture(store_fixtures.Database()).store

    def deletes(self, served=None):
        served = served or metrics.Metrics(self.store)
        served.totals.refresh()
        return served.registry.get_sample_value(
            'nova_delete_ext_deletes_total', DELETED)

    def test_a_restarted_collector_exports_the_same_counters(self):
        self.store.add([parsed(), parsed()])
        self.assertEqual(2.0, self.deletes())
        # A new process: nothing in memory, the store has it all.
        self.assertEqual(2.0, self.deletes())

    def test_collectors_sharing_a_store_export_the_same_values(self):
        first, second = metrics.Metrics(self.store), metrics.Metrics(
            self.store)
        self.store.add([parsed()])  # stored by the first...
        self.store.add([parsed()])  # ...and by the second
        self.assertEqual(2.0, self.deletes(first))
        self.assertEqual(2.0, self.deletes(second))

    def test_a_record_delivered_twice_counts_once(self):
        record = parsed()
        self.store.add([record, record])
        self.store.add([record])
        self.assertEqual(1.0, self.deletes())

    def test_purge_never_lowers_a_counter(self):
        self.store.add([parsed(), parsed(duration_ms=40)])
        self.store.purge(datetime.datetime(2100, 1, 1))
        served = metrics.Metrics(self.store)
        self.assertEqual(2.0, self.deletes(served))
        self.assertEqual(2.0, served.registry.get_sample_value(
            'nova_delete_ext_delete_duration_seconds_count',
            {'path': 'compute'}))
        self.assertEqual(1.0, served.registry.get_sample_value(
            'nova_delete_ext_delete_duration_seconds_bucket',
            {'path': 'compute', 'le': '0.05'}))

    def test_every_counter_from_the_store(self):
        self.store.add([
            parsed(outcome='denied', decisions=['protect:denied(tag)']),
            parsed(delete_type='restore', outcome='restored'),
            schema.parse(records.check_record(
                id=uuidutils.generate_uuid(),
                checked_at='2026-03-12T10:00:30+00:00',
                leaks=[{'kind': 'ports', 'resource_id': records.PORT}],
                repaired=['deleted port %s' % records.PORT]))])
        served = metrics.Metrics(self.store)
        served.totals.refresh()
        get = served.registry.get_sample_value
        self.assertEqual(1.0, get('nova_delete_ext_refusals_total',
                                  {'policy': 'protect'}))
        self.assertEqual(1.0, get('nova_delete_ext_restores_total',
                                  {'outcome': 'restored'}))
        self.assertEqual(1.0, get('nova_delete_ext_checks_total',
                                  {'outcome': 'checked'}))
        self.assertEqual(1.0, get('nova_delete_ext_leaks_found_total',
                                  {'kind': 'ports'}))
        self.assertEqual(1.0, get('nova_delete_ext_leaks_repaired_total',
                                  {'kind': 'ports'}))
