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

"""The protect policy on the real in-process Nova."""

import os

import fixtures
from nova import context as nova_context
from nova import objects
from nova import policy as nova_policy

from nova_delete_ext.policies import protect
from nova_delete_ext.policies import rules
from nova_delete_ext.tests.functional import base
from nova_delete_ext.tests.functional import scenarios


class ProtectTestBase(scenarios.ServerStates, base.DeleteExtTestBase):

    def setUp(self):
        super().setUp()
        self.use_policies('protect')

    def protect(self, server, value='true'):
        self.api.post_server_metadata(server['id'],
                                      {'delete_protection': value})

    def assert_denied(self, server, call, *args, count=1):
        message = self.assert_conflict(call, *args)
        record = self.wait_for_record(server, count)
        self.assertEqual('denied', record['outcome'], record)
        self.assertEqual(1, len(record['decisions']), record)
        self.assertTrue(record['decisions'][0].startswith('protect:denied'),
                        record)
        # Nothing happened to the server.
        self.assertEqual(server['status'],
                         self.api.get_server(server['id'])['status'])
        return message, record


class TestProtect(ProtectTestBase):

    def test_metadata_protects_from_delete_and_force_delete(self):
        server = self.server_active()
        self.protect(server)
        message, record = self.assert_denied(server, self.api.delete_server,
                                             server['id'])
        self.assertIn('protected from deletion by metadata '
                      'delete_protection=true', message)
        self.assertIn('set delete_protection to false or remove it', message)
        self.assertEqual('delete', record['delete_type'])
        self.assertEqual('active', record['vm_state'])
        self.assert_denied(server, self.api.post_server_action, server['id'],
                           {'forceDelete': None}, count=2)
        # Lifting the protection is an ordinary metadata change.
        self.protect(server, 'false')
        self._delete_server(server)
        self.assert_gone(server)
        record = self.wait_for_record(server, 3)
        self.assertEqual('deleted', record['outcome'])
        self.assertEqual([], record['decisions'])

    def test_tag_protects(self):
        lookups = self.useFixture(fixtures.MockPatchObject(
            protect, '_tag_in_db', wraps=protect._tag_in_db)).mock
        server = self.server_stopped()
        self.api.put_server_tags(server['id'], ['delete-protected'])
        message, _ = self.assert_denied(server, self.api.delete_server,
                                        server['id'])
        self.assertIn('by tag delete-protected', message)
        # The servers controller read the tags with the server.
        lookups.assert_not_called()
        # forceDelete reads the server elsewhere: one lookup of the tag.
        message, _ = self.assert_denied(
            server, self.api.post_server_action, server['id'],
            {'forceDelete': None}, count=2)
        self.assertIn('by tag delete-protected', message)
        self.assertEqual(1, lookups.call_count)
        self.api.put_server_tags(server['id'], [])
        self._delete_server(server)
        self.assert_gone(server)

    def test_value_not_understood_protects(self):
        server = self.server_active()
        self.protect(server, 'maybe')
        message, _ = self.assert_denied(server, self.api.delete_server,
                                        server['id'])
        self.assertIn("delete_protection='maybe' is neither true nor false",
                      message)

    def test_soft_delete_is_refused_once(self):
        # With reclaim_instance_interval the servers controller soft
        # deletes, and retries a refused soft delete as a delete: one
        # request, one record.
        self.flags(reclaim_instance_interval=3600)
        server = self.server_active()
        self.protect(server)
        _, record = self.assert_denied(server, self.api.delete_server,
                                       server['id'])
        self.assertEqual('soft_delete', record['delete_type'])

    def test_only_in_configured_states(self):
        self.use_policies('protect',
                          delete_ext_protect={'states': ['stopped']})
        active, stopped = self.server_active(), self.server_stopped()
        for server in (active, stopped):
            self.protect(server)
        self.assert_denied(stopped, self.api.delete_server, stopped['id'])
        self._delete_server(active)
        self.assert_gone(active)
        self.assertEqual([], self.only_record(active)['decisions'])

    def allow_bypass(self):
        policy_file = os.path.join(self.temp_dir, 'policy.yaml')
        with open(policy_file, 'w') as f:
            # Any of Nova's own rules works in it.
            f.write('"delete_ext:protect:bypass": "rule:admin_api"\n')
        self.flags(policy_file=policy_file, group='oslo_policy')
        nova_policy.reset()
        self.addCleanup(nova_policy.reset)

    def test_bypass_rule_lets_admin_delete_and_is_recorded(self):
        self.allow_bypass()
        server = self.server_active()
        self.protect(server)
        self._delete_server(server)
        self.assert_gone(server)
        record = self.only_record(server)
        self.assertEqual('deleted', record['outcome'])
        self.assertEqual(['protect:bypassed(metadata delete_protection=true)'],
                         record['decisions'])

    def test_bypassed_delete_kept_by_recycle_is_reclaimed(self):
        # The bypass authorised the delete; nova-compute's reclaim, which
        # has no caller to authorise, completes it.
        self.allow_bypass()
        self.use_policies('protect', 'recycle',
                          delete_ext_recycle={'retention': {'active': 60}})
        server = self.server_active()
        self.protect(server)
        self.api.delete_server(server['id'])
        self._wait_for_state_change(server, 'SOFT_DELETED')
        self.assertEqual(['protect:bypassed(metadata delete_protection=true)',
                          'recycle:soft_delete(60s)'],
                         self.only_record(server)['decisions'])
        self.reclaim_now(older_than=120)
        self.assert_gone(server)
        record = self.records(server['id'])[-1]
        self.assertEqual(('reclaim', 'deleted'),
                         (record['trigger'], record['outcome']))
        self.assertEqual(['protect:bypassed(metadata delete_protection=true, '
                          'at the request)'], record['decisions'])

    def test_bypass_rule_default_lets_nobody(self):
        # The harness's API user is an admin; the default still refuses.
        self.assertEqual('!', rules.nova_enforcer().registered_rules[
            rules.PROTECT_BYPASS].check_str)
        server = self.server_active()
        self.protect(server)
        self.assert_denied(server, self.api.delete_server, server['id'])


class TestProtectOnComputeHost(ProtectTestBase):
    """Deletes that nova-compute starts by itself are refused too."""

    def _protect_in_db(self, server):
        # The API refuses to change a soft-deleted or deleting server's
        # metadata; protection may still be there (set earlier, or before
        # the policy was enabled).
        ctxt = nova_context.get_admin_context()
        instance = objects.Instance.get_by_uuid(ctxt, server['id'],
                                                expected_attrs=['metadata'])
        instance.metadata = dict(instance.metadata, delete_protection='yes')
        instance.save()

    def test_reclaim_of_a_protected_server_is_refused(self):
        server = self.server_soft_delete()
        self._protect_in_db(server)
        self.reclaim_now()
        record = self.records(server['id'])[-1]
        self.assertEqual('reclaim', record['trigger'])
        self.assertEqual('denied', record['outcome'])
        self.assertEqual('soft-delete', record['vm_state'])
        self.assertEqual(['protect:denied(metadata delete_protection=yes)'],
                         record['decisions'])
        self.assertEqual('SOFT_DELETED',
                         self.api.get_server(server['id'])['status'])
        # The periodic task asks again every minute: one record is enough.
        self.reclaim_now()
        self.assertEqual(2, len(self.records(server['id'])))

    def test_resumed_delete_of_a_protected_server_is_refused(self):
        server = self.server_active()
        self.delete_interrupted_then_restart(
            server, before_restart=self._protect_in_db)
        record = self.records(server['id'])[-1]
        self.assertEqual('resume', record['trigger'])
        self.assertEqual('denied', record['outcome'])
        # Not left stuck in deleting: it can be unprotected and deleted.
        server = self._wait_for_server_parameter(
            server, {'OS-EXT-STS:task_state': None, 'status': 'ACTIVE'})
        self.api.post_server_metadata(server['id'],
                                      {'delete_protection': 'no'})
        self._delete_server(server)
        self.assert_gone(server)
