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

"""``nova-delete-ext sweep`` finds what a past delete left, by real APIs.

A port: the server's port is one Neutron refuses to unbind twice (see
:mod:`nova_delete_ext.tests.cloud.ml2`): once to Nova during the delete,
once to ``verify``'s repair right after it. The port stays bound to the
deleted server; the sweep, run later with nova-api's nova.conf, reads the
deleted instances from Nova's databases and Neutron's ports, finds it, and
with ``--repair`` unbinds it.

A shelve snapshot: the snapshot of a shelved server is protected in
Glance, so Nova's delete (and ``verify``'s repair) cannot delete it, and
Nova logs that and moves on. The sweep asks Glance for it as Nova's
service user, finds it in another project than its own, and with
``--repair`` deletes it once it is no longer protected.
"""

import datetime
import json
import os
import subprocess

from nova_delete_ext.tests.cloud import ml2
from nova_delete_ext.tests.cloud.scenarios import base

FOUND, REPAIRED = 3, 4


class SweepTest(base.CloudTestCase):

    def _sweep(self, since, *args, kinds='ports'):
        cmd = [os.path.join(self.env['venv'], 'bin', 'nova-delete-ext'),
               'sweep', '--config-file', self.env['nova_conf']['api'],
               '--since', since, '--kinds', kinds, '--format', 'json']
        result = subprocess.run(cmd + list(args), capture_output=True,
                                text=True, timeout=base.WAIT)
        return result.returncode, result

    def test_sweep_finds_and_repairs_a_port_left_bound(self):
        port_id = self.create_port(ml2.FAIL_UNBIND_PREFIX + '2')
        server_id = self.create_server(port_id=port_id)
        since = (datetime.datetime.now(datetime.timezone.utc)
                 - datetime.timedelta(seconds=5)).isoformat()
        self.force_delete(server_id)
        self.wait_until_gone(server_id)
        records = self.wait_for_record(
            server_id, lambda r: r['recorded_by'].startswith('compute'))
        self.assertEqual('deleted', records[-1]['outcome'], records)
        check = self.check_of(records[-1])
        self.assertEqual([port_id],
                         [leak['resource_id'] for leak in check['leaks']])
        self.assertEqual([], check['repaired'], check)
        self.assertIn('verify:repaired(0/1)', check['decisions'])
        self.assertEqual(server_id, self.port(port_id)['device_id'])

        code, result = self._sweep(since)
        self.assertEqual(FOUND, code, result.stderr)
        leaks = [leak for leak in json.loads(result.stdout)['leaks']
                 if leak['instance_uuid'] == server_id]
        self.assertEqual([('ports', port_id)],
                         [(leak['kind'], leak['resource_id'])
                          for leak in leaks], result.stdout)

        code, result = self._sweep(since, '--repair', '--yes')
        self.assertEqual(REPAIRED, code, result.stdout + result.stderr)
        self.assertEqual('', self.port(port_id)['device_id'])

    def test_sweep_finds_and_repairs_a_shelve_snapshot_left_behind(self):
        glance = self.client('image')
        server_id = self.create_server()
        resp = self.nova.post('/servers/%s/action' % server_id,
                              json={'shelve': None})
        self.assertEqual(202, resp.status_code, resp.text)
        self.wait_for_status(server_id, 'SHELVED')
        [image] = glance.get('/v2/images?instance_uuid=%s' %
                             server_id).json()['images']
        self.addCleanup(glance.delete, '/v2/images/%s' % image['id'])
        self.addCleanup(self._protect, glance, image['id'], False)
        self._protect(glance, image['id'], True)
        since = (datetime.datetime.now(datetime.timezone.utc)
                 - datetime.timedelta(seconds=5)).isoformat()
        self.delete(server_id)
        self.wait_until_gone(server_id)
        self.assertEqual(200, glance.get('/v2/images/%s' %
                                         image['id']).status_code)

        code, result = self._sweep(since, kinds='shelve_image')
        self.assertEqual(FOUND, code, result.stdout + result.stderr)
        self.assertEqual(
            [('shelve_image', server_id, image['id'])],
            [(leak['kind'], leak['instance_uuid'], leak['resource_id'])
             for leak in json.loads(result.stdout)['leaks']
             if leak['instance_uuid'] == server_id])

        self._protect(glance, image['id'], False)
        code, result = self._sweep(since, '--repair', '--yes',
                                   kinds='shelve_image')
        self.assertEqual(REPAIRED, code, result.stdout + result.stderr)
        self.assertEqual(404, glance.get('/v2/images/%s' %
                                         image['id']).status_code)

    def _protect(self, glance, image_id, protected):
        resp = glance.patch(
            '/v2/images/%s' % image_id,
            json=[{'op': 'replace', 'path': '/protected',
                   'value': protected}],
            headers={'Content-Type':
                     'application/openstack-images-v2.1-json-patch'})
        self.assertIn(resp.status_code, (200, 404), resp.text)
