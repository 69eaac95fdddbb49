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

"""A destroy refused on the compute host leaves the server deletable.

nova-api has marked the server ``deleting`` when nova-compute's policies
are asked; nova-api ignores every later delete of a server so marked. A
refusal there must undo the mark and say why, as a failed Nova action does.
"""

import threading
from unittest import mock

import fixtures
from nova import context as nova_context
from nova import objects
import oslo_messaging

from nova_delete_ext import conf as ext_conf
from nova_delete_ext import exception
from nova_delete_ext import hooks
from nova_delete_ext.hooks import compute as compute_hooks
from nova_delete_ext.hooks import installer
from nova_delete_ext.hooks import mapping
from nova_delete_ext.hooks import mixed
from nova_delete_ext.hooks import refusal
from nova_delete_ext import policies
from nova_delete_ext.policies import base as policy_base
from nova_delete_ext.record import sysmeta
from nova_delete_ext.tests.functional import base
from nova_delete_ext.tests.functional import scenarios


class DenyDestroy(policy_base.DeletePolicy):
    """A third-party policy that refuses every destroy on the host."""

    denying = True
    #: What it refuses with: the extension's exception, or one of its own.
    error = exception.DeleteProtected(
        reason='The host keeps its servers today.')

    def validate(self):
        pass

    def before_destroy(self, event):
        if self.denying:
            return self.decision('denied', deny=self.error)
        return None


class RefusalTestBase(scenarios.ServerStates, base.DeleteExtTestBase):

    def deny_destroy(self):
        policy = DenyDestroy(ext_conf.CONF, 'deny_destroy')
        self.addCleanup(policies.set_active, policies.set_active(
            policies.PolicyChain([policy])))
        return policy

    def queued_for_delete(self, server):
        """The mark of the server's instance mapping, in the API database."""
        return objects.InstanceMapping.get_by_instance_uuid(
            nova_context.get_admin_context(),
            server['id']).queued_for_delete

    def assert_left_deletable(self, server, message):
        ctxt = nova_context.get_admin_context()
        server = self._wait_for_server_parameter(
            server, {'OS-EXT-STS:task_state': None, 'status': 'ACTIVE'})
        # The fault Nova shows for a failed action, and the request's
        # instance action marked failed.
        fault = objects.InstanceFault.get_latest_for_instance(
            ctxt, server['id'])
        self.assertIn(message, fault.message)
        actions = self.api.get_instance_actions(server['id'])
        delete = [a for a in actions if a['action'] == 'delete'][0]
        events = self.api.get_instance_action_details(
            server['id'], delete['request_id'])['events']
        failed = [e for e in events if e['event'] == refusal.EVENT]
        self.assertEqual(['Error'], [e['result'] for e in failed])
        return server


class TestRefusedOnComputeHost(RefusalTestBase):

    def test_third_party_denial_leaves_the_server_deletable(self):
        policy = self.deny_destroy()
        server = self.server_active()
        self.api.delete_server(server['id'])
        server = self.assert_left_deletable(
            server, 'The host keeps its servers today.')
        record = self.only_record(server)
        self.assertEqual(('denied', ['deny_destroy:denied']),
                         (record['outcome'], record['decisions']))
        # A later delete is not ignored.
        policy.denying = False
        self._delete_server(server)
        self.assert_gone(server)
        self.assertEqual('deleted', self.records(server['id'])[-1]['outcome'])

    def test_denial_with_its_own_exception_says_why(self):
        policy = DenyDestroy(ext_conf.CONF, 'deny_destroy')
        policy.error = RuntimeError('the rack is being moved')
        self.addCleanup(policies.set_active, policies.set_active(
            policies.PolicyChain([policy])))
        server = self.server_active()
        self.api.delete_server(server['id'])
        # Not just "RuntimeError", which is all Nova shows of it.
        why = ('The deny_destroy policy refused to destroy server %s: the '
               'rack is being moved' % server['id'])
        self.assert_left_deletable(server, why)
        fault = objects.InstanceFault.get_latest_for_instance(
            nova_context.get_admin_context(), server['id'])
        self.assertEqual((why, ''), (fault.message, fault.details))
        # The failed event: its details (shown to admins) give the reason;
        # the owner sees it failed, and never a traceback.
        owner = self.api_fixture.api
        owner.microversion = 'latest'
        request_id = [a for a in owner.get_instance_actions(server['id'])
                      if a['action'] == 'delete'][0]['request_id']
        events = {}
        for who, client in (('admin', self.admin_api), ('owner', owner)):
            [events[who]] = [e for e in client.get_instance_action_details(
                server['id'], request_id)['events']
                if e['event'] == refusal.EVENT]
        self.assertEqual(why, events['admin']['details'])
        self.assertEqual('Error', events['owner']['result'])
        self.assertNotIn('traceback', events['owner'])


class TestProtectWhereNovaApiDidNotCheck(RefusalTestBase):
    """nova-api runs without the extension; nova-compute has protect."""

    def setUp(self):
        super().setUp()
        self.use_policies('protect')
        # Only nova-compute's hooks, as on a cloud whose API nodes do not
        # have the extension (yet).
        hooks.uninstall()
        compute_only = installer.Installer(compute_hooks.HOOK_POINTS)
        compute_only.install()
        self.addCleanup(compute_only.uninstall)

    def test_compute_checks_protection_and_fails_closed(self):
        server = self.server_active()
        self.api.post_server_metadata(server['id'],
                                      {'delete_protection': 'true'})
        self.api.delete_server(server['id'])
        server = self.assert_left_deletable(
            server, 'nova-api did not check the protection')
        record = self.only_record(server)
        self.assertEqual(('api', 'denied'),
                         (record['trigger'], record['outcome']))
        self.assertEqual(['nova-api:without(protect)',
                          'protect:denied(metadata delete_protection=true)'],
                         record['decisions'])
        # Unprotected, it is deleted.
        self.api.post_server_metadata(server['id'],
                                      {'delete_protection': 'false'})
        self._delete_server(server)
        self.assert_gone(server)

    def test_unprotected_server_is_deleted(self):
        server = self.server_active()
        self._delete_server(server)
        self.assert_gone(server)
        self.assertEqual('deleted', self.only_record(server)['outcome'])

    def test_mixed_configuration_is_recorded_and_logged(self):
        self.useFixture(fixtures.MockPatchObject(mixed, '_warned', {}))
        servers = [self.server_active() for _ in range(2)]
        for server in servers:
            self._delete_server(server)
            self.assert_gone(server)
            self.assertEqual(['nova-api:without(protect)'],
                             self.only_record(server)['decisions'])
        warnings = [line for line in self.stdlog.logger.output.splitlines()
                    if 'nova-api did not apply the policies' in line]
        # Once, not at each delete.
        self.assertEqual(1, len(warnings), warnings)
        self.assertIn('nova-api did not apply the policies protect, which '
                      'this nova-compute applies (nova-api did not say which '
                      'policies it applied: does it run nova-delete-ext?). '
                      'List them in [delete_ext]policies on every nova-api '
                      'node as well', warnings[0])
        self.assertIn('WARNING', warnings[0])


class TestPolicyNovaApiDidNotApply(RefusalTestBase):
    """nova-api has the extension, but not protect; nova-compute has."""

    def test_compute_says_what_nova_api_applied(self):
        self.useFixture(fixtures.MockPatchObject(mixed, '_warned', {}))
        chain = self.use_policies('protect')
        self.assertEqual(['protect'], chain.api_names)
        # In one process: nova-api carries no policy name, as a nova-api
        # configured without any would.
        stash = sysmeta.stash

        def stash_without_names(instance, attempt, steps=(), decisions=(),
                                policies=()):
            stash(instance, attempt, steps, decisions, ())
        self.useFixture(fixtures.MockPatchObject(sysmeta, 'stash',
                                                 stash_without_names))
        server = self.server_active()
        self._delete_server(server)
        self.assert_gone(server)
        self.assertEqual(['nova-api:without(protect)'],
                         self.only_record(server)['decisions'])
        self.assertIn('(nova-api applied none)', self.stdlog.logger.output)


class TestRefusedServerIsNotQueuedForDelete(RefusalTestBase):
    """nova-api marks the mapping; a refusal on the host takes it off.

    Nova's harness runs a cast as a call: the compute host refuses before
    nova-api marks the mapping, as a fast compute host may.
    """

    def test_refused_before_nova_api_marked_the_mapping(self):
        self.deny_destroy()
        server = self.server_active()
        self.assertFalse(self.queued_for_delete(server))
        self.api.delete_server(server['id'])
        # No GET of the server in between: nova-api has not read it since.
        self.assertEqual('denied', self.wait_for_record(server)['outcome'])
        self.assertFalse(self.queued_for_delete(server))

    def test_a_refused_reclaim_stays_queued(self):
        # A soft-deleted server is rightly queued until it is restored.
        self.deny_destroy()
        server = self.server_soft_delete()
        self.assertTrue(self.queued_for_delete(server))
        self.reclaim_now()
        self.assertEqual('denied',
                         self.wait_for_record(server, 2)['outcome'])
        self.api.get_server(server['id'])
        self.assertTrue(self.queued_for_delete(server))


class DenyOnceNovaApiAnswered(DenyDestroy):
    """Refuses only once the test says nova-api has answered the DELETE."""

    def __init__(self, conf, name=None):
        super().__init__(conf, name)
        self.answered = threading.Event()

    def before_destroy(self, event):
        self.answered.wait(30)
        return super().before_destroy(event)


class TestRefusedAfterNovaApiMarkedTheMapping(RefusalTestBase):
    """The compute host answers after nova-api marked the mapping."""

    CAST_AS_CALL = False

    def setUp(self):
        super().setUp()
        self.policy = DenyOnceNovaApiAnswered(ext_conf.CONF, 'deny_destroy')
        self.addCleanup(policies.set_active, policies.set_active(
            policies.PolicyChain([self.policy])))

    def delete_and_refuse(self, server):
        self.api.delete_server(server['id'])
        self.assertTrue(self.queued_for_delete(server))
        self.policy.answered.set()
        self.assertEqual('denied', self.wait_for_record(server)['outcome'])

    def test_conductor_takes_the_mark_off(self):
        server = self.server_active()
        self.delete_and_refuse(server)
        self.assertFalse(self.queued_for_delete(server))

    def test_nova_api_takes_it_off_when_conductor_could_not(self):
        # As where conductor cannot reach the API database: what a cell
        # conductor without [api_database] answers.
        cut_off = mock.Mock(spec=['InstanceMapping'])
        cut_off.InstanceMapping.get_by_instance_uuid.side_effect = (
            oslo_messaging.RemoteError(
                'CantStartEngineError',
                'No sql_connection parameter is established'))
        self.useFixture(fixtures.MockPatchObject(mapping, 'objects',
                                                 cut_off))
        server = self.server_active()
        self.delete_and_refuse(server)
        self.assertTrue(self.queued_for_delete(server))
        cut_off.InstanceMapping.get_by_instance_uuid.assert_called_once_with(
            mock.ANY, server['id'])
        # The next read of the server by nova-api.
        self.assert_left_deletable(server, 'The host keeps its servers')
        self.assertFalse(self.queued_for_delete(server))
        # And a later delete is Nova's as ever.
        self.policy.denying = False
        self._delete_server(server)
        self.assert_gone(server)
