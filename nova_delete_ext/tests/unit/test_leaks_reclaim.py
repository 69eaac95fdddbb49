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

"""The reclaim of a soft-deleted server on a dead host, in its races."""

from unittest import mock

from nova.compute import api as compute_api
from nova.compute import task_states
from nova.compute import vm_states
from nova import context as nova_context
from nova import exception as nova_exception
from nova import objects
from nova.servicegroup import api as servicegroup_api

from nova_delete_ext.leaks import reclaim
from nova_delete_ext import states
from nova_delete_ext.tests.unit import base


class ReclaimTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.ctxt = nova_context.get_admin_context()
        self.instance = base.make_instance(vm_state=vm_states.SOFT_DELETED)
        self.save = self.useFixture(base.fixtures.MockPatchObject(
            objects.Instance, 'save', autospec=True)).mock
        self.useFixture(base.fixtures.MockPatch(
            'nova.objects.BlockDeviceMappingList.get_by_instance_uuid',
            autospec=True, return_value=[]))
        self.get = self.useFixture(base.fixtures.MockPatch(
            'nova.objects.Instance.get_by_uuid', autospec=True,
            side_effect=nova_exception.InstanceNotFound(instance_id='x'))).mock
        self.api = mock.create_autospec(compute_api.API, instance=True)
        self.emit = self.useFixture(base.fixtures.MockPatch(
            'nova_delete_ext.sinks.emit', autospec=True)).mock

    def reclaim(self, refusal=None):
        return reclaim.reclaim(self.ctxt, self.instance,
                               lambda attempt: refusal, api=self.api)

    def test_reclaimed_once_marked(self):
        row = self.reclaim()
        self.assertEqual(reclaim.RECLAIMED, row.outcome)
        # Marked deleting only if still soft-deleted with no task.
        self.save.assert_called_once_with(
            self.instance, expected_vm_state=[vm_states.SOFT_DELETED],
            expected_task_state=[None])
        self.api.delete.assert_called_once_with(self.ctxt, self.instance)
        [record] = [c.args[0] for c in self.emit.call_args_list]
        self.assertEqual(('reclaim', 'local', 'deleted', 'soft-delete'),
                         (record.trigger, record.path, record.outcome,
                          record.vm_state))

    def test_restored_meanwhile_is_left(self):
        self.save.side_effect = nova_exception.UnexpectedTaskStateError(
            instance_uuid='x', expected=None, actual='restoring')
        row = self.reclaim()
        self.assertEqual(reclaim.LEFT, row.outcome)
        self.api.delete.assert_not_called()
        self.emit.assert_not_called()

    def test_refused_is_neither_touched_nor_recorded(self):
        row = self.reclaim(refusal=ValueError('protected'))
        self.assertEqual((reclaim.REFUSED, 'protected'),
                         (row.outcome, row.detail))
        self.save.assert_not_called()
        self.api.delete.assert_not_called()
        self.emit.assert_not_called()

    def test_host_back_meanwhile_mark_cleared(self):
        # Nova saw the host up and the mark, and did nothing.
        marked = base.make_instance(vm_state=vm_states.SOFT_DELETED,
                                    task_state=task_states.DELETING)
        self.get.side_effect = None
        self.get.return_value = marked
        row = self.reclaim()
        self.assertEqual(reclaim.LEFT, row.outcome)
        self.assertIsNone(marked.task_state)
        self.save.assert_called_with(
            marked, expected_task_state=[task_states.DELETING])
        self.emit.assert_not_called()

    def test_failed_delete_recorded_and_mark_cleared(self):
        self.api.delete.side_effect = RuntimeError('neutron is away')
        marked = base.make_instance(vm_state=vm_states.SOFT_DELETED,
                                    task_state=task_states.DELETING)
        self.get.side_effect = None
        self.get.return_value = marked
        row = self.reclaim()
        self.assertEqual(reclaim.FAILED, row.outcome)
        self.assertIsNone(marked.task_state)
        [record] = [c.args[0] for c in self.emit.call_args_list]
        self.assertEqual('failed', record.outcome)
        self.assertIn('neutron is away', record.error)


class ComputeHostUpTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.ctxt = nova_context.get_admin_context()
        self.lookup = self.useFixture(base.fixtures.MockPatch(
            'nova.objects.Service.get_by_compute_host', autospec=True)).mock
        self.is_up = self.useFixture(base.fixtures.MockPatchObject(
            servicegroup_api.API, 'service_is_up', autospec=True)).mock

    def test_as_the_service_group_says(self):
        for up in (True, False):
            self.is_up.return_value = up
            self.assertIs(up, states.compute_host_up(self.ctxt, 'cmp1'))
        self.is_up.assert_called_with(mock.ANY, self.lookup.return_value)

    def test_no_host_or_no_service_is_down(self):
        self.assertFalse(states.compute_host_up(self.ctxt, None))
        self.lookup.side_effect = nova_exception.ComputeHostNotFound(
            host='cmp1')
        self.assertFalse(states.compute_host_up(self.ctxt, 'cmp1'))
        self.is_up.assert_not_called()
