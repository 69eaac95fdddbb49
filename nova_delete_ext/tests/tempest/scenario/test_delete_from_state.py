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

"""A server deleted from any state leaves no port and no volume attachment.

One test per state the compute API can put a server in; each skips when
the matching ``[compute-feature-enabled]`` flag of Tempest is off.
"""

from tempest.common import utils
from tempest.common import waiters
from tempest import config
from tempest.lib import decorators

from nova_delete_ext.tests.tempest.scenario import manager

CONF = config.CONF


class DeleteFromStateTest(manager.DeleteExtScenarioTest):

    def _require(self, feature):
        if not getattr(CONF.compute_feature_enabled, feature):
            raise self.skipException(
                '[compute-feature-enabled]%s is disabled.' % feature)

    def _wait(self, server_id, status):
        waiters.wait_for_server_status(self.servers_client, server_id,
                                       status)

    def _boot(self):
        """Boot a server, with a volume attached when Cinder is there.

        The volume is created first so that the cleanups run in the order
        that releases it: delete the server, wait for the volume to be
        ``available``, delete the volume.
        """
        volume = None
        if CONF.service_available.cinder:
            volume = self.create_volume()
            self.addCleanup(waiters.wait_for_volume_resource_status,
                            self.volumes_client, volume['id'], 'available')
        server = self.create_server()
        if volume:
            self.servers_client.attach_volume(server['id'],
                                              volumeId=volume['id'])
            waiters.wait_for_volume_resource_status(
                self.volumes_client, volume['id'], 'in-use')
        self.assertNotEmpty(self.ports_of(server['id']))
        return server, volume

    def _delete_and_check(self, server, volume):
        self.delete_and_wait(server['id'])
        self.assertEqual([], self.ports_of(server['id']))
        if volume:
            waiters.wait_for_volume_resource_status(
                self.volumes_client, volume['id'], 'available')
            volume = self.volumes_client.show_volume(volume['id'])['volume']
            self.assertEqual([], volume['attachments'])

    def _shelve(self, server_id, offload):
        self.servers_client.shelve_server(server_id)
        if CONF.compute.shelved_offload_time == 0:
            # Nova offloads as part of the shelve.
            self._wait(server_id, 'SHELVED_OFFLOADED')
            return
        self._wait(server_id, 'SHELVED')
        if offload:
            self.admin_servers_client.shelve_offload_server(server_id)
            self._wait(server_id, 'SHELVED_OFFLOADED')

    @decorators.idempotent_id('cf3c063c-d149-4348-980d-952717c54042')
    @utils.services('compute', 'network')
    def test_delete_active(self):
        server, volume = self._boot()
        self._delete_and_check(server, volume)

    @decorators.idempotent_id('de72a946-eeb3-4c2e-9231-9f1fc2a60640')
    @utils.services('compute', 'network')
    def test_delete_stopped(self):
        server, volume = self._boot()
        self.servers_client.stop_server(server['id'])
        self._wait(server['id'], 'SHUTOFF')
        self._delete_and_check(server, volume)

    @decorators.idempotent_id('f2955e50-bca4-435c-b7b0-7ada7487d028')
    @utils.services('compute', 'network')
    def test_delete_paused(self):
        self._require('pause')
        server, volume = self._boot()
        self.servers_client.pause_server(server['id'])
        self._wait(server['id'], 'PAUSED')
        self._delete_and_check(server, volume)

    @decorators.idempotent_id('5a1de553-c664-4568-8fe7-a8d9981a0fea')
    @utils.services('compute', 'network')
    def test_delete_suspended(self):
        self._require('suspend')
        server, volume = self._boot()
        self.servers_client.suspend_server(server['id'])
        self._wait(server['id'], 'SUSPENDED')
        self._delete_and_check(server, volume)

    @decorators.idempotent_id('2c233262-3dac-4076-93d8-3c8163d6c63b')
    @utils.services('compute', 'network')
    def test_delete_rescued(self):
        self._require('rescue')
        server, volume = self._boot()
        self.servers_client.rescue_server(server['id'])
        self._wait(server['id'], 'RESCUE')
        self._delete_and_check(server, volume)

    @decorators.idempotent_id('3b95bda1-cf9c-42a9-9e6e-22eb159c7287')
    @utils.services('compute', 'network')
    def test_delete_resized(self):
        self._require('resize')
        if CONF.compute.flavor_ref_alt == CONF.compute.flavor_ref:
            raise self.skipException('[compute]flavor_ref_alt is the same '
                                     'flavor as [compute]flavor_ref.')
        server, volume = self._boot()
        # Deleted while VERIFY_RESIZE: Nova confirms the resize first.
        self.servers_client.resize_server(server['id'],
                                          CONF.compute.flavor_ref_alt)
        self._wait(server['id'], 'VERIFY_RESIZE')
        self._delete_and_check(server, volume)

    @decorators.idempotent_id('a4694041-ce11-407b-a706-a03ecf724d01')
    @utils.services('compute', 'network')
    def test_delete_shelved(self):
        self._require('shelve')
        if CONF.compute.shelved_offload_time == 0:
            raise self.skipException('[compute]shelved_offload_time is 0: '
                                     'Nova offloads at once, a server is '
                                     'never left SHELVED.')
        server, volume = self._boot()
        self._shelve(server['id'], offload=False)
        self._delete_and_check(server, volume)

    @decorators.idempotent_id('22848cb0-31e9-4b66-ac3a-368f52a71d6c')
    @utils.services('compute', 'network')
    def test_delete_shelved_offloaded(self):
        self._require('shelve')
        server, volume = self._boot()
        self._shelve(server['id'], offload=True)
        self._delete_and_check(server, volume)
