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

"""Fault injection: each hook wrapper fails, Nova's delete does not.

One test per hook point of :data:`nova_delete_ext.hooks.HOOK_POINTS` (the
wrappers on nova-api and on nova-compute): the hook raises as it is called,
before it does anything, and the servers whose delete goes through it are
deleted as without the extension.

Only the exception: the hooks themselves are in-memory bookkeeping around
Nova's method (context variables, the attempt, the path seen). What in them
can block is a place of its own in the other ``test_fault_matrix_*``
modules, with its hang: the policies, the carried facts, the record write.
A hang of the bookkeeping itself could come from no I/O, and nothing could
bound it but Nova's own RPC timeouts.

Every delete has exactly one record. Where the failing hook is the one
that writes it (``API._delete`` for the deletes nova-api finishes,
``ComputeManager._delete_instance``, ``_complete_partial_deletion``,
``soft_delete_instance`` and ``restore_instance`` on the compute host),
the point's fallback writes it without the policies, and its ``error``
says that the hook failed.
"""

import dataclasses
from unittest import mock

import fixtures
import testscenarios

from nova_delete_ext import hooks
from nova_delete_ext.hooks import installer
from nova_delete_ext.tests.functional import faults

load_tests = testscenarios.load_tests_apply_scenarios

_LOCAL = ('shelved_offloaded', 'error_no_host', 'building')
_ON_HOST = ('active', 'reclaimed', 'resumed')

#: (hook point, the states whose delete goes through it, the states whose
#: record that hook writes, so that its fallback writes it here).
POINTS = [
    ('ServersController._delete', ('active',), ()),
    ('API.get', ('active',), ()),
    ('API._delete', ('active',) + _LOCAL, _LOCAL),
    ('API._delete_while_booting', ('building',), ()),
    ('API._lookup_instance', ('building',), ()),
    ('API._local_delete', ('shelved_offloaded', 'error_no_host'), ()),
    ('API._local_delete_cleanup', _LOCAL, ()),
    ('API._local_cleanup_bdm_volumes',
     ('shelved_offloaded', 'error_no_host'), ()),
    ('API._confirm_resize_on_deleting', ('resized',), ()),
    ('ComputeManager.terminate_instance', ('active',), ()),
    ('ComputeManager._init_instance', ('resumed', 'partial'), ()),
    ('ComputeManager._complete_partial_deletion', ('partial',),
     ('partial',)),
    ('ComputeManager._delete_instance', _ON_HOST, _ON_HOST),
    ('ComputeManager._deleted_old_enough', ('reclaimed',), ()),
    # The soft delete and the restore of a server, then its delete.
    ('ComputeManager.soft_delete_instance', ('soft_deleted',),
     ('soft_deleted',)),
    ('ComputeManager.restore_instance', ('restored',), ('restored',)),
]


def _point(name):
    [point] = [p for p in hooks.HOOK_POINTS
               if p.qualname.endswith('.' + name)]
    return point


class HookFault(fixtures.Fixture):
    """Hooks installed with one hook raising as it is called.

    The hook is an autospec of the real one; the others are as installed.
    """

    def __init__(self, point):
        super().__init__()
        self.point = point
        self.hits = 0

    def _setUp(self):
        def faulty(*args, **kwargs):
            self.hits += 1
            raise faults.Injected('injected into %s' % self.point.qualname)

        hook = mock.create_autospec(self.point.hook, side_effect=faulty)
        points = [dataclasses.replace(p, hook=hook) if p is self.point
                  else p for p in hooks.HOOK_POINTS]
        hooks.uninstall()
        self.addCleanup(hooks.install)
        faulted = installer.Installer(points)
        faulted.install()
        self.addCleanup(faulted.uninstall)


class TestHookWrapperRaises(faults.FaultMatrixBase):

    scenarios = [(name, {'point_name': name, 'states': states,
                         'unrecorded': unrecorded})
                 for name, states, unrecorded in POINTS]

    def setUp(self):
        super().setUp()
        # Fail-open policies only: with one that fails closed, a failed
        # hook where the policies decide refuses the delete instead (see
        # hooks.installer.HookPoint.may_fall_back).
        self.use_policies('verify')

    def test_delete(self):
        # A soft delete under the fault starts from an active server, a
        # restore from a soft-deleted one.
        servers = self.prepare([_PREPARED.get(s, s) for s in self.states])
        servers = dict(zip(self.states, servers.values()))
        before = {s: len(self.delete_records(servers[s])) for s in servers}
        fault = self.useFixture(HookFault(_point(self.point_name)))
        for state, server in servers.items():
            if state == 'restored':
                self.api.post_server_action(server['id'], {'restore': None})
                self._wait_for_state_change(server, 'ACTIVE')
                self.api.delete_server(server['id'])
            elif state == 'soft_deleted':
                self.flags(reclaim_instance_interval=3600)
                self.api.delete_server(server['id'])
                self._wait_for_state_change(server, 'SOFT_DELETED')
                self.reclaim_now()
            else:
                self.assertLess(self.delete(state, server), faults.BOUND)
            self.assert_gone(server)
        self.assertGreater(fault.hits, 0, 'the hook was never called')
        for state, server in servers.items():
            # A soft delete or a restore has its record, then the delete.
            steps = 2 if state in _TWO_STEPS else 1
            self.wait_for_record(server, before[state] + steps)
            new = self.delete_records(server)[before[state]:]
            self.assertEqual(steps, len(new), (state, new))
            unhooked = [r for r in new
                        if 'failed in its hook' in r.get('error', '')]
            self.assertEqual(1 if state in self.unrecorded else 0,
                             len(unhooked), (state, new))
        self.assertIn('nova-delete-ext failed in its hook on',
                      '\n'.join(self.errors.messages))


_PREPARED = {'soft_deleted': 'active', 'restored': 'reclaimed'}
_TWO_STEPS = tuple(_PREPARED)
