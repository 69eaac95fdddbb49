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

"""The protect policy: a marked server refuses DELETE and forceDelete."""

from tempest.common import utils
from tempest import config
from tempest.lib import decorators
from tempest.lib import exceptions as lib_exc

from nova_delete_ext.tests.tempest.scenario import manager

CONF = config.CONF


class _ProtectTestBase(manager.DeleteExtScenarioTest):

    @classmethod
    def skip_checks(cls):
        super().skip_checks()
        if not CONF.delete_ext_feature_enabled.protect:
            raise cls.skipException('The protect policy is not enabled.')

    def assert_delete_refused(self, server_id):
        self.assertRaises(lib_exc.Conflict,
                          self.servers_client.delete_server, server_id)
        self.assertRaises(lib_exc.Conflict,
                          self.servers_client.force_delete_server, server_id)
        server = self.servers_client.show_server(server_id)['server']
        self.assertEqual('ACTIVE', server['status'])


class DeleteProtectionByMetadataTest(_ProtectTestBase):

    @decorators.idempotent_id('b3a9f751-4f50-46f4-b7d1-f5641569b081')
    @utils.services('compute')
    def test_metadata_protects_server(self):
        key = CONF.delete_ext.protect_metadata_key
        server = self.create_server(metadata={key: 'true'})
        self.assert_delete_refused(server['id'])

        self.servers_client.delete_server_metadata_item(server['id'], key)
        self.delete_and_wait(server['id'])


class DeleteProtectionByTagTest(_ProtectTestBase):

    # Server tags appeared in compute API microversion 2.26.
    compute_min_microversion = '2.26'

    @decorators.idempotent_id('80e191ff-5c26-4758-aaa3-14fccc1a4ead')
    @utils.services('compute')
    def test_tag_protects_server(self):
        tag = CONF.delete_ext.protect_tag
        server = self.create_server()
        self.servers_client.update_tag(server['id'], tag)
        self.assert_delete_refused(server['id'])

        self.servers_client.delete_tag(server['id'], tag)
        self.delete_and_wait(server['id'])
