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

"""Take a server of the in-process Nova into each state a delete starts from.

Shared by the functional tests, the demo and the benchmark. Methods are
mixed into a :class:`~nova_delete_ext.tests.functional.base.DeleteExtTestBase`
and return the server as the API shows it.
"""

import datetime

import fixtures

from keystoneauth1 import exceptions as ks_exc
from neutronclient.common import exceptions as neutron_client_exc
from nova.compute import power_state
from nova.compute import rpcapi as compute_rpcapi
from nova.compute import vm_states
from nova.conductor import manager as conductor_manager
from nova import context as nova_context
from nova import exception
from nova import objects
from nova.scheduler.client import report
from nova.tests import fixtures as nova_fixtures
from nova.volume import cinder
from oslo_utils import timeutils

#: A port of the Neutron fixture that exists before any server: Nova
#: unbinds it on delete instead of deleting it.
PORT_1 = nova_fixtures.NeutronFixture.port_1['id']
#: A volume of the Cinder fixture that can be attached to a server.
VOLUME = nova_fixtures.CinderFixture.IMAGE_BACKED_VOL


class ServerStates:

    #: While true, conductor drops build requests (see setUp()).
    hold_builds = False

    def setUp(self):
        # Installed before any build: the conductor's RPC endpoint keeps
        # using what it found at its first dispatch.
        build = conductor_manager.ComputeTaskManager.\
            schedule_and_build_instances

        def schedule_and_build_instances(manager, *args, **kwargs):
            if not self.hold_builds:
                return build(manager, *args, **kwargs)

        self.stub_out('nova.conductor.manager.ComputeTaskManager.'
                      'schedule_and_build_instances',
                      schedule_and_build_instances)
        super().setUp()

    def boot(self, **kwargs):
        kwargs.setdefault(
            'networks',
            [{'uuid': nova_fixtures.NeutronFixture.network_1['id']}])
        return self._create_server(**kwargs)

    def server_in(self, state):
        """A new server in ``state`` (a vm_state, or ``building``)."""
        return getattr(self, 'server_' + state.replace('-', '_'))()

    def server_active(self):
        return self.boot()

    def server_stopped(self):
        return self._stop_server(self.boot())

    def server_paused(self):
        server = self.boot()
        self.api.post_server_action(server['id'], {'pause': None})
        return self._wait_for_state_change(server, 'PAUSED')

    def server_suspended(self):
        return self._suspend_server(self.boot())

    def server_rescued(self):
        return self._rescue_server(self.boot())

    def server_resized(self):
        self.flags(allow_resize_to_same_host=True)
        server = self.boot()
        flavor = self._create_flavor(memory_mb=1024, vcpu=1, disk=1)
        return self._resize_server(server, flavor)

    def server_shelved(self):
        self.flags(shelved_offload_time=-1)
        return self._shelve_server(self.boot(), expected_state='SHELVED')

    def server_shelved_offloaded(self):
        self.flags(shelved_offload_time=0)
        return self._shelve_server(self.boot())

    def server_soft_delete(self):
        self.flags(reclaim_instance_interval=3600)
        server = self.boot()
        self.api.delete_server(server['id'])
        server = self._wait_for_state_change(server, 'SOFT_DELETED')
        self.flags(reclaim_instance_interval=0)
        return server

    def server_error(self):
        server = self.boot()
        self.api.post_server_action(server['id'],
                                    {'os-resetState': {'state': 'error'}})
        return self._wait_for_state_change(server, 'ERROR',
                                           wait_for_fault_key=False)

    def server_error_no_host(self):
        # The scheduler finds no host: vm_state is error and the instance
        # never gets one.
        with fixtures.MockPatch(
                'nova.scheduler.client.query.SchedulerQueryClient.'
                'select_destinations',
                side_effect=exception.NoValidHost(reason='none here')):
            return self.boot(expected_state='ERROR')

    def server_building(self):
        # Conductor never picks the request up: the server stays a
        # BuildRequest in the API database, as when a delete races a boot.
        self.hold_builds = True
        try:
            return self.boot(expected_state='BUILD')
        finally:
            self.hold_builds = False

    # Actions beyond a plain delete ----------------------------------------

    def compute_host_down(self):
        """Stop the compute service and mark it down, as after a crash."""
        self.compute.stop()
        service = self.admin_api.get_services(binary='nova-compute',
                                              host='compute')[0]
        self.admin_api.put_service_force_down(service['id'], True)

    def reclaim_now(self, older_than=3600):
        """Run the periodic reclaim as if ``older_than`` seconds went by."""
        self.flags(reclaim_instance_interval=older_than)
        future = timeutils.utcnow() + datetime.timedelta(
            seconds=older_than + 1)
        timeutils.set_time_override(future)
        self.addCleanup(timeutils.clear_time_override)
        try:
            self.compute.manager._reclaim_queued_deletes(
                nova_context.get_admin_context())
        finally:
            timeutils.clear_time_override()
            self.flags(reclaim_instance_interval=0)
            # A heartbeat nova-compute sent meanwhile (its own thread, in
            # threading mode) is an hour ahead, and Nova takes a service
            # whose last heartbeat is that far from now, either way, for
            # down: nova-api would then delete on its own. Beat again.
            self.compute.servicegroup_api._driver._report_state(self.compute)

    def delete_interrupted_then_restart(self, server, before_restart=None):
        """nova-api marks the delete, nova-compute dies before doing it.

        The cast to the compute host is lost, the instance stays in
        task_state ``deleting``; restarting nova-compute resumes it.
        ``before_restart(server)`` runs while nova-compute is down.
        """
        original = compute_rpcapi.ComputeAPI.terminate_instance
        compute_rpcapi.ComputeAPI.terminate_instance = (
            lambda *args, **kwargs: None)
        try:
            self.api.delete_server(server['id'])
        finally:
            compute_rpcapi.ComputeAPI.terminate_instance = original
        self._wait_for_server_parameter(
            server, {'OS-EXT-STS:task_state': 'deleting'})
        if before_restart is not None:
            before_restart(server)
        self.compute = self.restart_compute_service(self.compute)

    def delete_half_done_then_restart(self, server):
        """nova-compute dies between vm_state ``deleted`` and the destroy.

        What ``_delete_instance`` has saved when it dies there: vm_state
        ``deleted``, no task, no power state; the instance is not destroyed
        in the database. Restarting nova-compute completes the delete
        (``_complete_partial_deletion``).
        """
        instance = objects.Instance.get_by_uuid(
            nova_context.get_admin_context(), server['id'])
        instance.vm_state = vm_states.DELETED
        instance.task_state = None
        instance.power_state = power_state.NOSTATE
        instance.save()
        self.compute = self.restart_compute_service(self.compute)


def _fail_once(original, error, applies=lambda *args, **kwargs: True):
    """``original``, except that its first matching call raises ``error``.

    The outage is over by the time anything looks at the leak afterwards,
    as it usually is in a deployment.
    """
    failed = []

    def call(*args, **kwargs):
        if not failed and applies(*args, **kwargs):
            failed.append(True)
            raise error
        return original(*args, **kwargs)
    return call


class LeakyDeletes:
    """Deletes during which one cleanup call of Nova fails, once.

    Nova logs each of these failures and finishes the delete anyway, which
    is how resources leak in a deployment.
    """

    def delete_keeping_allocations(self, server):
        delete = _fail_once(
            report.SchedulerReportClient.delete,
            ks_exc.ConnectFailure('placement is away'),
            lambda client, url, *a, **k: url.startswith('/allocations/'))
        with fixtures.MockPatchObject(report.SchedulerReportClient, 'delete',
                                      delete):
            self._delete_server(server)

    def delete_keeping_port_bound(self, server):
        update_port = _fail_once(
            self.neutron.update_port, RuntimeError('neutron is away'),
            lambda port_id, body=None: body['port'].get('device_id') == '')
        with fixtures.MockPatchObject(self.neutron, 'update_port',
                                      update_port):
            self._delete_server(server)

    def delete_keeping_attachment(self, server):
        # Wraps the CinderFixture's own stand-in for the method.
        with fixtures.MockPatchObject(
                cinder.API, 'attachment_delete',
                _fail_once(cinder.API.attachment_delete,
                           RuntimeError('cinder is away'))):
            self._delete_server(server)

    def delete_keeping_snapshot(self, server):
        with fixtures.MockPatchObject(
                self.glance, 'delete',
                _fail_once(self.glance.delete, RuntimeError('away'))):
            self._delete_server(server)

    def shelve_snapshot(self, server):
        """The id of the Glance image shelve took of ``server``."""
        ids = [image['id'] for image in self.glance.images.values()
               if (image.get('properties') or {}).get('instance_uuid') ==
               server['id']]
        self.assertEqual(1, len(ids), ids)
        return ids[0]

    def delete_during_resize(self, server):
        """Delete ``server`` while its resize is under way.

        The migration keeps the source host's allocation. The cast that
        tells the source host to move the server is lost, so the resize
        stays where conductor left it: the source allocation moved to the
        migration as consumer, the destination's held by the server.
        Nova's delete frees the server's own allocation only. Returns the
        migration's uuid.
        """
        self.flags(allow_resize_to_same_host=True)
        flavor = self._create_flavor(memory_mb=1024, vcpu=1, disk=1)
        with fixtures.MockPatchObject(compute_rpcapi.ComputeAPI,
                                      'resize_instance'):
            self.api.post_server_action(server['id'],
                                        {'resize': {'flavorRef': flavor}})
            migration = self._wait_for_migration_status(server,
                                                        ['pre-migrating'])
        self.assertNotEqual({}, self._get_allocations_by_server_uuid(
            migration['uuid']))
        self._delete_server(server)
        return migration['uuid']

    def delete_keeping_nova_port(self, server):
        """Delete ``server``; Neutron loses the delete of Nova's port.

        Returns the id of the port Nova created for ``server``. Neutron
        answers 404 (a proxy in front of it, say), which Nova takes
        for a port already gone: the port stays, bound to the server.
        """
        [port] = self.neutron.list_ports(
            True, device_id=server['id'])['ports']
        delete_port = _fail_once(
            self.neutron.delete_port,
            neutron_client_exc.NeutronClientException(status_code=404))
        with fixtures.MockPatchObject(self.neutron, 'delete_port',
                                      delete_port):
            self._delete_server(server)
        return port['id']
