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

"""Prometheus on the cloud scrapes the collector (issue: alert before
users notice).

The counters Prometheus holds are compared with the records in the store
(:func:`totals.increments` of each, the one definition of what a record
counts, unit-tested on its own); a server held in ``deleting`` is seen in
the stuck gauge and its alert goes pending, then firing, in Prometheus'
``/api/v1/alerts`` (the cloud's rules have a ``for:`` of seconds, see
``tools/cloud/lib/prometheus.py``); verify's leak raises the leak
counter; a collector SIGKILLed and restarted leaves every counter where
the store says.
"""

import collections
import os

import sqlalchemy as sa

from nova_delete_ext.collector import schema
from nova_delete_ext.collector import totals
from nova_delete_ext.tests.cloud import fake_virt
from nova_delete_ext.tests.cloud import ml2
from nova_delete_ext.tests.cloud.scenarios import base
from nova_delete_ext.tests.cloud.scenarios import collector as col

COUNTERS = ('nova_delete_ext_deletes_total',
            'nova_delete_ext_refusals_total',
            'nova_delete_ext_restores_total',
            'nova_delete_ext_leaks_found_total',
            'nova_delete_ext_leaks_repaired_total')
# Labels Prometheus adds to what it scrapes.
SCRAPE_LABELS = ('__name__', 'instance', 'job')


class MonitoringTest(base.CloudTestCase):

    def from_the_store(self):
        """``{(metric, labels): value}`` the stored records add up to."""
        expected = collections.Counter()
        for record in col.records(self.env, 'list', '--limit', '0'):
            for name, labels, amount in totals.increments(
                    schema.parse(record)):
                if name in COUNTERS:
                    expected[(name, labels)] += amount
        return dict(expected)

    def in_prometheus(self):
        found = {}
        for name in COUNTERS:
            for labels, value in col.query(self.env, name).items():
                own = tuple(p for p in labels if p[0] not in SCRAPE_LABELS)
                found[(name, own)] = value
        return found

    def assert_counters_match_the_store(self):
        def same():
            expected = self.from_the_store()
            return expected == self.in_prometheus() and expected
        try:
            expected = base.wait_for('the counters of the store in '
                                     'Prometheus', same, timeout=60)
        except AssertionError:
            self.assertEqual(self.from_the_store(), self.in_prometheus())
        self.assertTrue(expected)

    def leaks_found(self, kind):
        found = col.query(self.env, 'nova_delete_ext_leaks_found_total'
                          '{kind="%s"}' % kind)
        return sum(found.values())

    def test_counters_match_the_store(self):
        self.assert_counters_match_the_store()

    def test_leak_found_by_verify_raises_the_leak_counter(self):
        before = self.leaks_found('ports')
        port = self.create_port(ml2.FAIL_UNBIND_PREFIX + '1')
        server_id = self.create_server(port_id=port)
        self.force_delete(server_id)
        self.wait_until_gone(server_id)
        [delete] = self.wait_for_record(
            server_id, lambda r: r['recorded_by'].startswith('compute'))
        self.assertTrue(self.check_of(delete)['leaks'])
        base.wait_for('the leak counted in Prometheus',
                      lambda: self.leaks_found('ports') == before + 1,
                      timeout=60)
        self.assert_counters_match_the_store()

    def test_server_held_in_deleting_fires_the_stuck_alert(self):
        server_id = self.create_server()
        hold = os.path.join(self.env['compute_state_path'],
                            fake_virt.HOLD_FILE)
        held = os.path.join(self.env['compute_state_path'],
                            fake_virt.HELD_FILE)
        open(hold, 'w').close()
        self.addCleanup(lambda: [os.path.exists(p) and os.unlink(p)
                                 for p in (hold, held)])
        # Forced: recycle would soft-delete it, which destroys nothing.
        self.force_delete(server_id)
        base.wait_for('the destroy held', lambda: os.path.exists(held))
        self.assertEqual('deleting',
                         self.server(server_id)['OS-EXT-STS:task_state'])
        self.assertEqual('ACTIVE', self.server(server_id)['status'])
        # Two hours under way: Nova's own column, which the poll reads.
        engine = sa.create_engine(self.env['cell_database'])
        with engine.begin() as conn:
            conn.execute(sa.text(
                'UPDATE instances SET updated_at = '
                'UTC_TIMESTAMP() - INTERVAL 2 HOUR WHERE uuid = :uuid'),
                {'uuid': server_id})
        engine.dispose()

        stuck = base.wait_for(
            'the stuck gauge', lambda: col.query(
                self.env, 'nova_delete_ext_stuck_deletes{age="1h",'
                'task_state="deleting"} > 0'), timeout=60)
        self.assertEqual([1.0], list(stuck.values()))
        oldest = col.query(self.env,
                           'nova_delete_ext_oldest_stuck_delete_seconds')
        self.assertGreaterEqual(max(oldest.values()), 7200)
        states = []

        def fired():
            state = col.alert_state(self.env, 'NovaDeleteStuck')
            if state and state not in states:
                states.append(state)
            return state == 'firing'
        base.wait_for('NovaDeleteStuck firing', fired, timeout=90,
                      interval=0.5)
        self.assertEqual(['pending', 'firing'], states)

        os.unlink(held)
        self.wait_until_gone(server_id)
        base.wait_for('the stuck gauge back to 0', lambda: not col.query(
            self.env, 'nova_delete_ext_stuck_deletes{age="1h"} > 0'),
            timeout=60)

    def test_collector_killed_keeps_the_counters(self):
        self.assert_counters_match_the_store()
        col.cloud('restart', '--kill', col.COLLECTOR)
        # Prometheus scrapes the new process: the counters come from the
        # store's totals, not from what the killed one had counted.
        base.wait_for('the new collector scraped', lambda: col.query(
            self.env, 'time() - process_start_time_seconds{job='
            '"nova-delete-ext-collector"} < 60'), timeout=60)
        self.assert_counters_match_the_store()
