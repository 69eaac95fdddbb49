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

"""The collector's cell gauges against the in-process Nova's databases.

The poller reads the harness' API and cell databases with its own
SQLAlchemy queries, as it reads a deployment's: only the engines come
from the harness (its cell databases have no URL of their own).
"""

import datetime
import socket
import threading

import fixtures
from nova.compute import rpcapi as compute_rpcapi
from nova.db.api import api as api_db_api
from nova.db.main import api as main_db_api
from nova.db.main import models
from oslo_utils import timeutils
from oslo_utils import uuidutils
import prometheus_client
import sqlalchemy as sa

from nova_delete_ext.collector import cells
from nova_delete_ext.collector import metrics
from nova_delete_ext.collector import poll
from nova_delete_ext import conf as ext_conf
from nova_delete_ext.tests.functional import base
from nova_delete_ext.tests.functional import scenarios


class SilentDatabase(fixtures.Fixture):
    """A database server that accepts connections and never answers."""

    def _setUp(self):
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(8)
        self.addCleanup(self.sock.close)
        self.port = self.sock.getsockname()[1]
        self.url = 'mysql+pymysql://nova:secret@127.0.0.1:%d/nova' % (
            self.port)


class GaugesTestBase(scenarios.ServerStates, base.DeleteExtTestBase):

    def setUp(self):
        super().setUp()
        self.harness_cells = {cell.database_connection
                              for cell in self.cell_mappings.values()}
        self.engines = cells.Engines(2)
        self.addCleanup(self.engines.dispose)
        self.poller = poll.Poller(ext_conf.CONF,
                                  api_engine=api_db_api.get_engine(),
                                  engine_for=self.engine_for, timeout=2)
        self.addCleanup(self.poller.stop)

    def engine_for(self, url):
        if url in self.harness_cells:
            return main_db_api.create_context_manager(
                url).writer.get_engine()
        return self.engines(url)

    def poll(self, name='cell1'):
        api_up, found = self.poller.poll()
        self.assertTrue(api_up)
        [cell] = [c for c in found if c.cell == name]
        return cell

    def backdate(self, server, **ago):
        """Date the server's last change ``ago`` back: held that long."""
        table = models.Instance.__table__
        engine = self.engine_for(self.cell_mappings['cell1']
                                 .database_connection)
        with engine.begin() as conn:
            conn.execute(table.update().where(
                table.c.uuid == server['id']).values(
                    updated_at=timeutils.utcnow() -
                    datetime.timedelta(**ago)))


class TestStuckDeletes(GaugesTestBase):

    def hold_terminate(self):
        """Hold the compute's terminate of a server until released.

        nova-api has set task_state ``deleting`` and sent the terminate;
        the compute host does it once released, as a compute busy or
        stuck on the hypervisor would. (The harness turns casts into
        calls: the held terminate runs on a thread of its own, so that
        nova-api answers.)
        """
        entered, release = threading.Event(), threading.Event()
        threads = []
        # Cleanups run last first: release, then wait for the terminates.
        self.addCleanup(lambda: [thread.join(60) for thread in threads])
        self.addCleanup(release.set)
        original = compute_rpcapi.ComputeAPI.terminate_instance

        def terminate_instance(rpcapi, *args, **kwargs):
            def held():
                release.wait(60)
                original(rpcapi, *args, **kwargs)
            threads.append(threading.Thread(target=held))
            threads[-1].start()
            entered.set()

        self.useFixture(fixtures.MockPatchObject(
            compute_rpcapi.ComputeAPI, 'terminate_instance',
            terminate_instance))
        return entered, release

    def test_held_delete_is_in_its_age_bucket(self):
        server = self.server_active()
        self.assertEqual(0, self.poll().stuck[('deleting', '0s')])
        entered, release = self.hold_terminate()
        self.api.delete_server(server['id'])
        self.assertTrue(entered.wait(60), 'the terminate was never sent')

        cell = self.poll()
        self.assertEqual((1, 0), (cell.stuck[('deleting', '0s')],
                                  cell.stuck[('deleting', '5m')]))
        self.assertLess(cell.oldest, 300)

        # Held two hours: the same server, now in the 1h bucket.
        self.backdate(server, hours=2)
        cell = self.poll()
        self.assertEqual(
            {'0s': 1, '5m': 1, '1h': 1, '1d': 0, '7d': 0},
            {age: cell.stuck[('deleting', age)] for age, _ in poll.AGES})
        self.assertEqual(0, cell.stuck[('soft-deleting', '0s')])
        self.assertGreaterEqual(cell.oldest, 7200)
        self.assertTrue(self.poll('cell0').up)

        release.set()
        self._wait_until_deleted(server)
        cell = self.poll()
        self.assertEqual({0}, set(cell.stuck.values()))
        self.assertEqual(0.0, cell.oldest)

    def test_gauges_in_the_scrape(self):
        server = self.server_active()
        entered, release = self.hold_terminate()
        self.api.delete_server(server['id'])
        self.assertTrue(entered.wait(60), 'the terminate was never sent')
        self.backdate(server, minutes=10)
        self.poller.poll()
        registry = metrics.Metrics(None, poller=self.poller).registry
        get = registry.get_sample_value
        self.assertEqual(1, get('nova_delete_ext_stuck_deletes', {
            'cell': 'cell1', 'task_state': 'deleting', 'age': '5m'}))
        self.assertEqual(0, get('nova_delete_ext_stuck_deletes', {
            'cell': 'cell1', 'task_state': 'deleting', 'age': '1h'}))
        self.assertEqual(1, get('nova_delete_ext_cell_up', {'cell': 'cell1'}))
        self.assertIn(b'nova_delete_ext_oldest_stuck_delete_seconds{cell='
                      b'"cell1"}', prometheus_client.generate_latest(
                          registry))


class TestRecycleBin(GaugesTestBase):

    def setUp(self):
        super().setUp()
        self.use_policies('recycle', delete_ext_recycle={
            'retention': {'active': 60, 'stopped': 86400}})

    def test_held_then_past_retention_on_a_dead_host(self):
        active, stopped = self.server_active(), self.server_stopped()
        for server in (active, stopped):
            self.api.delete_server(server['id'])
            self._wait_for_state_change(server, 'SOFT_DELETED')
        self.assertEqual({'held': 2, 'past_retention': 0,
                          'past_retention_host_down': 0},
                         self.poll().recycle_bin)

        # Two minutes on: the active one is past its 60 s, the stopped one
        # is kept for a day; its host still up, nova-compute reclaims it.
        later = timeutils.utcnow() + datetime.timedelta(minutes=2)
        self.poller.now = lambda: later
        self.flags(service_down_time=600)
        self.assertEqual({'held': 1, 'past_retention': 1,
                          'past_retention_host_down': 0},
                         self.poll().recycle_bin)

        # The host dies: nothing will reclaim it.
        self.compute_host_down()
        self.assertEqual({'held': 1, 'past_retention': 0,
                          'past_retention_host_down': 1},
                         self.poll().recycle_bin)


class TestCellDown(GaugesTestBase):

    def test_a_cell_that_does_not_answer_is_down_not_empty(self):
        server = self.server_active()
        self.backdate(server, hours=1)
        silent = self.useFixture(SilentDatabase())
        self._add_mapping('cell-silent', silent.url)

        started = timeutils.utcnow()
        api_up, found = self.poller.poll()
        took = (timeutils.utcnow() - started).total_seconds()

        self.assertTrue(api_up)
        self.assertLess(took, 10)
        self.assertEqual({'cell0': True, 'cell1': True,
                          'cell-silent': False},
                         {c.cell: c.up for c in found})
        registry = metrics.Metrics(None, poller=self.poller).registry
        get = registry.get_sample_value
        self.assertEqual(0, get('nova_delete_ext_cell_up',
                                {'cell': 'cell-silent'}))
        self.assertEqual(1, get('nova_delete_ext_cell_up',
                                {'cell': 'cell1'}))
        # Never zero servers: no gauge at all for the silent cell.
        text = prometheus_client.generate_latest(registry).decode()
        self.assertEqual(
            ['nova_delete_ext_cell_up{cell="cell-silent"} 0.0'],
            [line for line in text.splitlines() if 'cell-silent' in line])

    def _add_mapping(self, name, url):
        # Straight into the API database, as nova-manage cell_v2
        # create_cell would; taken out again before Nova's harness, which
        # has no database for it, looks at every cell.
        table = sa.table('cell_mappings', sa.column('id'), sa.column('uuid'),
                         sa.column('name'), sa.column('transport_url'),
                         sa.column('database_connection'))
        engine = api_db_api.get_engine()
        uuid = uuidutils.generate_uuid()
        with engine.begin() as conn:
            conn.execute(table.insert().values(
                uuid=uuid, name=name, transport_url='fake://nowhere/',
                database_connection=url))

        def remove():
            with engine.begin() as conn:
                conn.execute(table.delete().where(table.c.uuid == uuid))
        self.addCleanup(remove)
