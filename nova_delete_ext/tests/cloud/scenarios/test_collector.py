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

"""The collector on the cloud's RabbitMQ and MariaDB (issue: every delete
in one place).

nova-api and nova-compute send their records as notifications as well as
to the record file (``sinks = file,notification``); one
``nova-delete-ext-collector`` stores them in MariaDB. Run with protect,
recycle (an hour's retention), capture and verify repairing.
"""

import time

from nova_delete_ext.tests.cloud import ml2
from nova_delete_ext.tests.cloud.scenarios import base
from nova_delete_ext.tests.cloud.scenarios import collector as col

# Fields the file and the database both have, whatever their format.
OWN = ('id', 'kind', 'instance_uuid', 'project_id', 'user_id',
       'request_id', 'vm_state', 'task_state', 'host', 'delete_type',
       'trigger', 'path', 'outcome', 'released', 'retained', 'decisions',
       'recorded_by', 'duration_ms')


class CollectorTest(base.CloudTestCase):

    def action(self, server_id, name, body=None):
        resp = self.nova.post('/servers/%s/action' % server_id,
                              json={name: body})
        self.assertEqual(202, resp.status_code, resp.text)

    def collected(self, server_id, count):
        """The server's records in the database, once ``count`` are."""
        def found():
            stored = col.records(self.env, 'list', '--server', server_id,
                                 '--limit', '0')
            return len(stored) >= count and stored
        return base.wait_for('%d records of %s in the database'
                             % (count, server_id), found, interval=2)

    def assert_same_as_the_files(self, server_id):
        """The database's answer for the server is the record files'."""
        in_files = self.records(server_id) + self.records(server_id,
                                                          kind='check')
        self.assertTrue(in_files, server_id)
        stored = self.collected(server_id, len(in_files))
        self.assertEqual(sorted(r['id'] for r in in_files),
                         sorted(r['id'] for r in stored))
        by_id = {r['id']: r for r in stored}
        for record in in_files:
            self.assertEqual({k: record.get(k) for k in OWN},
                             {k: by_id[record['id']].get(k) for k in OWN})
        return stored

    def test_each_delete_once_as_in_the_record_files(self):
        # Refused by protect, then recycled, restored, force-deleted.
        tag = self.env['protect_tag']
        kept = self.create_server(tags=[tag])
        self.assertEqual(409, self.delete(kept).status_code)
        self.assertEqual(204, self.nova.delete(
            '/servers/%s/tags/%s' % (kept, tag)).status_code)
        self.assertEqual(204, self.delete(kept).status_code)
        self.wait_for_status(kept, 'SOFT_DELETED')
        self.action(kept, 'restore')
        self.wait_for_status(kept, 'ACTIVE')
        self.force_delete(kept)
        self.wait_until_gone(kept)
        # A port Neutron refuses to unbind once: verify finds it bound
        # after the delete and repairs it.
        port = self.create_port(ml2.FAIL_UNBIND_PREFIX + '1')
        leaky = self.create_server(port_id=port)
        self.force_delete(leaky)
        self.wait_until_gone(leaky)
        # Shelved and offloaded: nova-api deletes it itself (path local).
        shelved = self.create_server()
        self.action(shelved, 'shelve')
        self.wait_for_status(shelved, 'SHELVED')
        self.action(shelved, 'shelveOffload')
        self.wait_for_status(shelved, 'SHELVED_OFFLOADED')
        self.assertEqual(204, self.delete(shelved).status_code)
        self.wait_until_gone(shelved)

        kept_records = self.wait_for_record(
            kept, lambda r: r['outcome'] == 'deleted')
        outcomes = [r['outcome'] for r in kept_records]
        for wanted in ('denied', 'soft_deleted', 'deleted'):
            self.assertIn(wanted, outcomes)
        self.assertIn('restore', [r['delete_type'] for r in kept_records])
        self.assert_same_as_the_files(kept)
        [delete] = self.wait_for_record(
            leaky, lambda r: r['recorded_by'].startswith('compute'))
        check = self.check_of(delete)
        self.assertEqual(['ports'], [leak['kind'] for leak in check['leaks']])
        self.assertTrue(check['repaired'], check)
        self.assert_same_as_the_files(leaky)
        shown = col.records(self.env, 'show', delete['id'])
        self.assertEqual([delete['id'], check['id']],
                         [r['id'] for r in shown])
        self.assertEqual(check['leaks'], shown[1]['leaks'])
        self.assertEqual(check['repaired'], shown[1]['repaired'])
        records = self.wait_for_record(
            shelved, lambda r: r['recorded_by'].startswith('api'))
        self.assertIn('local', [r['path'] for r in records])
        self.assert_same_as_the_files(shelved)

    def test_collector_killed_and_database_stopped_lose_nothing(self):
        flow = col.Flow(self.env, count=1500, rate=100).start()
        time.sleep(4)
        col.cloud('restart', '--kill', col.COLLECTOR)
        flow.wait()
        count = col.count_of(self.env, flow.project)
        self.assertLessEqual(count[0], flow.count)

        # MariaDB stopped for a minute while records keep coming.
        col.cloud('stop', 'mariadb')
        self.addCleanup(col.cloud, 'start', 'mariadb')
        down = col.Flow(self.env, count=600, rate=20).start()
        time.sleep(60)
        col.cloud('start', 'mariadb')
        down.wait()
        for each in (flow, down):
            base.wait_for(
                'the %d records of %s stored' % (each.count, each.project),
                lambda: col.count_of(self.env, each.project)[0]
                >= each.count, timeout=180, interval=2)
            self.assertEqual((each.count, each.count),
                             col.count_of(self.env, each.project))
        page = col.metrics(self.env)
        self.assertGreater(
            page[('nova_delete_ext_collector_store_failures_total', ())]
            + page[('nova_delete_ext_collector_requeued_total', ())], 0,
            'the collector never saw the database down')

    def test_two_collectors_of_one_pool_share_the_work(self):
        col.cloud('start', col.COLLECTOR_2)
        self.addCleanup(col.cloud, 'stop', col.COLLECTOR_2)
        key = ('nova_delete_ext_collector_records_stored_total', ())
        before = {n: col.metrics(self.env, n)[key]
                  for n in (col.COLLECTOR, col.COLLECTOR_2)}
        flow = col.Flow(self.env, count=2000, rate=400).start()
        flow.wait()
        base.wait_for('the flow stored',
                      lambda: col.count_of(self.env, flow.project)[0]
                      >= flow.count, timeout=120, interval=2)
        self.assertEqual((flow.count, flow.count),
                         col.count_of(self.env, flow.project))
        stored = {n: col.metrics(self.env, n)[key] - before[n]
                  for n in before}
        self.assertEqual(flow.count, sum(stored.values()), stored)
        for name, count in stored.items():
            self.assertGreater(count, 0, '%s stored none: %s' % (name,
                                                                 stored))

    def test_records_outlive_novas_archive(self):
        server_id = self.create_server()
        self.force_delete(server_id)
        self.wait_until_gone(server_id)
        self.wait_for_record(server_id, lambda r: r['outcome'] == 'deleted')
        before = self.assert_same_as_the_files(server_id)
        base.manage(self.env, 'db', 'archive_deleted_rows', '--all-cells',
                    '--purge', '--until-complete', ok=(0, 1))
        resp = self.nova.get('/servers/%s/os-instance-actions' % server_id)
        self.assertEqual(404, resp.status_code, resp.text)
        after = col.records(self.env, 'list', '--server', server_id,
                            '--limit', '0')
        self.assertEqual(before, after)
