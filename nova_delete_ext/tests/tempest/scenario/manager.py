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

"""Base class of the nova-delete-ext scenario tests."""

from tempest.common import waiters
from tempest import config
from tempest.lib.common.utils import test_utils
from tempest.lib import exceptions as lib_exc
from tempest.scenario import manager

CONF = config.CONF


class DeleteExtScenarioTest(manager.ScenarioTest):
    """Scenario base: one server per test, removed by cleanups.

    ``ScenarioTest.create_server`` schedules the delete of every server it
    boots and the wait for its termination; Tempest's termination waiter
    force-deletes a server that the recycle policy soft-deleted, so those
    cleanups hold whatever policies the cloud runs.
    """

    @classmethod
    def setup_clients(cls):
        super().setup_clients()
        # reset-state and shelve-offload are admin-only; ports are listed
        # as admin so that a port left in another project is seen too.
        cls.admin_servers_client = cls.os_admin.servers_client
        cls.admin_ports_client = cls.os_admin.ports_client

    def delete_and_wait(self, server_id):
        """DELETE ``server_id`` and wait until it answers 404."""
        self.servers_client.delete_server(server_id)
        waiters.wait_for_server_termination(self.servers_client, server_id)

    def wait_for_hard_delete(self, server_id):
        """Wait until ``server_id`` answers 404; fail if it is soft-deleted.

        Tempest's termination waiter would force-delete a soft-deleted
        server and so hide a recycle bin that kept it.
        """
        def _gone():
            try:
                server = self.servers_client.show_server(server_id)['server']
            except lib_exc.NotFound:
                return True
            self.assertNotEqual(
                'SOFT_DELETED', server['status'],
                'Server %s was soft-deleted instead of deleted.' % server_id)
            return False

        if not test_utils.call_until_true(_gone, CONF.compute.build_timeout,
                                          CONF.compute.build_interval):
            self.fail('Server %s still exists %s seconds after its delete.'
                      % (server_id, CONF.compute.build_timeout))

    def ports_of(self, server_id):
        """Return the Neutron ports whose ``device_id`` is ``server_id``."""
        return self.admin_ports_client.list_ports(
            device_id=server_id)['ports']
