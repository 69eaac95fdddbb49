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

"""The recycle policy on the real in-process Nova."""

from nova.compute import api as compute_api
from nova.compute import rpcapi as compute_rpcapi
from nova.compute import task_states
from nova.compute import vm_states
from nova import context as nova_context
from nova import objects
from nova.tests.functional.api import client

from nova_delete_ext.record import sysmeta
from nova_delete_ext.tests.functional import base
from nova_delete_ext.tests.functional import scenarios


class TestRecycle(scenarios.ServerStates, base.DeleteExtTestBase):

    def setUp(self):
        super().setUp()
        self.use_policies('recycle', delete_ext_recycle={
            'retention': {'active': 60, 'stopped': 86400, 'error': 600}})

    def stored_retention(self, server):
        instance = objects.Instance.get_by_uuid(
            nova_context.get_admin_context(), server['id'],
            expected_attrs=['system_metadata'])
        return instance.system_metadata.get(sysmeta.RETENTION_KEY)

    def test_delete_is_kept_and_can_be_restored(self):
        server = self.server_stopped()
        self.api.delete_server(server['id'])
        server = self._wait_for_state_change(server, 'SOFT_DELETED')
        record = self.only_record(server)
        self.assertEqual('soft_delete', record['delete_type'])
        self.assertEqual('soft_deleted', record['outcome'])
        self.assertEqual('stopped', record['vm_state'])
        self.assertEqual(['recycle:soft_delete(86400s)'],
                         record['decisions'])
        self.assertEqual('86400', self.stored_retention(server))
        # Nothing was released: the port is still bound to it.
        self.assertEqual(1, len(self.neutron.list_ports(
            True, device_id=server['id'])['ports']))
        self.api.post_server_action(server['id'], {'restore': None})
        server = self._wait_for_state_change(server, 'ACTIVE')
        self.assertEqual('restored', self.records(server['id'])[-1]['outcome'])
        # Back from the bin: a later soft delete gets a fresh retention.
        self.assertIsNone(self.stored_retention(server))

    def test_retention_is_per_instance(self):
        active, stopped = self.server_active(), self.server_stopped()
        for server in (active, stopped):
            self.api.delete_server(server['id'])
            self._wait_for_state_change(server, 'SOFT_DELETED')
        # Two minutes on, with reclaim_instance_interval at 120 s: Nova
        # alone would reclaim both; the stopped one is kept for a day.
        self.reclaim_now(older_than=120)
        self.assert_gone(active)
        record = self.records(active['id'])[-1]
        self.assertEqual(('reclaim', 'deleted', 'soft-delete'),
                         (record['trigger'], record['outcome'],
                          record['vm_state']))
        self.assertEqual('SOFT_DELETED',
                         self.api.get_server(stopped['id'])['status'])
        self.assertEqual(1, len(self.records(stopped['id'])))
        self.reclaim_now(older_than=86400)
        self.assert_gone(stopped)

    def test_state_not_listed_is_deleted_at_once(self):
        # Even where Nova itself would soft delete everything.
        self.flags(reclaim_instance_interval=3600)
        server = self.server_paused()
        self._delete_server(server)
        self.assert_gone(server)
        record = self.only_record(server)
        self.assertEqual(('delete', 'deleted'),
                         (record['delete_type'], record['outcome']))
        self.assertEqual(['recycle:delete_now(paused not kept)'],
                         record['decisions'])

    def test_force_delete_is_at_once(self):
        server = self.server_active()
        self.api.post_server_action(server['id'], {'forceDelete': None})
        self.assert_gone(server)
        record = self.only_record(server)
        self.assertEqual(('force_delete', 'deleted', []),
                         (record['delete_type'], record['outcome'],
                          record['decisions']))

    def test_server_never_launched_is_deleted(self):
        server = self.server_error_no_host()
        self._delete_server(server)
        self.assert_gone(server)
        record = self.only_record(server)
        self.assertEqual('deleted', record['outcome'])
        self.assertEqual(['recycle:not_kept(never launched)'],
                         record['decisions'])

    def test_second_delete_keeps_the_server_in_the_bin(self):
        server = self.server_active()
        self.api.delete_server(server['id'])
        server = self._wait_for_state_change(server, 'SOFT_DELETED')
        # A second click, a client retrying; also where nova-api itself
        # would soft delete.
        for interval in (0, 3600):
            self.flags(reclaim_instance_interval=interval)
            self.api.delete_server(server['id'])
        self.assertEqual('SOFT_DELETED',
                         self.api.get_server(server['id'])['status'])
        self.assertEqual('60', self.stored_retention(server))
        kept = self.records(server['id'])[1:]
        self.assertEqual([('kept', ['recycle:kept(already in the bin)'])] * 2,
                         [(r['outcome'], r['decisions']) for r in kept])
        # forceDelete still destroys it.
        self.api.post_server_action(server['id'], {'forceDelete': None})
        self.assert_gone(server)

    def test_second_delete_while_the_first_is_under_way(self):
        """Two DELETEs milliseconds apart must not leave it stuck.

        The second request read the server while the first one's soft
        delete was under way, and acts after nova-compute finished it:
        without the extension's answer it saves task_state soft-deleting
        over the None nova-compute saved, for good.
        """
        ctxt = nova_context.get_admin_context()
        server = self.server_active()
        cast = compute_rpcapi.ComputeAPI.soft_delete_instance
        held = []
        self.stub_out('nova.compute.rpcapi.ComputeAPI.soft_delete_instance',
                      lambda rpcapi, c, instance: held.append(instance))
        self.api.delete_server(server['id'])
        self.assertEqual(1, len(held))
        # The second request reads the server now...
        stale = objects.Instance.get_by_uuid(ctxt, server['id'])
        self.assertEqual(task_states.SOFT_DELETING, stale.task_state)
        # ... nova-compute finishes the first soft delete ...
        self.stub_out('nova.compute.rpcapi.ComputeAPI.soft_delete_instance',
                      cast)
        self.compute.manager.soft_delete_instance(ctxt, held[0])
        # ... and the second request goes on with what it read.
        compute_api.API().delete(ctxt, stale)
        instance = objects.Instance.get_by_uuid(ctxt, server['id'])
        self.assertEqual((vm_states.SOFT_DELETED, None),
                         (instance.vm_state, instance.task_state))
        record = self.records(server['id'])[-1]
        self.assertEqual(('kept', ['recycle:kept(soft-deleting under way)']),
                         (record['outcome'], record['decisions']))
        # Not stuck: it can be restored.
        self.api.post_server_action(server['id'], {'restore': None})
        self._wait_for_state_change(server, 'ACTIVE')

    def test_system_metadata_saved_meanwhile_survives(self):
        """The retention is written alone, not the request's stale copy.

        Nova saves system_metadata whole, dropping every key missing from
        the copy it saves: here a shelve snapshot's id that Nova saved
        after the DELETE read the server.
        """
        ctxt = nova_context.get_admin_context()
        server = self.server_active()
        # The DELETE reads the server...
        stale = objects.Instance.get_by_uuid(
            ctxt, server['id'], expected_attrs=['system_metadata'])
        # ... Nova saves a key through another copy meanwhile...
        fresh = objects.Instance.get_by_uuid(
            ctxt, server['id'], expected_attrs=['system_metadata'])
        fresh.system_metadata['shelved_image_id'] = 'saved-meanwhile'
        fresh.save()
        # ... and the DELETE goes on with what it read.
        compute_api.API().delete(ctxt, stale)
        server = self._wait_for_state_change(server, 'SOFT_DELETED')
        saved = objects.Instance.get_by_uuid(
            ctxt, server['id'], expected_attrs=['system_metadata'])
        self.assertEqual(
            ('saved-meanwhile', '60'),
            (saved.system_metadata.get('shelved_image_id'),
             saved.system_metadata.get(sysmeta.RETENTION_KEY)))
        self.assertEqual(['recycle:soft_delete(60s)'],
                         self.only_record(server)['decisions'])

    def test_delete_under_way_on_a_dead_host_goes_through(self):
        """A delete the host died in the middle of is not kept for good.

        Nova lets a repeated delete through to a local delete when the
        compute service is down; the recycle bin must not stop it.
        """
        server = self.server_active()
        held = []
        self.stub_out('nova.compute.rpcapi.ComputeAPI.soft_delete_instance',
                      lambda rpcapi, c, instance: held.append(instance))
        self.api.delete_server(server['id'])
        self.assertEqual(1, len(held))
        # While the host is up, nothing changes.
        self.api.delete_server(server['id'])
        self._wait_for_server_parameter(
            server, {'OS-EXT-STS:task_state': 'soft-deleting'})
        self.assertEqual(['recycle:kept(soft-deleting under way)'],
                         self.only_record(server)['decisions'])
        self.compute_host_down()
        self.api.delete_server(server['id'])
        self.assert_gone(server)
        record = self.records(server['id'])[-1]
        self.assertEqual(
            ('delete', 'soft-deleting', 'local', 'deleted',
             ['recycle:not_kept(compute host down)']),
            (record['delete_type'], record['task_state'], record['path'],
             record['outcome'], record['decisions']))
        self.assertEqual(2, len(self.records(server['id'])))

    def test_server_in_the_bin_on_a_dead_host_is_deleted(self):
        server = self.server_active()
        self.api.delete_server(server['id'])
        server = self._wait_for_state_change(server, 'SOFT_DELETED')
        self.compute_host_down()
        self.api.delete_server(server['id'])
        self.assert_gone(server)
        record = self.records(server['id'])[-1]
        self.assertEqual(
            ('delete', 'soft-delete', 'local', 'deleted',
             ['recycle:not_kept(compute host down)']),
            (record['delete_type'], record['vm_state'], record['path'],
             record['outcome'], record['decisions']))
        # The guest stays on the dead host until it comes back.
        self.assertEqual(['disks', 'domain'], record['retained'])
        self.assertEqual(2, len(self.records(server['id'])))

    def test_failed_restore_keeps_the_retention(self):
        server = self.server_active()
        self.api.delete_server(server['id'])
        server = self._wait_for_state_change(server, 'SOFT_DELETED')
        self.stub_out('nova.virt.fake.FakeDriver.restore',
                      lambda *args, **kwargs: 1 / 0)
        # The harness's RPC hands the compute host's error back to the API.
        self.assertRaises(client.OpenStackApiException,
                          self.api.post_server_action, server['id'],
                          {'restore': None})
        record = self.wait_for_record(server, count=2)
        self.assertEqual(('restore', 'failed'),
                         (record['delete_type'], record['outcome']))
        self._wait_for_server_parameter(
            server, {'OS-EXT-STS:task_state': None,
                     'status': 'SOFT_DELETED'})
        self.assertEqual('60', self.stored_retention(server))
