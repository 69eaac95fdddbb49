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

"""Records keep flowing across a rotation by the shipped logrotate snippet.

Runs the real ``logrotate`` (bindep.txt lists it for the tests) on
``etc/logrotate.d/nova-delete-ext`` with the record file moved to a
temporary directory, once as shipped (the file is moved away) and once with
``copytruncate``.
"""

import os
import shutil
import subprocess

import fixtures
from oslo_serialization import jsonutils

from nova_delete_ext.sinks import file as file_sink
from nova_delete_ext.tests.unit import base

SNIPPET = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'etc',
                       'logrotate.d', 'nova-delete-ext')
SHIPPED_PATH = '/var/log/nova/delete-records.jsonl'


class LogrotateTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.logrotate = shutil.which('logrotate') or (
            '/usr/sbin/logrotate' if os.access('/usr/sbin/logrotate',
                                               os.X_OK) else None)
        if not self.logrotate:
            self.fail('logrotate is not installed: it is a test requirement '
                      '(bindep.txt; apt-get install logrotate)')
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.path = os.path.join(self.dir, 'delete-records.jsonl')

    def _rotate(self, extra=''):
        with open(SNIPPET) as f:
            text = f.read()
        self.assertIn(SHIPPED_PATH, text)
        text = text.replace(SHIPPED_PATH, self.path)
        text = text.replace('{\n', '{\n    %s\n' % extra, 1)
        conf = os.path.join(self.dir, 'logrotate.conf')
        with open(conf, 'w') as f:
            f.write(text)
        os.chmod(conf, 0o644)
        subprocess.run([self.logrotate, '--force', '--state',
                        os.path.join(self.dir, 'state'), conf],
                       check=True, capture_output=True)

    def _ids(self, path):
        with open(path, encoding='utf-8') as f:
            return [jsonutils.loads(line)['id'] for line in f]

    def _rotated(self):
        names = [n for n in os.listdir(self.dir)
                 if n.startswith('delete-records.jsonl-')]
        self.assertEqual(1, len(names), names)
        return os.path.join(self.dir, names[0])

    def test_move(self):
        file_sink.write_line(self.path, {'id': 'before'})
        self._rotate()
        self.assertEqual(['before'], self._ids(self._rotated()))
        self.assertFalse(os.path.exists(self.path))
        file_sink.write_line(self.path, {'id': 'after'})
        self.assertEqual(['after'], self._ids(self.path))
        self.assertEqual(0o640, os.stat(self.path).st_mode & 0o777)

    def test_copytruncate(self):
        file_sink.write_line(self.path, {'id': 'before'})
        self._rotate('copytruncate')
        self.assertEqual(['before'], self._ids(self._rotated()))
        self.assertEqual(0, os.path.getsize(self.path))
        file_sink.write_line(self.path, {'id': 'after'})
        # O_APPEND: the line goes at the new end, not at the old offset.
        with open(self.path, 'rb') as f:
            self.assertEqual(b'{"id": "after"}\n', f.read())
