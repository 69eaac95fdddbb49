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

"""Every nova-api worker process has the hooks; each logged its lines once."""

import concurrent.futures
import os

from keystoneauth1 import session as ks_session

from nova_delete_ext.tests.cloud.scenarios import base

HOOKED = 'nova-delete-ext hooked into '
IN_FORCE = 'nova-delete-ext policies in force: '
REQUEST_ID = 'x-openstack-request-id'


def _children(pid):
    found = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % entry) as f:
                fields = f.read().rsplit(')', 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry))
    return set(found)


class WorkersTest(base.CloudTestCase):

    def _activation_lines(self, name):
        """{pid: [the activation lines that pid logged]} since the start."""
        found = {}
        for line in base.log_since_start(self.service_log(name)):
            if HOOKED in line or IN_FORCE in line:
                found.setdefault(base.log_pid(line), []).append(line)
        return found

    def test_each_api_worker_logged_its_activation_once(self):
        workers = _children(self.pid_of('nova-api'))
        self.assertGreaterEqual(len(workers), 2, 'gunicorn workers')
        lines = self._activation_lines('nova-api')
        self.assertEqual(workers, set(lines), lines)
        for pid, logged in lines.items():
            self.assertEqual(1, sum(HOOKED in li for li in logged), logged)
            self.assertEqual(1, sum(IN_FORCE in li for li in logged), logged)
            self.assertIn(' INFO nova_delete_ext.hooks.installer [-] ',
                          logged[0])

    def test_compute_logged_its_activation_once(self):
        lines = self._activation_lines('nova-compute')
        self.assertEqual([self.pid_of('nova-compute')], list(lines), lines)
        logged = list(lines.values())[0]
        self.assertEqual(2, len(logged), logged)

    def test_deletes_served_by_every_worker_are_recorded(self):
        # A protected server: each DELETE is refused (409) by the hooks of
        # the worker that serves it, which records it, quickly.
        server_id = self.create_server(tags=[self.env['protect_tag']])
        workers = _children(self.pid_of('nova-api'))
        served = {}
        # Sync workers take one request at a time: concurrent requests
        # spread over them. A few rounds, until every worker served one.
        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            for _ in range(8):
                clients = [self.client('compute', ks_session.Session(
                    auth=self.auth)) for _ in range(6)]
                for resp in pool.map(
                        lambda c: self.delete(server_id, c), clients):
                    self.assertEqual(409, resp.status_code, resp.text)
                    served[resp.headers[REQUEST_ID]] = None
                for pid, request_id in self._record_lines(server_id):
                    if request_id in served:
                        served[request_id] = pid
                if workers <= set(served.values()):
                    break
        self.assertEqual(workers, set(served.values()) - {None}, served)
        records = {r['request_id']: r for r in self.records(server_id)}
        for request_id in served:
            self.assertEqual('denied', records[request_id]['outcome'])
            self.assertEqual('api', records[request_id]['trigger'])

    def _record_lines(self, server_id):
        """(pid, request id) of each "Delete record:" line of the server."""
        for line in base.log_since_start(self.service_log('nova-api')):
            if 'Delete record:' in line and server_id in line:
                request_id = line.split('[', 1)[1].split()[1]
                yield base.log_pid(line), request_id
