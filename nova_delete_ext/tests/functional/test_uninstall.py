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

"""``nova-delete-ext uninstall`` on the real in-process Nova."""

from nova import context as nova_context
from nova import objects

from nova_delete_ext.cmd import uninstall
from nova_delete_ext.record import sysmeta
from nova_delete_ext.tests.functional import base
from nova_delete_ext.tests.functional import scenarios


class TestUninstall(scenarios.ServerStates, base.DeleteExtTestBase):

    def setUp(self):
        super().setUp()
        self.use_policies('protect', 'recycle', delete_ext_recycle={
            'retention': {'active': 3600}})
        self.flags(reclaim_instance_interval=60)
        self.context = nova_context.get_admin_context()

    def _sysmeta(self, server):
        return objects.Instance.get_by_uuid(
            self.context, server['id'],
            expected_attrs=['system_metadata']).system_metadata

    def test_check_then_remove_only_the_extension_keys(self):
        protected = self.boot()
        self.api.post_server_metadata(protected['id'],
                                      {'delete_protection': 'true'})
        recycled = self.boot()
        self.api.delete_server(recycled['id'])
        self._wait_for_state_change(recycled, 'SOFT_DELETED')
        self.assertEqual('3600', self._sysmeta(recycled)[
            sysmeta.RETENTION_KEY])

        held = uninstall.read(self.context, uninstall.CONF)
        self.assertEqual([protected['id']],
                         [p['server'] for p in held['protected']])
        [item] = held['recycled']
        self.assertEqual(recycled['id'], item['server'])
        self.assertNotEqual(item['retention_ends'], item['nova_reclaims'])
        self.assertEqual([recycled['id']],
                         [k['server'] for k in held['keys']])

        # An entry of Nova's saved meanwhile is not touched.
        instance = objects.Instance.get_by_uuid(
            self.context, recycled['id'], expected_attrs=['system_metadata'])
        instance.system_metadata['shelved_image_id'] = 'kept-image'
        instance.save()
        self.assertEqual(1, uninstall.remove_keys(self.context,
                                                  held['keys']))
        left = self._sysmeta(recycled)
        self.assertNotIn(sysmeta.RETENTION_KEY, left)
        self.assertEqual('kept-image', left['shelved_image_id'])
        self.assertEqual([], uninstall.read(self.context,
                                            uninstall.CONF)['keys'])
