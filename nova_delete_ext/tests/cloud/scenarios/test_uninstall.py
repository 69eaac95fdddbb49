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

"""The admin guide's uninstall page, followed step by step on the cloud.

Run last (it takes the extension out of nova-api and nova-compute), with
recycle on, a retention and a reclaim interval of an hour: the
check says what removal would do, Nova is restarted without the driver,
nova-api first, the extension's keys are removed, and Nova then runs as
without the extension: a server that was protected is deleted, no record
is written, no service logs the extension's activation.
"""

import json
import os
import subprocess

from nova_delete_ext.tests.cloud.scenarios import base

HOOKED = 'nova-delete-ext hooked into '


class UninstallTest(base.CloudTestCase):

    def _uninstall(self, *args):
        """``nova-delete-ext uninstall ... --format json``: (status, data)."""
        result = subprocess.run(
            [os.path.join(self.env['venv'], 'bin', 'nova-delete-ext'),
             'uninstall', '--format', 'json', '--config-file',
             self.env['nova_conf']['api']] + list(args),
            capture_output=True, text=True)
        self.assertIn(result.returncode, (0, 3), result.stderr)
        return result.returncode, json.loads(result.stdout)

    def _restart_without_extension(self, name):
        env = dict(os.environ, CLOUD_EXTENSION='0')
        subprocess.run([base.sys.executable, base.CLOUD_PY, 'restart', name],
                       check=True, capture_output=True, env=env)
        hooked = [line for line in base.log_since_start(self.service_log(name))
                  if HOOKED in line]
        self.assertEqual([], hooked, name)

    def test_follow_the_uninstall_page(self):
        protected = self.create_server(tags=[self.env['protect_tag']])
        recycled = self.create_server()
        self.assertEqual(204, self.delete(recycled).status_code)
        self.wait_for_status(recycled, 'SOFT_DELETED')

        # Step 1: what removal would do now.
        status, held = self._uninstall('--check')
        self.assertEqual(3, status, held)
        self.assertIn(protected, [p['server'] for p in held['protected']])
        self.assertIn(recycled, [r['server'] for r in held['recycled']])
        self.assertIn(recycled, [k['server'] for k in held['keys']])

        # Step 3: the driver out, nova-api first, then the compute node.
        self._restart_without_extension('nova-api')
        self._restart_without_extension('nova-compute')

        # Step 4: the keys out; nothing of the extension is left.
        status, done = self._uninstall('--remove-keys', '--yes')
        self.assertGreaterEqual(done['removed'], 1, done)
        status, held = self._uninstall('--check')
        self.assertEqual([], held['keys'], held)

        # Nova as without the extension: protection is lifted (Nova itself
        # soft-deletes, reclaim_instance_interval being set), and no delete
        # writes a record.
        records_before = len(self.records())
        self.assertEqual(204, self.delete(protected).status_code)
        self.wait_for_status(protected, 'SOFT_DELETED')
        self.force_delete(protected)
        self.wait_until_gone(protected)
        self.force_delete(recycled)
        self.wait_until_gone(recycled)
        self.assertEqual(records_before, len(self.records()))
