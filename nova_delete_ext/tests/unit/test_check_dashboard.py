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

"""tools/check_dashboard.py against a stand-in of Prometheus' HTTP API."""

from http import server
import importlib.util
import json
import os
import threading
import urllib.parse

from oslotest import base

from nova_delete_ext.tests.unit import base as unit_base
from nova_delete_ext.tests.unit import test_prometheus_rules as rules

_PATH = os.path.join(rules.ROOT, 'tools', 'check_dashboard.py')
_SPEC = importlib.util.spec_from_file_location('check_dashboard', _PATH)
check_dashboard = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(check_dashboard)


class FakePrometheus(server.BaseHTTPRequestHandler):
    """Answers /api/v1/query and /api/v1/series as Prometheus does."""

    #: {substring of a query: 'error' | 'empty'}; others have one series.
    answers = {}
    asked = []

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        params = urllib.parse.parse_qs(url.query)
        query = (params.get('query') or params.get('match[]'))[0]
        self.asked.append((url.path, query))
        what = next((v for k, v in self.answers.items() if k in query), '')
        if what == 'error':
            code, body = 400, {'status': 'error', 'errorType': 'bad_data',
                               'error': 'parse error'}
        elif url.path == '/api/v1/series':
            code, body = 200, {'status': 'success',
                               'data': [] if what else [{'cell': 'cell1'}]}
        else:
            code, body = 200, {'status': 'success', 'data': {
                'resultType': 'vector',
                'result': [] if what else [{'metric': {}, 'value': [0, '1']}]
            }}
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


class CheckDashboardTest(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        unit_base.skip_if_eventlet_patched(self)
        FakePrometheus.answers, FakePrometheus.asked = {}, []
        httpd = server.HTTPServer(('127.0.0.1', 0), FakePrometheus)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        self.addCleanup(httpd.server_close)
        self.addCleanup(httpd.shutdown)
        self.url = 'http://127.0.0.1:%d' % httpd.server_port
        self.dashboard = check_dashboard.load()

    def test_every_query_asked_variables_filled_in(self):
        self.assertEqual([], check_dashboard.check_prometheus(
            self.url, self.dashboard))
        queries = [q for path, q in FakePrometheus.asked
                   if path == '/api/v1/query']
        self.assertEqual(len(check_dashboard.queries(self.dashboard)),
                         len(queries))
        self.assertFalse([q for q in queries if '$' in q])
        self.assertIn(('/api/v1/series', 'nova_delete_ext_cell_up'),
                      FakePrometheus.asked)

    def test_errors_and_empty_answers_fail(self):
        FakePrometheus.answers = {
            'nova_delete_ext_refusals_total': 'error',
            'nova_delete_ext_restores_total': 'empty',
            'nova_delete_ext_cell_up': 'empty'}
        failures = check_dashboard.check_prometheus(self.url, self.dashboard)
        self.assertEqual([
            'Cells answering [A]: no series',
            'Restores by outcome (per hour) [A]: no series',
            'Refusals by policy (per hour) [A]: bad_data: parse error',
            'variable $cell: no series'],
            [line.rpartition(':')[0] for line in failures])

    def test_unreachable_prometheus_fails_every_query(self):
        failures = check_dashboard.check_prometheus('http://127.0.0.1:1',
                                                    self.dashboard)
        self.assertEqual(len(check_dashboard.queries(self.dashboard)) + 1,
                         len(failures))

    def test_main_exit_status(self):
        self.assertEqual(0, check_dashboard.main(['--prometheus', self.url]))
        FakePrometheus.answers = {'nova_delete_ext_deletes_total': 'empty'}
        self.assertEqual(1, check_dashboard.main(['--prometheus', self.url]))
