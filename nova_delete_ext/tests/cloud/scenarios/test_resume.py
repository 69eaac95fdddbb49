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

"""nova-compute SIGKILLed in the middle of a delete, then started again."""

import os

from nova_delete_ext.tests.cloud import fake_virt
from nova_delete_ext.tests.cloud.scenarios import base


class ResumeTest(base.CloudTestCase):

    def _held_destroy(self, name=fake_virt.HELD_FILE):
        """The uuid whose delete nova-compute is holding, or None."""
        held = os.path.join(self.env['compute_state_path'], name)
        try:
            with open(held) as f:
                return f.read().strip() or None
        except FileNotFoundError:
            return None

    def test_killed_delete_resumes_once(self):
        server_id = self.create_server()
        hold = os.path.join(self.env['compute_state_path'],
                            fake_virt.HOLD_FILE)
        held = os.path.join(self.env['compute_state_path'],
                            fake_virt.HELD_FILE)
        for path in (hold, held):
            self.addCleanup(lambda p=path: os.path.exists(p) and os.unlink(p))
        with open(hold, 'w'):
            pass
        # Not a plain DELETE: recycle would turn it into a soft delete.
        self.force_delete(server_id)
        base.wait_for('the destroy of %s held' % server_id,
                      lambda: self._held_destroy() == server_id)
        self.assertEqual('deleting',
                         self.server(server_id)['OS-EXT-STS:task_state'])
        # SIGKILL to the process group, then a new nova-compute, which
        # finds the instance in task_state deleting and deletes it again.
        base.cloud('restart', '--kill', 'nova-compute')
        self.wait_until_gone(server_id)
        records = self.wait_for_record(
            server_id, lambda r: r['trigger'] == 'resume')
        resumed = [r for r in records if r['trigger'] == 'resume']
        self.assertEqual(1, len(resumed), records)
        self.assertEqual('deleted', resumed[0]['outcome'], resumed)
        self.assertEqual('compute', resumed[0]['path'], resumed)
        # The killed attempt never finished: no other compute record.
        self.assertEqual(
            [], [r for r in records if r is not resumed[0]
                 and r['recorded_by'].startswith('compute')], records)
        self.assertEqual([], self.ports_of(server_id))
        self.assertEqual({}, self.allocations_of(server_id))

    def test_killed_after_vm_state_deleted_is_recorded_once(self):
        """Killed between saving vm_state deleted and destroying the row.

        Nova completes such a delete at start-up
        (``_complete_partial_deletion``): one record, trigger ``resume``.
        """
        server_id = self.create_server()
        hold, held = (os.path.join(self.env['compute_state_path'], name)
                      for name in (fake_virt.HOLD_AFTER_DELETED_FILE,
                                   fake_virt.HELD_AFTER_DELETED_FILE))
        for path in (hold, held):
            self.addCleanup(lambda p=path: os.path.exists(p) and os.unlink(p))
        with open(hold, 'w'):
            pass
        self.force_delete(server_id)
        base.wait_for(
            '%s held after vm_state deleted' % server_id,
            lambda: self._held_destroy(
                fake_virt.HELD_AFTER_DELETED_FILE) == server_id and
            (self.server(server_id) or {}).get(
                'OS-EXT-STS:vm_state') == 'deleted')
        base.cloud('restart', '--kill', 'nova-compute')
        self.wait_until_gone(server_id)
        records = self.wait_for_record(
            server_id, lambda r: r['trigger'] == 'resume')
        resumed = [r for r in records if r['trigger'] == 'resume']
        self.assertEqual(1, len(resumed), records)
        self.assertEqual(('deleted', 'compute', 'deleted'),
                         (resumed[0]['outcome'], resumed[0]['path'],
                          resumed[0]['vm_state']), resumed)
        self.assertEqual(
            [], [r for r in records if r is not resumed[0]
                 and r['recorded_by'].startswith('compute')], records)
        self.assertEqual({}, self.allocations_of(server_id))
