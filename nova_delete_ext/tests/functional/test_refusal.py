"""A destroy refused on the compute host leaves the server deletable.

nova-api has marked the server ``deleting`` when nova-compute's policies
are asked; nova-api ignores every later delete of a server so marked. A
refusal there must undo the mark and say why, as a failed Nova action does.
"""

from nova import context as nova_context
from nova import objects

from nova_delete_ext import conf as ext_conf
from nova_delete_ext import exception
from nova_delete_ext import hooks
from nova_delete_ext.hooks import compute as compute_hooks
from nova_delete_ext.hooks import installer
from nova_delete_ext.hooks import refusal
from nova_delete_ext import policies
from nova_delete_ext.policies import base as policy_base
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
        policy = DenyDestroy(ext_conf.CONF, 'deny_destroy')
        self.addCleanup(policies.set_active, policies.set_active(
            policies.PolicyChain([policy])))
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
        self.assertEqual(['protect:denied(metadata delete_protection=true)'],
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
