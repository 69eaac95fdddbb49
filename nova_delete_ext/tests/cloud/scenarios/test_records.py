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

"""Every line of the record file: JSON, with the request id nova-api logged.

Run after the other parts and scenarios, it reads every record the cloud
wrote so far (Tempest's deletes included): each line parses as JSON, and
the record of each delete a user asked for carries the request id of a
request that nova-api logged for that server (``DELETE
/v2.1/servers/<id>``, or the ``forceDelete`` and ``restore`` actions),
whichever process recorded it.
"""

import json
import re

from nova_delete_ext.tests.cloud.scenarios import base

# nova.api.openstack.requestlog: '... [None req-... ...] 127.0.0.1
# "DELETE /v2.1/servers/<uuid>" status: 204 ...'
REQUEST = re.compile(r' INFO nova\.api\.openstack\.requestlog \[\S+ (req-\S+) '
                     r'.*"(DELETE|POST) /v2\.1/servers/([0-9a-f-]{36})'
                     r'(/action)?"')


class RecordsTest(base.CloudTestCase):

    def _api_requests(self):
        """{request id: server uuid} of the deletes nova-api logged."""
        found = {}
        with open(self.service_log('nova-api'), errors='replace') as f:
            for line in f:
                match = REQUEST.search(line)
                if match and (match.group(2) == 'DELETE') == (
                        match.group(4) is None):
                    found[match.group(1)] = match.group(3)
        return found

    def test_every_line_is_json_with_the_api_request_id(self):
        with open(self.env['record_file']) as f:
            lines = [line for line in f if line.strip()]
        self.assertNotEqual([], lines)
        records = []
        for number, line in enumerate(lines, 1):
            try:
                records.append(json.loads(line))
            except ValueError as exc:
                self.fail('line %d is not JSON (%s): %r'
                          % (number, exc, line[:200]))
        # The sweep's repairs are written there too, as events of a tool
        # (no request): the rule is for the records of deletes.
        events = [r for r in records if 'event' in r]
        self.assertEqual(['nova-delete-ext sweep'],
                         sorted(set(r['tool'] for r in events)) or
                         ['nova-delete-ext sweep'])
        requests = self._api_requests()
        asked = [r for r in records
                 if 'event' not in r and r['trigger'] == 'api']
        self.assertNotEqual([], asked)
        unmatched = [
            (r['instance_uuid'], r['request_id'], r['recorded_by'])
            for r in asked
            if requests.get(r['request_id']) != r['instance_uuid']]
        self.assertEqual([], unmatched)
