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

"""``nova-delete-ext-collector`` as a process: start, refusal, signals."""

import os
import signal
import subprocess
import sys
import threading
from unittest import mock

import fixtures
from oslo_db import exception as db_exc

from nova_delete_ext.collector import service
from nova_delete_ext.db import api as db_api
from nova_delete_ext.db import migration
from nova_delete_ext.tests.unit import base

MAIN = ('import sys; from nova_delete_ext.cmd import collector; '
        'sys.exit(collector.main())')


class TestWaitForSchema(base.TestCase):

    def setUp(self):
        super().setUp()
        self.flags(retry_interval=1.0, max_retry_interval=3.0,
                   group='delete_ext_collector')
        self.store = mock.create_autospec(db_api.Store, instance=True)
        self.collector = service.Collector(self.conf, store=self.store,
                                           transport=mock.sentinel.bus)
        self.sleeps = []

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        return False

    def test_waits_for_a_database_that_is_not_there_yet(self):
        self.store.check_schema.side_effect = [
            db_exc.DBConnectionError('refused')] * 3 + [None]
        self.assertTrue(self.collector.wait_for_schema(self.sleep))
        self.assertEqual([1.0, 2.0, 3.0], self.sleeps)

    def test_stops_while_waiting(self):
        self.store.check_schema.side_effect = db_exc.DBConnectionError('x')
        self.assertFalse(self.collector.wait_for_schema(lambda s: True))
        self.assertEqual(1, self.store.check_schema.call_count)

    def test_old_schema_is_an_error_at_once(self):
        self.store.check_schema.side_effect = db_api.SchemaTooOld(None, 'head')
        self.assertRaises(db_api.SchemaTooOld,
                          self.collector.wait_for_schema, self.sleep)
        self.assertEqual([], self.sleeps)


class TestCommand(base.TestCase):
    """The console script's main(), in a process of its own."""

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.connection = 'sqlite:///%s' % os.path.join(self.dir, 'r.sqlite')
        self.config = os.path.join(self.dir, 'collector.conf')
        self.write_config()

    def write_config(self):
        with open(self.config, 'w') as f:
            f.write('[DEFAULT]\ntransport_url = fake:/\n'
                    '[delete_ext_collector]\nconnection = %s\n'
                    'metrics_port = 0\n' % self.connection)

    def spawn(self):
        proc = subprocess.Popen(
            [sys.executable, '-c', MAIN, '--config-file', self.config],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.addCleanup(proc.stdout.close)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        return proc

    def test_refuses_an_old_schema_with_the_command_to_run(self):
        proc = self.spawn()
        out, _ = proc.communicate(timeout=60)
        self.assertEqual(1, proc.returncode, out)
        self.assertIn('nova-delete-ext db sync', out)
        self.assertNotIn('Traceback', out)

    def test_a_database_it_cannot_open_is_one_clear_error(self):
        self.connection = 'sqlite:///%s' % os.path.join(
            self.dir, 'missing', 'r.sqlite')
        self.write_config()
        proc = self.spawn()
        out, _ = proc.communicate(timeout=60)
        self.assertEqual(1, proc.returncode, out)
        self.assertIn('The record database cannot be used', out)
        self.assertNotIn('Traceback', out)

    def _started(self, proc):
        lines = []
        started = threading.Event()

        def read():
            for line in proc.stdout:
                lines.append(line)
                if 'Collecting records' in line:
                    started.set()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        self.assertTrue(started.wait(60), ''.join(lines))
        return lines, reader

    def _stops_on(self, signum):
        migration.db_sync(self.connection)
        proc = self.spawn()
        lines, reader = self._started(proc)
        proc.send_signal(signum)
        self.assertEqual(0, proc.wait(timeout=30), ''.join(lines))
        reader.join(10)
        text = ''.join(lines)
        self.assertIn('%s received, stopping' % signum.name, text)
        self.assertIn('Collector stopped', text)

    def test_sigterm_stops_it_cleanly(self):
        self._stops_on(signal.SIGTERM)

    def test_sigint_stops_it_cleanly(self):
        self._stops_on(signal.SIGINT)

    def test_imports_no_nova(self):
        code = ('import sys; from nova_delete_ext.cmd import collector; '
                'print(sorted(m for m in sys.modules '
                'if m.split(".")[0] == "nova"))')
        out = subprocess.run([sys.executable, '-c', code], check=True,
                             capture_output=True, text=True).stdout
        self.assertEqual('[]', out.strip())
