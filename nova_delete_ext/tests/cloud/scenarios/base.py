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

"""Access to the running cloud: its APIs, its logs, its record file."""

import json
import os
import re
import subprocess
import sys
import time
import unittest
import uuid

from keystoneauth1 import adapter
from keystoneauth1.identity import v3
from keystoneauth1 import session as ks_session

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__))))))
CLOUD_PY = os.path.join(REPO, 'tools', 'cloud', 'cloud.py')
#: Nova's microversion for the calls here (tags in the create request).
COMPUTE_VERSION = '2.79'
WAIT = float(os.environ.get('CLOUD_BUILD_TIMEOUT', '300'))


def cloud(*args):
    """Run tools/cloud/cloud.py (the same CLOUD_* settings); its stdout."""
    return subprocess.run([sys.executable, CLOUD_PY] + list(args),
                          check=True, capture_output=True, text=True).stdout


def manage(env, *args, ok=(0,)):
    """nova-manage with the conductor's nova.conf (it has the databases).

    Its output; an exit status not in ``ok`` fails.
    """
    result = subprocess.run(
        [os.path.join(env['venv'], 'bin', 'nova-manage'), '--config-file',
         env['nova_conf']['conductor']] + list(args),
        capture_output=True, text=True, timeout=WAIT)
    if result.returncode not in ok:
        raise AssertionError('nova-manage %s: exit %d: %s' % (
            ' '.join(args), result.returncode, result.stdout + result.stderr))
    return result.stdout


def wait_for(what, test, timeout=WAIT, interval=1.0):
    deadline = time.monotonic() + timeout
    while True:
        found = test()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError('%s: not after %ds' % (what, timeout))
        time.sleep(interval)


def log_since_start(path):
    """The lines of a service log since the service last started."""
    with open(path, errors='replace') as f:
        text = f.read()
    return text.rsplit('\n==== ', 1)[-1].splitlines()


def log_pid(line):
    """The process id oslo.log puts after the date, or None."""
    match = re.match(r'\S+ \S+ (\d+) ', line)
    return int(match.group(1)) if match else None


class CloudTestCase(unittest.TestCase):
    """Admin access to the cloud through its public endpoints."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = json.loads(cloud('env'))
        auth = v3.Password(auth_url=cls.env['keystone'], username='admin',
                           password=cls.env['password'],
                           project_name='admin', user_domain_name='Default',
                           project_domain_name='Default')
        cls.auth = auth
        cls.session = ks_session.Session(auth=auth)
        cls.nova = cls.client('compute')
        cls.neutron = cls.client('network')
        cls.placement = cls.client('placement')

    @classmethod
    def client(cls, service_type, session=None):
        headers = {}
        if service_type == 'compute':
            headers['OpenStack-API-Version'] = 'compute ' + COMPUTE_VERSION
        elif service_type == 'placement':
            headers['OpenStack-API-Version'] = 'placement 1.28'
        return adapter.Adapter(session or cls.session,
                               service_type=service_type,
                               region_name=cls.env['region'],
                               interface='public', raise_exc=False,
                               additional_headers=headers)

    # -- servers

    def create_server(self, tags=(), port_id=None):
        network = ({'port': port_id} if port_id
                   else {'uuid': self.env['network']})
        body = {'server': {'name': 'part3-%s' % uuid.uuid4().hex[:8],
                           'imageRef': self.env['images'][0],
                           'flavorRef': self.env['flavors'][0],
                           'networks': [network]}}
        if tags:
            body['server']['tags'] = list(tags)
        resp = self.nova.post('/servers', json=body)
        self.assertEqual(202, resp.status_code, resp.text)
        server_id = resp.json()['server']['id']
        self.addCleanup(self.cleanup_server, server_id)
        self.wait_for_status(server_id, 'ACTIVE')
        return server_id

    def server(self, server_id):
        resp = self.nova.get('/servers/%s' % server_id)
        if resp.status_code == 404:
            return None
        self.assertEqual(200, resp.status_code, resp.text)
        return resp.json()['server']

    def wait_for_status(self, server_id, status, timeout=WAIT):
        def reached():
            server = self.server(server_id)
            if server is None or server['status'] == 'ERROR':
                raise AssertionError('server %s: %s' % (server_id, server))
            return server['status'] == status and server
        return wait_for('server %s %s' % (server_id, status), reached,
                        timeout)

    def wait_until_gone(self, server_id, timeout=WAIT):
        wait_for('server %s gone' % server_id,
                 lambda: self.server(server_id) is None, timeout)

    def delete(self, server_id, client=None):
        """DELETE the server; the response (its request id in headers)."""
        return (client or self.nova).delete('/servers/%s' % server_id)

    def force_delete(self, server_id):
        resp = self.nova.post('/servers/%s/action' % server_id,
                              json={'forceDelete': None})
        self.assertEqual(202, resp.status_code, resp.text)
        return resp

    def cleanup_server(self, server_id):
        server = self.server(server_id)
        if server is None:
            return
        for tag in server.get('tags') or []:
            self.nova.delete('/servers/%s/tags/%s' % (server_id, tag))
        self.nova.post('/servers/%s/action' % server_id,
                       json={'forceDelete': None})

    def create_port(self, name):
        resp = self.neutron.post('/v2.0/ports', json={'port': {
            'network_id': self.env['network'], 'name': name}})
        self.assertEqual(201, resp.status_code, resp.text)
        port_id = resp.json()['port']['id']
        self.addCleanup(self.neutron.delete, '/v2.0/ports/%s' % port_id)
        return port_id

    def port(self, port_id):
        resp = self.neutron.get('/v2.0/ports/%s' % port_id)
        self.assertEqual(200, resp.status_code, resp.text)
        return resp.json()['port']

    # -- what the deployment says about a server

    def ports_of(self, server_id):
        resp = self.neutron.get('/v2.0/ports?device_id=%s' % server_id)
        self.assertEqual(200, resp.status_code, resp.text)
        return resp.json()['ports']

    def allocations_of(self, server_id):
        resp = self.placement.get('/allocations/%s' % server_id)
        self.assertEqual(200, resp.status_code, resp.text)
        return resp.json()['allocations']

    # -- the records and the logs

    def records(self, instance_uuid=None, kind='delete'):
        """The records of ``kind`` (delete or check) in the record file.

        Not the sweep's repair events.
        """
        path = self.env['record_file']
        if not os.path.exists(path):
            return []
        with open(path) as f:
            found = [json.loads(line) for line in f if line.strip()]
        return [r for r in found if 'event' not in r
                and r.get('kind') == kind
                and instance_uuid in (None, r['instance_uuid'])]

    def wait_for_record(self, server_id, test, timeout=WAIT):
        """The delete records of the server, once one passes ``test``."""
        def found():
            records = self.records(server_id)
            return any(test(r) for r in records) and records
        return wait_for('a record of %s' % server_id, found, timeout)

    def check_of(self, record, timeout=WAIT):
        """The check record of the delete ``record``, once written.

        verify's findings (leaks, repairs, its decision) are there: the
        work after a delete writes its own record.
        """
        def found():
            return [c for c in self.records(record['instance_uuid'],
                                            kind='check')
                    if c['delete_id'] == record['id']]
        [check] = wait_for('the check of %s' % record['id'], found, timeout)
        return check

    def service_log(self, name):
        return os.path.join(self.env['logs'], name + '.log')

    def pid_of(self, name):
        with open(os.path.join(self.env['run'], name + '.pid')) as f:
            return int(f.read().strip())
