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

"""A refusal and the steps of nova-api that cannot be undone.

Before it hands a delete to the compute host, nova-api deletes a shelved
server's snapshot and confirms a pending resize. A policy that can decide
in nova-api refuses before them; a refusal on the host names them.
"""

from nova import context as nova_context
from nova import objects

from nova_delete_ext import conf as ext_conf
from nova_delete_ext import policies
from nova_delete_ext.tests.functional import scenarios
from nova_delete_ext.tests.functional import test_refusal


class DenyDestroyInApi(test_refusal.DenyDestroy):
    """Decides from the instance alone: nova-api asks it first."""

    before_destroy_in_api = True

    def __init__(self, conf, name=None):
        super().__init__(conf, name)
        self.asked = []

    def before_destroy(self, event):
        self.asked.append(event.driver is None)
        return super().before_destroy(event)


class StepsTestBase(scenarios.LeakyDeletes, test_refusal.RefusalTestBase):

    def use_policy(self, cls):
        policy = cls(ext_conf.CONF, 'deny_destroy')
        self.addCleanup(policies.set_active, policies.set_active(
            policies.PolicyChain([policy])))
        return policy

    def fault(self, server):
        return objects.InstanceFault.get_latest_for_instance(
            nova_context.get_admin_context(), server['id']).message

    def migration_status(self, server):
        migrations = self.api.get_migrations()
        return [m['status'] for m in migrations
                if m['instance_uuid'] == server['id']]


class TestRefusedInNovaApiFirst(StepsTestBase):
    """The host's decision, asked in nova-api before Nova's steps."""

    def test_shelved_server_keeps_its_snapshot(self):
        self.use_policy(DenyDestroyInApi)
        server = self.server_shelved()
        image = self.shelve_snapshot(server)
        message = self.assert_conflict(self.api.delete_server, server['id'])
        self.assertEqual('The host keeps its servers today.', message)
        self.assertIn(image, self.glance.images)
        server = self.api.get_server(server['id'])
        self.assertEqual(('SHELVED', None), (
            server['status'], server['OS-EXT-STS:task_state']))
        self.assertFalse(self.queued_for_delete(server))
        record = self.only_record(server)
        self.assertEqual(('denied', None, ['deny_destroy:denied'], []), (
            record['outcome'], record['path'], record['decisions'],
            record['steps']))
        self.assertTrue(record['recorded_by'].startswith('api@'), record)

    def test_resized_server_keeps_its_pending_resize(self):
        self.use_policy(DenyDestroyInApi)
        server = self.server_resized()
        self.assert_conflict(self.api.delete_server, server['id'])
        server = self.api.get_server(server['id'])
        self.assertEqual('VERIFY_RESIZE', server['status'])
        self.assertEqual(['finished'], self.migration_status(server))
        self.assertEqual('denied', self.only_record(server)['outcome'])
        # Still up to the user: revert it.
        self.api.post_server_action(server['id'], {'revertResize': None})
        self._wait_for_state_change(server, 'ACTIVE')

    def test_asked_in_nova_api_only(self):
        policy = self.use_policy(DenyDestroyInApi)
        policy.denying = False
        server = self.server_active()
        self._delete_server(server)
        self.assert_gone(server)
        # Once, in nova-api (no driver there); the host did not ask again.
        self.assertEqual([True], policy.asked)
        self.assertEqual('deleted', self.only_record(server)['outcome'])


class TestRefusedOnTheHostAfterTheSteps(StepsTestBase):
    """A refusal nova-api could not foresee names what it did already."""

    def test_shelved_server_refusal_names_the_deleted_snapshot(self):
        self.use_policy(test_refusal.DenyDestroy)
        server = self.server_shelved()
        image = self.shelve_snapshot(server)
        self.api.delete_server(server['id'])
        record = self.wait_for_record(server)
        self.assertEqual(('denied', ['delete_shelve_image']),
                         (record['outcome'], record['steps']))
        self.assertNotIn(image, self.glance.images)
        server = self._wait_for_server_parameter(
            server, {'status': 'SHELVED', 'OS-EXT-STS:task_state': None})
        self.assertEqual(
            'Not deleted, but its shelve snapshot %s is gone: unshelve it '
            'before it is offloaded, or it cannot be unshelved. The host '
            'keeps its servers today.' % image, self.fault(server))
        # As the fault says: a shelved server is unshelved in place.
        self.api.post_server_action(server['id'], {'unshelve': None})
        self._wait_for_state_change(server, 'ACTIVE')

    def test_resized_server_refusal_names_the_confirmed_resize(self):
        self.use_policy(test_refusal.DenyDestroy)
        server = self.server_resized()
        self.api.delete_server(server['id'])
        record = self.wait_for_record(server)
        self.assertEqual(('denied', ['confirm_resize']),
                         (record['outcome'], record['steps']))
        server = self._wait_for_server_parameter(
            server, {'status': 'ACTIVE', 'OS-EXT-STS:task_state': None})
        self.assertEqual(['confirmed'], self.migration_status(server))
        self.assertEqual(
            'Not deleted, but its pending resize was confirmed already and '
            'cannot be reverted. The host keeps its servers today.',
            self.fault(server))
