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

"""The recycle policy: deleted servers wait in a restorable recycle bin."""

from tempest.common import utils
from tempest.common import waiters
from tempest import config
from tempest.lib import decorators
from tempest.lib import exceptions as lib_exc

from nova_delete_ext.tests.tempest.scenario import manager

CONF = config.CONF


class RecycleBinTest(manager.DeleteExtScenarioTest):

    @classmethod
    def skip_checks(cls):
        super().skip_checks()
        if not CONF.delete_ext_feature_enabled.recycle:
            raise cls.skipException('The recycle policy is not enabled.')

    @decorators.idempotent_id('04f986a1-37e8-46ab-aa70-afd0719ac776')
    @utils.services('compute')
    def test_deleted_server_is_restorable(self):
        server = self.create_server()
        self.servers_client.delete_server(server['id'])
        waiters.wait_for_server_status(self.servers_client, server['id'],
                                       'SOFT_DELETED')

        self.servers_client.restore_soft_deleted_server(server['id'])
        waiters.wait_for_server_status(self.servers_client, server['id'],
                                       'ACTIVE')

    @decorators.idempotent_id('63ded7a8-2b82-4d9e-ba74-1e940fd314e1')
    @utils.services('compute')
    def test_server_in_error_is_deleted_at_once(self):
        server = self.create_server()
        self.admin_servers_client.reset_state(server['id'], state='error')
        server = self.servers_client.show_server(server['id'])['server']
        self.assertEqual('ERROR', server['status'])

        self.servers_client.delete_server(server['id'])
        self.wait_for_hard_delete(server['id'])
        self.assertRaises(lib_exc.NotFound,
                          self.servers_client.show_server, server['id'])
