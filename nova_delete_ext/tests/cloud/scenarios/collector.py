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

"""The collector, its record database and Prometheus, as scenarios see them.

Every answer is asked the way an operator asks it: ``nova-delete-ext
records`` on the collector's configuration file, the collector's
``/metrics`` page, and Prometheus' HTTP API. Records that no delete wrote
(a flow of them, to count) are sent the way the ``notification`` sink
sends them: oslo.messaging notifications on Nova's exchange and topic.
"""

import datetime
import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
import uuid

from oslo_config import cfg
import oslo_messaging
from prometheus_client.parser import text_string_to_metric_families

from nova_delete_ext.tests.cloud.scenarios import base

COLLECTOR = 'nova-delete-ext-collector'
COLLECTOR_2 = 'nova-delete-ext-collector-2'


def records(env, *args):
    """``nova-delete-ext records ARGS -f json`` on the collector's database."""
    cmd = [os.path.join(env['venv'], 'bin', 'nova-delete-ext'), 'records']
    cmd += list(args) + ['-f', 'json']
    for path in env['collector_conf']:
        cmd += ['--config-file', path]
    result = subprocess.run(cmd, capture_output=True, text=True,
                            timeout=120)
    if result.returncode:
        raise AssertionError('%s: exit %d: %s' % (
            ' '.join(cmd[1:]), result.returncode, result.stderr))
    return json.loads(result.stdout)


def count_of(env, project):
    """How many records of ``project`` the database holds, and distinct."""
    found = records(env, 'list', '--project', project, '--limit', '0')
    return len(found), len({r['id'] for r in found})


def metrics(env, name=COLLECTOR):
    """``{(sample name, sorted labels): value}`` of a collector's page."""
    with urllib.request.urlopen(env['collector_metrics'][name],
                                timeout=10) as resp:
        text = resp.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples}


def prometheus(env, path, **params):
    """The ``data`` of a Prometheus API answer."""
    url = env['prometheus'] + path
    if params:
        url += '?' + urllib.parse.urlencode(params)
    with urllib.request.urlopen(url, timeout=10) as resp:
        body = json.load(resp)
    if body.get('status') != 'success':
        raise AssertionError('%s: %s' % (url, body))
    return body['data']


def query(env, expr):
    """``{labels as sorted tuple: value}`` of an instant query."""
    return {tuple(sorted(r['metric'].items())): float(r['value'][1])
            for r in prometheus(env, '/api/v1/query', query=expr)['result']}


def alert_state(env, name):
    """The state of alert ``name`` in Prometheus (None if not active)."""
    states = [a['state'] for a in prometheus(env, '/api/v1/alerts')['alerts']
              if a['labels'].get('alertname') == name]
    if 'firing' in states:
        return 'firing'
    return states[0] if states else None


def cloud(*args):
    """``tools/cloud/cloud.py ARGS``: restart, start and stop services."""
    subprocess.run([sys.executable, base.CLOUD_PY] + list(args), check=True,
                   capture_output=True, timeout=300)


def synthetic_record(project):
    """A delete record as the sink sends it, of a made-up server."""
    now = datetime.datetime.now(datetime.timezone.utc).isoformat()
    return {
        'schema_version': '1.1', 'kind': 'delete', 'id': str(uuid.uuid4()),
        'instance_uuid': str(uuid.uuid4()), 'project_id': project,
        'user_id': 'cloud-flow', 'request_id': 'req-%s' % uuid.uuid4(),
        'vm_state': 'active', 'task_state': None, 'power_state': 'running',
        'host': 'compute1', 'delete_type': 'delete', 'trigger': 'api',
        'requested_at': now, 'path': 'compute', 'outcome': 'deleted',
        'released': ['allocations', 'disks'], 'retained': [], 'steps': [],
        'decisions': [], 'duration_ms': 250.0,
        'recorded_by': 'compute@compute1'}


class Flow:
    """Made-up records sent on a thread, as the notification sink would.

    ``count`` records of a project of their own, at ``rate`` per second.
    """

    def __init__(self, env, count, rate):
        self.project = 'flow-%s' % uuid.uuid4().hex[:12]
        self.count, self.rate = count, rate
        self.sent = 0
        conf = cfg.ConfigOpts()
        conf([], project='nova-delete-ext-scenarios')
        oslo_messaging.set_transport_defaults(control_exchange='nova')
        self._transport = oslo_messaging.get_notification_transport(
            conf, url=env['transport_url'])
        self._notifier = oslo_messaging.Notifier(
            self._transport, publisher_id='nova-compute:compute1',
            driver='messagingv2', topics=['notifications'])
        self._thread = threading.Thread(target=self._send, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def _send(self):
        started = time.monotonic()
        for n in range(self.count):
            # On time whatever a send costs: rate per second overall.
            delay = started + n / self.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self._notifier.info({}, 'delete_ext.delete.end',
                                synthetic_record(self.project))
            self.sent += 1

    def wait(self, timeout=300):
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise AssertionError('sent %d of %d records in %d s'
                                 % (self.sent, self.count, timeout))
        self._transport.cleanup()
