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

"""Tests of :func:`nova_delete_ext.release.plan`."""

import itertools

import ddt
from nova.compute import task_states
from nova.compute import vm_states

from nova_delete_ext import record as rec
from nova_delete_ext.record import release
from nova_delete_ext import states
from nova_delete_ext.tests.unit import base

DOMAIN = states.DOMAIN
DISKS = states.DISKS
PORTS = states.PORTS
VOLUMES = states.VOLUMES
ALLOCATIONS = states.ALLOCATIONS
SHELVE_IMAGE = states.SHELVE_IMAGE
BUILD_REQUEST = states.BUILD_REQUEST

PATHS = (rec.PATH_COMPUTE, rec.PATH_LOCAL, rec.PATH_BUILD_REQUEST)


def _state(vm_state, host='cmp1', task_state=None):
    return states.InstanceState(vm_state, task_state, 'running', host)


ACTIVE = _state(vm_states.ACTIVE)
STOPPED = _state(vm_states.STOPPED)
SHELVED = _state(vm_states.SHELVED)
SOFT_DELETED = _state(vm_states.SOFT_DELETED)
ERROR_ON_HOST = _state(vm_states.ERROR)
ERROR_NO_HOST = _state(vm_states.ERROR, host=None)
BUILDING = _state(vm_states.BUILDING, host=None,
                  task_state=task_states.SCHEDULING)
OFFLOADED = _state(vm_states.SHELVED_OFFLOADED, host=None)
DELETED = _state(vm_states.DELETED)


@ddt.ddt
class PlanTest(base.TestCase):

    def _plan(self, *args, **kwargs):
        released, retained = release.plan(*args, **kwargs)
        self.assertIsInstance(released, frozenset)
        self.assertIsInstance(retained, frozenset)
        self.assertEqual(frozenset(), released & retained)
        return released, retained

    # The compute host deletes everything the state holds.

    @ddt.data(
        (ACTIVE, None, {DOMAIN, DISKS, PORTS, VOLUMES, ALLOCATIONS}),
        (ACTIVE, True, {DOMAIN, DISKS, PORTS, VOLUMES, ALLOCATIONS}),
        (ACTIVE, False, {DOMAIN, DISKS, PORTS, ALLOCATIONS}),
        (STOPPED, False, {DOMAIN, DISKS, PORTS, ALLOCATIONS}),
        (SHELVED, None,
         {DOMAIN, DISKS, PORTS, VOLUMES, ALLOCATIONS, SHELVE_IMAGE}),
        (SOFT_DELETED, False, {DOMAIN, DISKS, PORTS, ALLOCATIONS}),
        (ERROR_ON_HOST, None, {DOMAIN, DISKS, PORTS, VOLUMES, ALLOCATIONS}),
        (DELETED, None, set()),
    )
    @ddt.unpack
    def test_compute(self, state, has_volumes, released):
        self.assertEqual(
            (frozenset(released), frozenset()),
            self._plan(state, rec.PATH_COMPUTE, has_volumes=has_volumes))

    # nova-api deletes locally: the host is down (or there is none), so a
    # guest defined there stays there until the host comes back.

    def test_local_host_down_retains_guest(self):
        released, retained = self._plan(ACTIVE, rec.PATH_LOCAL)
        self.assertEqual(frozenset({PORTS, VOLUMES, ALLOCATIONS}), released)
        self.assertEqual(frozenset({DOMAIN, DISKS}), retained)

    def test_local_host_down_no_volumes(self):
        released, retained = self._plan(STOPPED, rec.PATH_LOCAL,
                                        has_volumes=False)
        self.assertEqual(frozenset({PORTS, ALLOCATIONS}), released)
        self.assertEqual(frozenset({DOMAIN, DISKS}), retained)

    def test_local_shelved_host_down(self):
        released, retained = self._plan(SHELVED, rec.PATH_LOCAL)
        self.assertEqual(
            frozenset({PORTS, VOLUMES, ALLOCATIONS, SHELVE_IMAGE}), released)
        self.assertEqual(frozenset({DOMAIN, DISKS}), retained)

    @ddt.data(
        (ERROR_NO_HOST, None, {PORTS, VOLUMES, ALLOCATIONS}),
        (BUILDING, False, {PORTS, ALLOCATIONS}),
        (OFFLOADED, None, {PORTS, VOLUMES, SHELVE_IMAGE}),
        (OFFLOADED, False, {PORTS, SHELVE_IMAGE}),
    )
    @ddt.unpack
    def test_local_no_guest_retains_nothing(self, state, has_volumes,
                                            released):
        self.assertEqual(
            (frozenset(released), frozenset()),
            self._plan(state, rec.PATH_LOCAL, has_volumes=has_volumes))

    def test_local_releases_what_compute_would_minus_the_guest(self):
        compute, _ = self._plan(ACTIVE, rec.PATH_COMPUTE)
        local, retained = self._plan(ACTIVE, rec.PATH_LOCAL)
        self.assertEqual(compute, local | retained)
        self.assertEqual(frozenset(states.ON_HYPERVISOR), retained)

    # Deleted while still a BuildRequest in the API database.

    @ddt.data(
        (None, {BUILD_REQUEST, ALLOCATIONS, VOLUMES}),
        (True, {BUILD_REQUEST, ALLOCATIONS, VOLUMES}),
        (False, {BUILD_REQUEST, ALLOCATIONS}),
    )
    @ddt.unpack
    def test_build_request(self, has_volumes, released):
        self.assertEqual(
            (frozenset(released), frozenset()),
            self._plan(BUILDING, rec.PATH_BUILD_REQUEST,
                       has_volumes=has_volumes))

    def test_build_request_never_releases_ports_or_guest(self):
        released, _ = self._plan(ACTIVE, rec.PATH_BUILD_REQUEST)
        self.assertEqual(frozenset({BUILD_REQUEST, ALLOCATIONS, VOLUMES}),
                         released)

    # A soft delete releases nothing, whatever the path, but the shelve
    # snapshot, which nova-api deletes for every kind of delete.

    @ddt.data(*PATHS)
    def test_soft_keeps_everything(self, path):
        released, retained = self._plan(ACTIVE, path, soft=True)
        self.assertEqual(frozenset(), released)
        self.assertEqual(ACTIVE.may_hold(), retained)

    def test_soft_without_volumes(self):
        self.assertEqual(
            (frozenset(), frozenset({DOMAIN, DISKS, PORTS, ALLOCATIONS})),
            self._plan(STOPPED, rec.PATH_COMPUTE, has_volumes=False,
                       soft=True))

    def test_soft_offloaded(self):
        self.assertEqual(
            (frozenset({SHELVE_IMAGE}), frozenset({PORTS, VOLUMES})),
            self._plan(OFFLOADED, rec.PATH_LOCAL, soft=True))

    # Whole-table properties.

    def test_never_more_than_held_for_every_state_and_path(self):
        hosts = ('cmp1', None)
        tasks = (None, task_states.SPAWNING, task_states.DELETING)
        for vm_state, host, task, path, has_volumes, soft in (
                itertools.product(sorted(states.all_vm_states()), hosts,
                                  tasks, PATHS, (None, True, False),
                                  (False, True))):
            state = states.InstanceState(vm_state, task, None, host)
            released, retained = self._plan(state, path,
                                            has_volumes=has_volumes,
                                            soft=soft)
            allowed = set(state.may_hold())
            if path == rec.PATH_BUILD_REQUEST and not soft:
                allowed |= {BUILD_REQUEST, ALLOCATIONS}
            if has_volumes is False:
                allowed.discard(VOLUMES)
            why = (vm_state, host, task, path, has_volumes, soft)
            self.assertLessEqual(released | retained, allowed, why)
            if soft:
                self.assertLessEqual(released, {SHELVE_IMAGE}, why)

    def test_does_not_change_the_state(self):
        before = ACTIVE.may_hold()
        self._plan(ACTIVE, rec.PATH_LOCAL, has_volumes=False)
        self.assertEqual(before, ACTIVE.may_hold())
        self.assertIn(VOLUMES, ACTIVE.may_hold())
