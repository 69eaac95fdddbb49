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

"""Every delete path of a real Nova, and the record each one writes.

Each test drives a server of the in-process Nova into a state, deletes it
through the API (or lets Nova's periodic task or a restart do it), then
checks the record and that Nova really finished the delete.
"""

from nova.compute import power_state
from nova import context as nova_context
from nova import objects
from nova.tests import fixtures as nova_fixtures

from nova_delete_ext.record import sysmeta
from nova_delete_ext.tests.functional import base
from nova_delete_ext.tests.functional import scenarios

ON_HOST = ['allocations', 'disks', 'domain', 'ports', 'volumes']
NO_VOLUMES = ['allocations', 'disks', 'domain', 'ports']


class DeletePathTestBase(scenarios.ServerStates, base.DeleteExtTestBase):

    def delete_and_check(self, server, **expected):
        # The record keeps the state the API showed when it was asked.
        expected.setdefault('vm_state', server['OS-EXT-STS:vm_state'])
        expected.setdefault('power_state', power_state.STATE_MAP[
            server['OS-EXT-STS:power_state']])
        self._delete_server(server)
        self.assert_gone(server)
        record = self.only_record(server)
        expected.setdefault('trigger', 'api')
        expected.setdefault('delete_type', 'delete')
        expected.setdefault('outcome', 'deleted')
        for key, value in expected.items():
            self.assertEqual(value, record[key], '%s in %s' % (key, record))
        self.assertEqual(server['id'], record['instance_uuid'])
        self.assertEqual(server['tenant_id'], record['project_id'])
        self.assertTrue(record['request_id'].startswith('req-'), record)
        self.assertGreater(record['duration_ms'], 0)
        self.assertNotIn('error', record)
        self.assertEqual([], self.neutron.list_ports(
            is_admin=True, device_id=server['id'])['ports'])
        return record


class TestDeleteOnComputeHost(DeletePathTestBase):
    """States whose guest lives on a compute host that is up."""

    def test_active(self):
        server = self.server_active()
        record = self.delete_and_check(
            server, vm_state='active', task_state=None, power_state='running',
            host='compute', path='compute', released=NO_VOLUMES)
        self.assertEqual([], record['retained'])

    def test_active_with_volume(self):
        server = self.server_active()
        self._attach_volume(server,
                            nova_fixtures.CinderFixture.IMAGE_BACKED_VOL)
        self.delete_and_check(server, vm_state='active', path='compute',
                              released=ON_HOST)
        self.assertEqual(
            [], list(self.cinder.volume_ids_for_instance(server['id'])))

    def test_stopped(self):
        self.delete_and_check(self.server_stopped(), vm_state='stopped',
                              power_state='shutdown', path='compute',
                              released=NO_VOLUMES)

    def test_paused(self):
        self.delete_and_check(self.server_paused(), vm_state='paused',
                              path='compute')

    def test_suspended(self):
        self.delete_and_check(self.server_suspended(), vm_state='suspended',
                              path='compute')

    def test_rescued(self):
        self.delete_and_check(self.server_rescued(), vm_state='rescued',
                              path='compute')

    def test_resized_confirms_first(self):
        record = self.delete_and_check(self.server_resized(),
                                       vm_state='resized', path='compute')
        self.assertEqual(['confirm_resize'], record['steps'])

    def test_shelved(self):
        server = self.server_shelved()
        record = self.delete_and_check(server, vm_state='shelved',
                                       power_state='shutdown', path='compute')
        self.assertIn('shelve_image', record['released'])

    def test_error_with_host(self):
        self.delete_and_check(self.server_error(), vm_state='error',
                              host='compute', path='compute')

    def test_force_delete(self):
        server = self.server_active()
        self.api.post_server_action(server['id'], {'forceDelete': None})
        self.assert_gone(server)
        record = self.only_record(server)
        self.assertEqual('force_delete', record['delete_type'])
        self.assertEqual('compute', record['path'])
        self.assertEqual('deleted', record['outcome'])


class TestDeleteInNovaApi(DeletePathTestBase):
    """Paths nova-api finishes itself, without a compute host."""

    def test_shelved_offloaded(self):
        record = self.delete_and_check(
            self.server_shelved_offloaded(), vm_state='shelved_offloaded',
            host=None, path='local')
        self.assertEqual(['ports', 'shelve_image'], record['released'])
        self.assertEqual([], record['retained'])

    def test_compute_host_down(self):
        server = self.server_active()
        self.compute_host_down()
        record = self.delete_and_check(server, vm_state='active',
                                       host='compute', path='local',
                                       released=['allocations', 'ports'])
        # nova-api cannot reach the guest: it stays on the dead host.
        self.assertEqual(['disks', 'domain'], record['retained'])

    def test_error_without_host(self):
        self.delete_and_check(self.server_error_no_host(), vm_state='error',
                              host=None, path='local')

    def test_building_before_scheduling(self):
        server = self.server_building()
        record = self.delete_and_check(server, vm_state='building',
                                       path='build_request')
        self.assertIn('build_request', record['released'])


class TestSoftDeleteRestoreReclaim(DeletePathTestBase):

    def test_soft_delete_then_force_delete(self):
        server = self.server_soft_delete()
        soft = self.only_record(server)
        self.assertEqual('soft_delete', soft['delete_type'])
        self.assertEqual('soft_deleted', soft['outcome'])
        self.assertEqual('compute', soft['path'])
        self.assertEqual([], soft['released'])
        self.assertIn('domain', soft['retained'])

        self.api.post_server_action(server['id'], {'forceDelete': None})
        self.assert_gone(server)
        forced = self.records(server['id'])[1]
        self.assertEqual('force_delete', forced['delete_type'])
        self.assertEqual('soft-delete', forced['vm_state'])
        self.assertEqual('deleted', forced['outcome'])

    def test_carried_facts_are_never_saved(self):
        # nova-compute saves the instance while soft deleting it; the entry
        # nova-api carried must not go into the database with it.
        server = self.server_soft_delete()
        ctxt = nova_context.get_admin_context()
        with nova_context.target_cell(ctxt,
                                      self.cell_mappings['cell1']) as cctxt:
            instance = objects.Instance.get_by_uuid(
                cctxt, server['id'], expected_attrs=['system_metadata'])
        self.assertNotIn(sysmeta.REQUEST_KEY, instance.system_metadata)
        self.assertEqual('soft_deleted', self.only_record(server)['outcome'])

    def test_restore(self):
        server = self.server_soft_delete()
        self.api.post_server_action(server['id'], {'restore': None})
        self._wait_for_state_change(server, 'ACTIVE')
        restored = self.records(server['id'])[1]
        self.assertEqual('restore', restored['delete_type'])
        self.assertEqual('soft-delete', restored['vm_state'])
        self.assertIsNone(restored['task_state'])
        self.assertEqual('restored', restored['outcome'])

    def test_reclaim(self):
        server = self.server_soft_delete()
        self.reclaim_now()
        self.assert_gone(server)
        reclaimed = self.records(server['id'])[1]
        self.assertEqual('reclaim', reclaimed['trigger'])
        self.assertEqual('soft-delete', reclaimed['vm_state'])
        self.assertEqual('compute', reclaimed['path'])
        self.assertEqual('deleted', reclaimed['outcome'])
        self.assertIn('domain', reclaimed['released'])


class TestDeleteResumedAfterCrash(DeletePathTestBase):

    def test_restart_mid_delete(self):
        server = self.server_active()
        self.delete_interrupted_then_restart(server)
        self.assert_gone(server)
        record = self.only_record(server)
        self.assertEqual('resume', record['trigger'])
        self.assertEqual('deleting', record['task_state'])
        self.assertEqual('compute', record['path'])
        self.assertEqual('deleted', record['outcome'])

    def test_restart_after_vm_state_deleted(self):
        # The after-delete policies check the resumed delete too.
        self.use_policies('verify')
        server = self.server_active()
        self.delete_half_done_then_restart(server)
        self.assert_gone(server)
        record = self.only_record(server)
        self.assertEqual(('delete', 'resume', 'deleted', None),
                         (record['delete_type'], record['trigger'],
                          record['vm_state'], record['task_state']))
        self.assertEqual(('compute', 'deleted', ['allocations']),
                         (record['path'], record['outcome'],
                          record['released']))
        check = self.check_record(server)
        self.assertEqual(('checked', ['verify:clean']),
                         (check['outcome'], check['decisions']))
