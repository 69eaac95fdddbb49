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

"""A policy from another package, loaded through its entry point."""

import os
import sys

import fixtures
from nova import context as nova_context

from nova_delete_ext.tests.functional import base
from nova_delete_ext.tests.functional import scenarios

ENTRY_POINT = ('name_guard = '
               'nova_delete_ext.tests.functional.example_policy:NameGuard')


class ThirdPartyDistribution(fixtures.Fixture):
    """An installed distribution that registers one policy."""

    def _setUp(self):
        site = self.useFixture(fixtures.TempDir()).path
        info = os.path.join(site, 'example_delete_policy-1.0.dist-info')
        os.mkdir(info)
        with open(os.path.join(info, 'METADATA'), 'w') as f:
            f.write('Metadata-Version: 2.1\nName: example-delete-policy\n'
                    'Version: 1.0\n')
        with open(os.path.join(info, 'entry_points.txt'), 'w') as f:
            f.write('[nova_delete_ext.policies]\n%s\n' % ENTRY_POINT)
        # A new sys.path entry makes stevedore's entry point cache look
        # again; its per-namespace cache starts empty for this test.
        self.useFixture(fixtures.MonkeyPatch('sys.path', [site] + sys.path))
        self.useFixture(fixtures.MonkeyPatch(
            'stevedore.extension.ExtensionManager.ENTRY_POINT_CACHE', {}))


class TestThirdPartyPolicy(scenarios.ServerStates, base.DeleteExtTestBase):

    def setUp(self):
        super().setUp()
        self.useFixture(ThirdPartyDistribution())
        chain = self.use_policies('name_guard')
        self.assertEqual(['name_guard'], chain.names)

    def test_denies_through_the_api(self):
        server = self.boot(name='keep-me')
        message = self.assert_conflict(self.api.delete_server, server['id'])
        self.assertEqual('Servers named keep-* are kept.', message)
        record = self.only_record(server)
        self.assertEqual(('denied', ['name_guard:denied']),
                         (record['outcome'], record['decisions']))

    def test_acts_after_the_delete(self):
        server = self.boot(name='scratch')
        self._delete_server(server)
        self.assert_gone(server)
        check = self.check_record(server)
        self.assertEqual(['name_guard:seen(deleted)'], check['decisions'])

    def test_tells_how_long_a_soft_deleted_server_is_kept(self):
        # nova-api soft deletes; Nova alone would keep both for an hour.
        self.flags(reclaim_instance_interval=3600)
        scratch, other = self.boot(name='tmp-1'), self.boot(name='other')
        for server in (scratch, other):
            self.api.delete_server(server['id'])
            self._wait_for_state_change(server, 'SOFT_DELETED')
        self.compute.manager._reclaim_queued_deletes(
            nova_context.get_admin_context())
        self.assert_gone(scratch)
        record = self.wait_for_record(scratch, count=2)
        self.assertEqual(('reclaim', 'deleted'),
                         (record['trigger'], record['outcome']))
        self.assertEqual('SOFT_DELETED',
                         self.api.get_server(other['id'])['status'])
