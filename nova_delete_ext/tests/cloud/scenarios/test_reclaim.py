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

"""A recycled server reclaimed by nova-compute's periodic task.

Its port is one that Neutron refuses to unbind once (see
:mod:`nova_delete_ext.tests.cloud.ml2`): Nova logs the failure and
deletes the server, leaving the port bound to it. ``verify`` in
``repair`` mode, with no user token in a reclaim, finds the port with the
service credentials of nova.conf, unbinds it and records both.
"""

from nova_delete_ext.tests.cloud import ml2
from nova_delete_ext.tests.cloud.scenarios import base

# Nova runs its periodic tasks every 60 seconds, the first one up to
# [DEFAULT]periodic_fuzzy_delay (60 s) after the start.
RECLAIM_WAIT = 240 + base.WAIT


class ReclaimTest(base.CloudTestCase):

    def test_reclaimed_and_its_leak_repaired(self):
        port_id = self.create_port(ml2.FAIL_UNBIND_PREFIX + '1')
        server_id = self.create_server(port_id=port_id)
        resp = self.delete(server_id)
        self.assertEqual(204, resp.status_code, resp.text)
        records = self.wait_for_record(
            server_id, lambda r: r['outcome'] == 'soft_deleted')
        self.assertEqual(['soft_delete'],
                         [r['delete_type'] for r in records], records)
        self.wait_until_gone(server_id, RECLAIM_WAIT)
        records = self.wait_for_record(
            server_id, lambda r: r['trigger'] == 'reclaim')
        reclaimed = [r for r in records if r['trigger'] == 'reclaim']
        self.assertEqual(1, len(reclaimed), records)
        self.assertEqual('deleted', reclaimed[0]['outcome'], reclaimed)
        check = self.check_of(reclaimed[0])
        self.assertEqual('checked', check['outcome'], check)
        self.assertEqual([{'kind': 'ports', 'resource_id': port_id}],
                         [{k: leak[k] for k in ('kind', 'resource_id')}
                          for leak in check.get('leaks', [])], check)
        self.assertEqual(1, len(check.get('repaired', [])), check)
        self.assertIn('verify:repaired(1/1)', check['decisions'])
        port = self.port(port_id)
        self.assertEqual('', port['device_id'], port)
        self.assertEqual('', port['binding:host_id'], port)
        self.assertEqual([], self.ports_of(server_id))
        self.assertEqual({}, self.allocations_of(server_id))
