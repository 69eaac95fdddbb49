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

"""``nova-delete-ext sweep --reclaim``: recycled servers on a dead host.

Only a server's own compute host reclaims it; with that host down, the
sweep reclaims it from the controller side once its retention has passed.
"""

import datetime

from nova import objects
from oslo_utils import timeutils

from nova_delete_ext import hooks
from nova_delete_ext.tests.functional import test_sweep


class TestReclaimOnDeadHost(test_sweep.SweepTestBase):

    def setUp(self):
        super().setUp()
        self.use_policies('protect', 'recycle', delete_ext_recycle={
            'retention': {'active': 60}})
        self.compute2 = self._start_compute('host2')

    def recycled_on(self, host):
        server = self._create_server(
            host=host, networks=[{'uuid': test_sweep.scenarios.nova_fixtures
                                  .NeutronFixture.network_1['id']}])
        self.api.delete_server(server['id'])
        return self._wait_for_state_change(server, 'SOFT_DELETED')

    def soft_deleted_ago(self, server, seconds, **metadata):
        """Move the soft delete ``seconds`` back; set ``metadata``."""
        instance = objects.Instance.get_by_uuid(
            self.ctxt, server['id'], expected_attrs=['metadata'])
        instance.deleted_at = timeutils.utcnow() - datetime.timedelta(
            seconds=seconds)
        instance.metadata.update(metadata)
        instance.save()

    def sweep_reclaim(self):
        """The command as it runs: its own process, without the hooks."""
        hooks.uninstall()
        try:
            code, output = self.sweep('--reclaim')
        finally:
            hooks.install()
        return code, {row['instance_uuid']: row['outcome']
                      for row in output['reclaimed']}

    def test_reclaimed_once_past_retention_only_where_host_is_down(self):
        dead = self.recycled_on('compute')
        protected = self.recycled_on('compute')
        alive = self.recycled_on('host2')
        self.compute_host_down()
        # Within its retention: left in the bin.
        self.assertEqual((0, {}), self.sweep_reclaim())
        for server in (dead, alive):
            self.soft_deleted_ago(server, 61)
        self.soft_deleted_ago(protected, 61, delete_protection='true')

        code, reclaimed = self.sweep_reclaim()
        self.assertEqual(0, code)
        self.assertEqual({dead['id']: 'reclaimed',
                          protected['id']: 'refused'}, reclaimed)
        self.assert_gone(dead)
        record = self.records(dead['id'], kind='delete')[-1]
        self.assertEqual(
            ('delete', 'reclaim', 'soft-delete', 'local', 'deleted'),
            (record['delete_type'], record['trigger'], record['vm_state'],
             record['path'], record['outcome']))
        self.assertTrue(record['recorded_by'].startswith('sweep@'), record)
        self.assertEqual((['allocations', 'ports'], ['disks', 'domain']),
                         (record['released'], record['retained']))
        # Its host is up: nothing changes. Protected: refused, not marked.
        for server in (alive, protected):
            shown = self.api.get_server(server['id'])
            self.assertEqual(('SOFT_DELETED', None),
                             (shown['status'],
                              shown['OS-EXT-STS:task_state']))
            self.assertEqual(1, len(self.records(server['id'], 'delete')))

        # Recorded once: the next run finds nothing more to reclaim.
        self.assertEqual((0, {protected['id']: 'refused'}),
                         self.sweep_reclaim())
        self.assertEqual(2, len(self.records(dead['id'], kind='delete')))

    def test_without_the_option_nothing_is_reclaimed(self):
        server = self.recycled_on('compute')
        self.compute_host_down()
        self.soft_deleted_ago(server, 61)
        code, output = self.sweep()
        self.assertNotIn('reclaimed', output)
        self.assertEqual(0, code)
        self.assertEqual('SOFT_DELETED',
                         self.api.get_server(server['id'])['status'])
