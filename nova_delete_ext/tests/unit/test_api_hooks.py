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

"""Tests of the nova-api hooks: outcomes without a path, what is loaded."""

from unittest import mock

import fixtures
from nova.compute import task_states
from nova import context as nova_context

from nova_delete_ext.hooks import api
from nova_delete_ext.hooks import preload
from nova_delete_ext import record as rec
from nova_delete_ext.record import attempt as attempt_mod
from nova_delete_ext.tests.unit import base


class NoPathOutcomeTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.flags(host='api-host')

    def _finish(self, task_state=None, gone=False, disable_terminate=False):
        instance = base.make_instance(task_state=task_state,
                                      disable_terminate=disable_terminate)
        context = nova_context.RequestContext(
            'user-a', 'project-a', is_admin=False)
        tracker = api.ApiDelete(attempt_mod.Attempt(
            context, instance, rec.DELETE, rec.TRIGGER_API, 'api'))
        tracker.gone = gone
        tracker.finish(instance)
        return tracker.attempt.record

    def test_instance_found_gone(self):
        record = self._finish(gone=True)
        self.assertEqual(rec.ALREADY_DELETED, record.outcome)
        self.assertIsNone(record.path)

    def test_repeated_delete_ignored(self):
        self.assertEqual(rec.IGNORED,
                         self._finish(task_state=task_states.DELETING).outcome)

    def test_termination_disabled(self):
        self.assertEqual(rec.SKIPPED,
                         self._finish(disable_terminate=True).outcome)

    def test_nova_returned_without_deleting(self):
        self.assertEqual(rec.NOT_DELETED, self._finish().outcome)

    def test_lookup_marks_gone(self):
        tracker = api.ApiDelete(None)
        token = attempt_mod.API_ATTEMPT.set(tracker)
        self.addCleanup(attempt_mod.API_ATTEMPT.reset, token)
        result = api._lookup_instance(lambda *a: (None, None), None, None,
                                      'uuid')
        self.assertEqual((None, None), result)
        self.assertTrue(tracker.gone)


class LoadWithTheDeleteTest(base.TestCase):
    """The servers controller's read loads what the policies read."""

    def setUp(self):
        super().setUp()
        self.chain = mock.Mock(instance_attrs=('tags',))
        self.useFixture(fixtures.MockPatch(
            'nova_delete_ext.policies.active', return_value=self.chain))
        self.calls = []

    def get(self, nova_api, context, instance_id, expected_attrs=None,
            cell_down_support=False):
        self.calls.append(expected_attrs)
        return instance_id

    def controller_delete(self, controller, context, req, instance_uuid):
        # The controller reads the instance, then Nova reads more.
        preload._get(self.get, None, context, instance_uuid,
                     expected_attrs=['flavor'])
        preload._get(self.get, None, context, instance_uuid)
        return 'deleted'

    def test_only_the_controllers_read_of_a_delete(self):
        preload._get(self.get, None, None, 'uuid', expected_attrs=['flavor'])
        self.assertEqual('deleted', preload._servers_delete(
            self.controller_delete, None, None, None, 'uuid'))
        preload._get(self.get, None, None, 'uuid')
        self.assertEqual([['flavor'], ['flavor', 'tags'], None, None],
                         self.calls)

    def test_nothing_to_add(self):
        self.chain.instance_attrs = ()
        preload._servers_delete(self.controller_delete, None, None, None, 'u')
        self.assertEqual([['flavor'], None], self.calls)

    def test_a_failure_leaves_the_read_as_it_was(self):
        type(self.chain).instance_attrs = mock.PropertyMock(
            side_effect=RuntimeError('boom'))
        preload._servers_delete(self.controller_delete, None, None, None, 'u')
        self.assertEqual([['flavor'], None], self.calls)
