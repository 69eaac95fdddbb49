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

"""Tests of :mod:`nova_delete_ext.states` against Nova's own state modules."""

import dataclasses
import types
from unittest import mock

import ddt
import fixtures
from nova.compute import power_state
from nova.compute import task_states
from nova.compute import vm_states
from nova.objects import fields

from nova_delete_ext import states
from nova_delete_ext.tests.unit import base

DOMAIN = states.DOMAIN
DISKS = states.DISKS
PORTS = states.PORTS
VOLUMES = states.VOLUMES
ALLOCATIONS = states.ALLOCATIONS
SHELVE_IMAGE = states.SHELVE_IMAGE

# What a guest defined on a host holds, before any vm_state specifics.
ON_HOST = frozenset({DOMAIN, DISKS, PORTS, VOLUMES, ALLOCATIONS})
# What an instance that never reached a host (or left it) holds.
NO_HOST = frozenset({PORTS, VOLUMES, ALLOCATIONS})

# (vm_state, task_state, host, on_hypervisor, may_hold) with the modern
# ``vm_states.allow_resource_removal`` of Nova >= 28.
STATE_TABLE = (
    (vm_states.ACTIVE, None, 'cmp1', True, ON_HOST),
    (vm_states.ACTIVE, task_states.DELETING, 'cmp1', True, ON_HOST),
    (vm_states.BUILDING, task_states.SCHEDULING, None, False, NO_HOST),
    (vm_states.BUILDING, None, None, False, NO_HOST),
    (vm_states.BUILDING, task_states.SPAWNING, 'cmp1', True, ON_HOST),
    (vm_states.PAUSED, None, 'cmp1', True, ON_HOST),
    (vm_states.SUSPENDED, None, 'cmp1', True, ON_HOST),
    (vm_states.STOPPED, None, 'cmp1', True, ON_HOST),
    (vm_states.RESCUED, None, 'cmp1', True, ON_HOST),
    (vm_states.RESIZED, None, 'cmp1', True, ON_HOST),
    (vm_states.SHELVED, None, 'cmp1', True, ON_HOST | {SHELVE_IMAGE}),
    (vm_states.SHELVED_OFFLOADED, None, None, False,
     frozenset({PORTS, VOLUMES, SHELVE_IMAGE})),
    # A host left behind on an offloaded instance does not make it hold
    # a guest there.
    (vm_states.SHELVED_OFFLOADED, None, 'cmp1', False,
     frozenset({PORTS, VOLUMES, SHELVE_IMAGE})),
    # Unshelving: scheduled (allocation claimed), not yet on a host ...
    (vm_states.SHELVED_OFFLOADED, task_states.SPAWNING, None, False,
     NO_HOST | {SHELVE_IMAGE}),
    # ... and claimed by a host that is spawning it.
    (vm_states.SHELVED_OFFLOADED, task_states.SPAWNING, 'cmp1', True,
     ON_HOST | {SHELVE_IMAGE}),
    (vm_states.SOFT_DELETED, None, 'cmp1', True, ON_HOST),
    (vm_states.SOFT_DELETED, task_states.RESTORING, 'cmp1', True, ON_HOST),
    (vm_states.ERROR, None, 'cmp1', True, ON_HOST),
    (vm_states.ERROR, None, None, False, NO_HOST),
    (vm_states.ERROR, None, '', False, NO_HOST),
    (vm_states.DELETED, None, 'cmp1', False, frozenset()),
    (vm_states.DELETED, None, None, False, frozenset()),
)


def _old_vm_states():
    """``nova.compute.vm_states`` as Nova <= 27 shaped it.

    The state constants of the running Nova, the list
    ``ALLOW_RESOURCE_REMOVAL`` and no ``allow_resource_removal``.
    """
    values = {name: value for name, value in vars(vm_states).items()
              if name.isupper()}
    values['ALLOW_RESOURCE_REMOVAL'] = [vm_states.DELETED,
                                        vm_states.SHELVED_OFFLOADED]
    return types.SimpleNamespace(**values)


class AllVmStatesTest(base.TestCase):

    def test_equals_nova_state_constants(self):
        self.assertEqual(frozenset(fields.InstanceState.ALL),
                         states.all_vm_states())

    def test_is_a_frozenset_of_strings(self):
        found = states.all_vm_states()
        self.assertIsInstance(found, frozenset)
        self.assertTrue(all(isinstance(s, str) for s in found))
        self.assertIn(vm_states.SHELVED_OFFLOADED, found)
        self.assertIn(vm_states.SOFT_DELETED, found)

    def test_read_from_the_module_nova_runs(self):
        fake = types.SimpleNamespace(ACTIVE='active', NEW_STATE='new_state',
                                     ALLOW_X=['active'], helper='lower')
        with mock.patch.object(states, 'vm_states', fake):
            self.assertEqual(frozenset({'active', 'new_state'}),
                             states.all_vm_states())


@ddt.ddt
class ResourcesRemovedModernTest(base.TestCase):
    """Nova >= 28: ``vm_states.allow_resource_removal(vm_state, task)``."""

    def test_running_nova_has_the_function(self):
        self.assertTrue(callable(
            getattr(vm_states, 'allow_resource_removal', None)))
        self.assertFalse(hasattr(vm_states, 'ALLOW_RESOURCE_REMOVAL'))

    @ddt.data(
        (vm_states.DELETED, None, True),
        (vm_states.DELETED, task_states.SPAWNING, True),
        (vm_states.SHELVED_OFFLOADED, None, True),
        (vm_states.SHELVED_OFFLOADED, task_states.UNSHELVING, True),
        (vm_states.SHELVED_OFFLOADED, task_states.SPAWNING, False),
        (vm_states.SHELVED, None, False),
        (vm_states.ACTIVE, None, False),
        (vm_states.SOFT_DELETED, None, False),
        (vm_states.ERROR, None, False),
        (vm_states.BUILDING, task_states.SPAWNING, False),
    )
    @ddt.unpack
    def test_table(self, vm_state, task_state, expected):
        self.assertIs(expected,
                      states.resources_removed(vm_state, task_state))

    def test_task_state_defaults_to_none(self):
        self.assertTrue(states.resources_removed(vm_states.SHELVED_OFFLOADED))
        self.assertFalse(states.resources_removed(vm_states.ACTIVE))

    def test_agrees_with_nova_for_every_state_and_task(self):
        all_tasks = [None] + sorted(
            value for name, value in vars(task_states).items()
            if name.isupper() and isinstance(value, str))
        for vm_state in sorted(states.all_vm_states()):
            for task_state in all_tasks:
                self.assertEqual(
                    vm_states.allow_resource_removal(vm_state, task_state),
                    states.resources_removed(vm_state, task_state),
                    (vm_state, task_state))

    def test_function_preferred_over_list(self):
        helper = mock.create_autospec(vm_states.allow_resource_removal,
                                      return_value='from-helper')
        fake = _old_vm_states()
        fake.allow_resource_removal = helper
        with mock.patch.object(states, 'vm_states', fake):
            result = states.resources_removed(vm_states.DELETED, 'task')
        self.assertEqual('from-helper', result)
        helper.assert_called_once_with(vm_states.DELETED, 'task')


@ddt.ddt
class ResourcesRemovedOldNovaTest(base.TestCase):
    """Nova <= 27: the list ``vm_states.ALLOW_RESOURCE_REMOVAL``."""

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.MockPatchObject(
            states, 'vm_states', _old_vm_states()))

    def test_simulation_is_the_old_shape(self):
        self.assertFalse(hasattr(states.vm_states, 'allow_resource_removal'))
        self.assertIsNot(vm_states, states.vm_states)

    @ddt.data(
        (vm_states.DELETED, None, True),
        (vm_states.SHELVED_OFFLOADED, None, True),
        # The old list knew nothing of unshelving.
        (vm_states.SHELVED_OFFLOADED, task_states.SPAWNING, True),
        (vm_states.SHELVED, None, False),
        (vm_states.ACTIVE, None, False),
        (vm_states.ERROR, None, False),
    )
    @ddt.unpack
    def test_table(self, vm_state, task_state, expected):
        self.assertIs(expected,
                      states.resources_removed(vm_state, task_state))

    def test_unshelving_instance_on_old_nova(self):
        state = states.InstanceState(vm_states.SHELVED_OFFLOADED,
                                     task_states.SPAWNING, None, 'cmp1')
        self.assertFalse(state.on_hypervisor)
        self.assertEqual(frozenset({PORTS, VOLUMES, SHELVE_IMAGE}),
                         state.may_hold())

    def test_active_instance_on_old_nova(self):
        state = states.InstanceState(vm_states.ACTIVE, None, 'running',
                                     'cmp1')
        self.assertTrue(state.on_hypervisor)
        self.assertEqual(ON_HOST, state.may_hold())

    def test_all_vm_states_on_old_nova(self):
        self.assertEqual(frozenset(fields.InstanceState.ALL),
                         states.all_vm_states())


@ddt.ddt
class InstanceStateTest(base.TestCase):

    def test_table_covers_every_vm_state(self):
        self.assertEqual(states.all_vm_states(),
                         frozenset(row[0] for row in STATE_TABLE))

    @ddt.data(*STATE_TABLE)
    @ddt.unpack
    def test_on_hypervisor(self, vm_state, task_state, host, expected, _):
        state = states.InstanceState(vm_state, task_state, 'running', host)
        self.assertIs(expected, state.on_hypervisor)

    @ddt.data(*STATE_TABLE)
    @ddt.unpack
    def test_may_hold(self, vm_state, task_state, host, _, expected):
        state = states.InstanceState(vm_state, task_state, 'running', host)
        held = state.may_hold()
        self.assertIsInstance(held, frozenset)
        self.assertEqual(expected, held)
        self.assertLessEqual(held, frozenset(states.ALL_KINDS))
        self.assertNotIn(states.BUILD_REQUEST, held)

    @ddt.data(*STATE_TABLE)
    @ddt.unpack
    def test_of_real_instance(self, vm_state, task_state, host, on_hyp,
                              held):
        instance = base.make_instance(vm_state=vm_state,
                                      task_state=task_state,
                                      power_state=power_state.SHUTDOWN,
                                      host=host)
        state = states.InstanceState.of(instance)
        self.assertEqual(
            states.InstanceState(vm_state, task_state, 'shutdown', host),
            state)
        self.assertIs(on_hyp, state.on_hypervisor)
        self.assertEqual(held, state.may_hold())

    def test_of_power_state_unset(self):
        instance = base.make_instance(power_state=None, host=None,
                                      vm_state=vm_states.BUILDING)
        state = states.InstanceState.of(instance)
        self.assertIsNone(state.power_state)
        self.assertIsNone(state.host)
        self.assertEqual(vm_states.BUILDING, state.vm_state)

    def test_frozen(self):
        state = states.InstanceState(vm_states.ACTIVE, None, 'running', 'h')
        self.assertRaises(dataclasses.FrozenInstanceError, setattr, state,
                          'host', 'other')
        self.assertEqual(hash(state), hash(states.InstanceState(
            vm_states.ACTIVE, None, 'running', 'h')))


@ddt.ddt
class PowerStateNameTest(base.TestCase):

    @ddt.data(
        (power_state.NOSTATE, 'pending'),
        (power_state.RUNNING, 'running'),
        (power_state.PAUSED, 'paused'),
        (power_state.SHUTDOWN, 'shutdown'),
        (power_state.CRASHED, 'crashed'),
        (power_state.SUSPENDED, 'suspended'),
    )
    @ddt.unpack
    def test_known(self, value, name):
        self.assertEqual(name, states.power_state_name(value))

    def test_every_nova_power_state(self):
        for value, name in power_state.STATE_MAP.items():
            self.assertEqual(name, states.power_state_name(value))
            self.assertIn(name, fields.InstancePowerState.ALL)

    def test_none(self):
        self.assertIsNone(states.power_state_name(None))

    def test_unknown_value_is_its_text(self):
        self.assertEqual('99', states.power_state_name(99))
