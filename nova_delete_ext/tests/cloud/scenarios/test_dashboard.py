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

"""The Grafana dashboard's queries on the cloud's Prometheus.

Run after the other scenarios of the part, so that every panel has
something to show: ``tools/check_dashboard.py --prometheus`` sends every
query of every panel (Grafana's variables filled in) to Prometheus' HTTP
API and fails on a query error and on a query that returns no series.
"""

import os
import subprocess
import sys

from nova_delete_ext.tests.cloud.scenarios import base

CHECK = os.path.join(base.REPO, 'tools', 'check_dashboard.py')


class DashboardTest(base.CloudTestCase):

    def test_every_panel_returns_series(self):
        result = subprocess.run(
            [sys.executable, CHECK, '--prometheus', self.env['prometheus']],
            capture_output=True, text=True, timeout=300)
        self.assertEqual(0, result.returncode,
                         result.stdout + result.stderr)
