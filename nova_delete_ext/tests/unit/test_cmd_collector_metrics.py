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

"""``nova-delete-ext-collector`` serving its metrics, as a process."""

import signal
import socket
import time
import urllib.request

from nova.db.api import models as api_models
from nova.db.main import models
import sqlalchemy as sa

from nova_delete_ext.collector import schema
from nova_delete_ext.db import api as db_api
from nova_delete_ext.db import migration
from nova_delete_ext.tests.unit import test_cmd_collector
from nova_delete_ext.tests.unit import test_collector_totals as records


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class TestMetricsCommand(test_cmd_collector.TestCommand):

    def configure(self, port, api_database=None):
        text = ('[DEFAULT]\ntransport_url = fake:/\n'
                '[delete_ext_collector]\nconnection = %s\n'
                'metrics_port = %d\npoll_interval = 1\n'
                % (self.connection, port))
        if api_database:
            text += '[api_database]\nconnection = %s\n' % api_database
        with open(self.config, 'w') as f:
            f.write(text)

    def nova_databases(self):
        """An API database that maps one cell, both from Nova's models."""
        api = 'sqlite:///%s/nova_api.sqlite' % self.dir
        cell = 'sqlite:///%s/nova_cell1.sqlite' % self.dir
        for url, base in ((api, api_models.BASE), (cell, models.BASE)):
            engine = sa.create_engine(url)
            base.metadata.create_all(engine)
            engine.dispose()
        engine = sa.create_engine(api)
        with engine.begin() as conn:
            conn.execute(api_models.CellMapping.__table__.insert().values(
                uuid='c1', name='cell1', transport_url='fake:/',
                database_connection=cell))
        engine.dispose()
        return api

    def scrape(self, port, wanted):
        url = 'http://127.0.0.1:%d/metrics' % port
        for _ in range(100):
            with urllib.request.urlopen(url, timeout=10) as answer:
                text = answer.read().decode()
            if all(line in text for line in wanted):
                return text
            time.sleep(0.1)
        self.fail('%s not in:\n%s' % (wanted, text))

    def test_serves_the_store_totals_and_the_cells(self):
        migration.db_sync(self.connection)
        store = db_api.Store(self.connection)
        store.add([schema.parse(records.delete_record())])
        port = free_port()
        self.configure(port, self.nova_databases())
        proc = self.spawn()
        lines, reader = self._started(proc)
        self.scrape(port, [
            'nova_delete_ext_deletes_total{outcome="deleted",path="compute",'
            'service="compute",vm_state="active"} 1.0',
            'nova_delete_ext_cell_up{cell="cell1"} 1.0',
            'nova_delete_ext_collector_records_stored_total 0.0'])
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(0, proc.wait(timeout=30), ''.join(lines))

    def test_a_port_in_use_is_an_error_at_start(self):
        migration.db_sync(self.connection)
        with socket.socket() as taken:
            taken.bind(('127.0.0.1', 0))
            taken.listen(1)
            self.configure(taken.getsockname()[1])
            proc = self.spawn()
            out, _ = proc.communicate(timeout=60)
        self.assertEqual(1, proc.returncode, out)
        self.assertIn('Cannot serve the metrics on 127.0.0.1:', out)
        self.assertIn('metrics_port', out)
        self.assertNotIn('Traceback', out)

    def test_without_api_database_no_cell_gauges(self):
        migration.db_sync(self.connection)
        port = free_port()
        self.configure(port)
        proc = self.spawn()
        lines, reader = self._started(proc)
        text = self.scrape(port, ['nova_delete_ext_deletes_total'])
        self.assertNotIn('nova_delete_ext_cell_up', text)
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(0, proc.wait(timeout=30), ''.join(lines))
        reader.join(10)
        self.assertIn('[api_database]connection is not set', ''.join(lines))
