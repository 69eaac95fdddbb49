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

"""The alert rules and the dashboard name what the collector exports.

promtool checks and tests the rules themselves (``tox -e promtool``);
these tests check what promtool cannot: that every metric a rule or a
panel names is one the collector exports, that every alert is tested
firing and not firing, and that its runbook is a section of the admin
guide's Monitoring page.
"""

import glob
import os
import re

from oslotest import base
import prometheus_client
import yaml

from nova_delete_ext.collector import listener
from nova_delete_ext.collector import metrics
from nova_delete_ext.collector import poll
from nova_delete_ext import record as rec
from nova_delete_ext.tests.unit import test_collector_metrics as exported
from nova_delete_ext.tests.unit import test_collector_totals as records

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
RULES = os.path.join(ROOT, 'etc', 'prometheus', 'nova-delete-ext.rules.yml')
RULE_TESTS = os.path.join(ROOT, 'etc', 'prometheus', 'tests', '*.yml')
DASHBOARD = os.path.join(ROOT, 'etc', 'grafana', 'nova-delete-ext.json')
MONITORING = os.path.join(ROOT, 'doc', 'source', 'admin', 'monitoring.rst')
# Names that are no metric of the collector's: Prometheus' own, and the
# rules' recorded series.
_NAME = re.compile(r'\b((?:nova_delete_ext|job:nova_delete_ext)'
                   r'[a-zA-Z0-9_:]*)')


def exported_names():
    """Every sample name a fully fed collector exports."""
    store = exported.FakeStore(
        records.delete_record(),
        records.delete_record(outcome=rec.DENIED,
                              decisions=['protect:denied(x)']),
        records.delete_record(delete_type=rec.RESTORE,
                              outcome=rec.RESTORED),
        records.check_record(leaks=records.LeaksTest.LEAKS[:1],
                             repaired=['deleted port %s' % records.PORT]))
    health = listener.Health()
    health.stored_now()
    stuck = {(state, age): 0 for state in ('deleting', 'soft-deleting')
             for age, _ in poll.AGES}
    cell = poll.CellGauges('cell1', True, stuck=stuck,
                           recycle_bin=dict.fromkeys(poll.BIN_STATES, 0))
    served = metrics.Metrics(store, health,
                             exported.FakePoller((True, [cell])))
    served.totals.refresh()
    text = prometheus_client.generate_latest(served.registry).decode()
    samples = {line.split('{')[0].split(' ')[0]
               for line in text.splitlines()
               if line.startswith('nova_delete_ext')}
    families = {line.split(' ')[2] for line in text.splitlines()
                if line.startswith('# TYPE nova_delete_ext')}
    return samples | families


def rules():
    with open(RULES) as f:
        return yaml.safe_load(f)


def alerts():
    return [rule for group in rules()['groups'] for rule in group['rules']
            if 'alert' in rule]


class RulesTest(base.BaseTestCase):

    def test_every_metric_named_is_exported(self):
        names = exported_names()
        recorded = {rule['record'] for group in rules()['groups']
                    for rule in group['rules'] if 'record' in rule}
        with open(RULES) as f:
            used = set(_NAME.findall(f.read()))
        with open(DASHBOARD) as f:
            used |= set(_NAME.findall(f.read()))
        self.assertEqual(set(), used - names - recorded)
        # And the check can fail: the names are found.
        self.assertIn('nova_delete_ext_stuck_deletes', used)
        self.assertIn('nova_delete_ext_delete_duration_seconds_bucket', used)

    def test_every_alert_has_a_summary_and_a_runbook_on_the_page(self):
        with open(MONITORING) as f:
            page = f.read()
        titles = {line.strip().lower() for line in page.splitlines()}
        for alert in alerts():
            annotations = alert['annotations']
            self.assertTrue(annotations.get('summary'), alert['alert'])
            self.assertIn(alert['labels']['severity'],
                          ('info', 'warning', 'critical'))
            url = annotations['runbook_url']
            self.assertTrue(url.startswith(
                'https://docs.openstack.org/nova-delete-ext/latest/admin/'
                'monitoring.html#'), url)
            self.assertIn(url.rpartition('#')[2], titles, alert['alert'])

    def test_every_alert_is_tested_firing_and_not_firing(self):
        fired, quiet = set(), set()
        for path in glob.glob(RULE_TESTS):
            with open(path) as f:
                tests = yaml.safe_load(f)
            for test in tests['tests']:
                for case in test.get('alert_rule_test', ()):
                    (fired if case['exp_alerts'] else quiet).add(
                        case['alertname'])
        names = {alert['alert'] for alert in alerts()}
        self.assertEqual(set(), names - fired, 'never tested firing')
        self.assertEqual(set(), names - quiet, 'never tested quiet')
