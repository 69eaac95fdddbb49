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

"""The poller against Nova's own schema, on SQLite files.

The tables are created from Nova's models, so the columns the collector
declares for itself are checked against Nova's.
"""

import datetime
import os
import threading
import time

import fixtures
from nova.compute import task_states
from nova.compute import vm_states
from nova.db.api import models as api_models
from nova.db.main import models
from oslo_config import cfg
from oslo_config import fixture as config_fixture
from oslo_utils import timeutils
from oslo_utils import uuidutils
from oslotest import base
import sqlalchemy as sa
from sqlalchemy.dialects import mysql  # noqa: F401 sa.dialects.mysql
from sqlalchemy.dialects import postgresql  # noqa: F401
from sqlalchemy.dialects import sqlite  # noqa: F401

from nova_delete_ext.collector import cells
from nova_delete_ext.collector import nova_opts
from nova_delete_ext.collector import poll
from nova_delete_ext.collector import query
from nova_delete_ext.conf import collector as collector_conf
from nova_delete_ext.record import sysmeta

NOW = datetime.datetime(2026, 3, 12, 10, 0, 0)


def ago(**kwargs):
    return NOW - datetime.timedelta(**kwargs)


class NovaCells(fixtures.Fixture):
    """An API database and cell databases made from Nova's models."""

    def __init__(self, names=('cell0', 'cell1')):
        self.names = names

    def _setUp(self):
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.api = sa.create_engine(self._url('api'))
        self.addCleanup(self.api.dispose)
        api_models.BASE.metadata.create_all(self.api)
        self.engines = {}
        for name in self.names:
            self.add_cell(name, self._url(name))
            engine = self.engines[name] = sa.create_engine(self._url(name))
            self.addCleanup(engine.dispose)
            models.BASE.metadata.create_all(engine)

    def _url(self, name):
        return 'sqlite:///' + os.path.join(self.dir, name + '.sqlite')

    def add_cell(self, name, url):
        with self.api.begin() as conn:
            conn.execute(api_models.CellMapping.__table__.insert().values(
                uuid=uuidutils.generate_uuid(), name=name,
                transport_url='fake://', database_connection=url))

    def instance(self, cell, vm_state='active', task_state=None,
                 updated_at=None, deleted=False, deleted_at=None,
                 host='compute1', retention=None):
        uuid = uuidutils.generate_uuid()
        with self.engines[cell].begin() as conn:
            result = conn.execute(models.Instance.__table__.insert().values(
                uuid=uuid, vm_state=vm_state, task_state=task_state,
                host=host, created_at=ago(days=30), updated_at=updated_at,
                deleted_at=deleted_at, deleted=0))
            if deleted:
                row_id = result.inserted_primary_key[0]
                conn.execute(models.Instance.__table__.update().where(
                    models.Instance.__table__.c.id == row_id).values(
                        deleted=row_id))
            if retention is not None:
                conn.execute(
                    models.InstanceSystemMetadata.__table__.insert().values(
                        instance_uuid=uuid, key=sysmeta.RETENTION_KEY,
                        value=retention, deleted=0))
        return uuid

    def service(self, cell, host, last_seen_up, forced_down=False):
        with self.engines[cell].begin() as conn:
            conn.execute(models.Service.__table__.insert().values(
                host=host, binary='nova-compute', topic='compute',
                report_count=1, created_at=ago(days=30),
                last_seen_up=last_seen_up, forced_down=forced_down,
                deleted=0))


class PollTestBase(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        self.conf = self.useFixture(config_fixture.Config(
            cfg.ConfigOpts())).conf
        collector_conf.register_opts(self.conf)
        nova_opts.register_opts(self.conf)
        self.cells = self.useFixture(NovaCells())
        self.useFixture(fixtures.MockPatch(
            'oslo_utils.timeutils.utcnow', return_value=NOW))

    def poller(self, **kwargs):
        poller = poll.Poller(self.conf, api_engine=self.cells.api, **kwargs)
        self.addCleanup(poller.stop)
        return poller

    def cell(self, snapshot, name='cell1'):
        api_up, found = snapshot
        self.assertTrue(api_up)
        [cell] = [c for c in found if c.cell == name]
        return cell


class StuckDeletesTest(PollTestBase):

    def test_by_task_state_and_age(self):
        add = self.cells.instance
        add('cell1', task_state=task_states.DELETING,
            updated_at=ago(hours=2))
        add('cell1', vm_state=vm_states.STOPPED,
            task_state=task_states.DELETING, updated_at=ago(minutes=1))
        add('cell1', task_state=task_states.SOFT_DELETING,
            updated_at=ago(days=8))
        # Not stuck: a deleted row that kept its task_state, a live one.
        add('cell1', task_state=task_states.DELETING, deleted=True,
            updated_at=ago(days=2))
        add('cell1', task_state=None, updated_at=ago(days=3))
        add('cell1', task_state='spawning', updated_at=ago(days=3))

        cell = self.cell(self.poller().poll())

        self.assertTrue(cell.up)
        self.assertEqual({
            ('deleting', '0s'): 2, ('deleting', '5m'): 1,
            ('deleting', '1h'): 1, ('deleting', '1d'): 0,
            ('deleting', '7d'): 0,
            ('soft-deleting', '0s'): 1, ('soft-deleting', '5m'): 1,
            ('soft-deleting', '1h'): 1, ('soft-deleting', '1d'): 1,
            ('soft-deleting', '7d'): 1}, cell.stuck)
        self.assertEqual(8 * 86400, cell.oldest)

    def test_none_stuck_is_zero_not_absent(self):
        cell = self.cell(self.poller().poll())
        self.assertEqual(10, len(cell.stuck))
        self.assertEqual({0}, set(cell.stuck.values()))
        self.assertEqual(0.0, cell.oldest)
        self.assertEqual(dict.fromkeys(poll.BIN_STATES, 0),
                         cell.recycle_bin)

    def test_every_cell_is_polled(self):
        self.cells.instance('cell0', task_state=task_states.DELETING,
                            updated_at=ago(hours=2))
        snapshot = self.poller().poll()
        self.assertEqual(['cell0', 'cell1'], [c.cell for c in snapshot[1]])
        self.assertEqual(1, self.cell(snapshot, 'cell0').stuck[
            ('deleting', '1h')])
        self.assertEqual(0, self.cell(snapshot, 'cell1').stuck[
            ('deleting', '0s')])


class RecycleBinTest(PollTestBase):

    def bin(self, **opts):
        for name, value in opts.items():
            self.conf.set_override(name, value)
        return self.cell(self.poller().poll()).recycle_bin

    def soft_deleted(self, host='compute1', **kwargs):
        return self.cells.instance('cell1', vm_state=vm_states.SOFT_DELETED,
                                   host=host, **kwargs)

    def test_held_within_retention(self):
        self.cells.service('cell1', 'compute1', last_seen_up=ago(hours=2))
        self.soft_deleted(deleted_at=ago(hours=1), retention='86400')
        self.assertEqual({'held': 1, 'past_retention': 0,
                          'past_retention_host_down': 0}, self.bin())

    def test_past_retention_on_a_host_up_or_down(self):
        self.cells.service('cell1', 'up1', last_seen_up=ago(seconds=10))
        self.cells.service('cell1', 'down1', last_seen_up=ago(minutes=5))
        self.cells.service('cell1', 'forced1', last_seen_up=NOW,
                           forced_down=True)
        for host in ('up1', 'down1', 'forced1', 'gone1'):
            self.soft_deleted(host=host, deleted_at=ago(hours=1),
                              retention='600')
        self.assertEqual({'held': 0, 'past_retention': 1,
                          'past_retention_host_down': 3}, self.bin())

    def test_service_down_time_is_novas_option(self):
        self.cells.service('cell1', 'compute1', last_seen_up=ago(minutes=5))
        self.soft_deleted(deleted_at=ago(hours=1), retention='600')
        self.assertEqual(1, self.bin(service_down_time=600)[
            'past_retention'])

    def test_without_its_own_retention_novas_interval_applies(self):
        self.cells.service('cell1', 'compute1', last_seen_up=ago(hours=2))
        self.soft_deleted(deleted_at=ago(hours=1))
        self.soft_deleted(deleted_at=ago(hours=1), retention='unreadable')
        # 0: Nova never reclaims, so nothing is past a retention.
        self.assertEqual(2, self.bin()['held'])
        self.assertEqual(2, self.bin(reclaim_instance_interval=600)[
            'past_retention_host_down'])

    def test_not_in_the_bin(self):
        self.soft_deleted(deleted=True, deleted_at=ago(hours=1),
                          retention='1')
        self.cells.instance('cell1', deleted_at=None)
        self.assertEqual({0}, set(self.bin().values()))

    def test_a_restarted_delete_of_a_recycled_server_is_both(self):
        self.soft_deleted(deleted_at=ago(hours=1), retention='86400',
                          task_state=task_states.DELETING,
                          updated_at=ago(minutes=10))
        cell = self.cell(self.poller().poll())
        self.assertEqual(1, cell.recycle_bin['held'])
        self.assertEqual(1, cell.stuck[('deleting', '5m')])


class Hanging:
    """``engine_for`` whose connections to one URL wait for :attr:`go`."""

    def __init__(self, real, url):
        self.real = real
        self.url = url
        self.go = threading.Event()
        self.calls = 0

    def __call__(self, url):
        engine = self.real(url)
        if url != self.url:
            return engine
        outer = self

        class Engine:
            def connect(self):
                outer.calls += 1
                outer.go.wait(30)
                return engine.connect()
        return Engine()


class CellDownTest(PollTestBase):

    def test_a_cell_that_fails_is_down_and_the_others_answer(self):
        self.cells.add_cell('cell2', 'sqlite:////nonexistent/dir/x.sqlite')
        snapshot = self.poller().poll()
        self.assertEqual([('cell0', True), ('cell1', True),
                          ('cell2', False)],
                         [(c.cell, c.up) for c in snapshot[1]])
        down = snapshot[1][2]
        self.assertEqual(({}, {}), (down.stuck, down.recycle_bin))

    def test_a_cell_that_hangs_is_down_within_the_timeout(self):
        url = self.cells._url('cell1')
        engines = cells.Engines(1)
        self.addCleanup(engines.dispose)
        hanging = Hanging(engines, url)
        self.addCleanup(hanging.go.set)
        poller = self.poller(engine_for=hanging, timeout=0.5)

        started = time.monotonic()
        snapshot = poller.poll()
        self.assertLess(time.monotonic() - started, 5)
        self.assertEqual([('cell0', True), ('cell1', False)],
                         [(c.cell, c.up) for c in snapshot[1]])

        # Still hanging: not asked again, still down.
        self.assertFalse(self.cell(poller.poll()).up)
        self.assertEqual(1, hanging.calls)

        hanging.go.set()
        for _ in range(50):
            if poller.poll()[1][1].up:
                break
            time.sleep(0.1)
        self.assertTrue(self.cell(poller.snapshot).up)
        self.assertEqual(2, hanging.calls)

    def test_api_database_down_keeps_asking_the_known_cells(self):
        poller = self.poller()
        self.assertTrue(poller.poll()[0])
        poller._api_engine = sa.create_engine(
            'sqlite:////nonexistent/dir/api.sqlite')
        self.addCleanup(poller._api_engine.dispose)
        api_up, found = poller.poll()
        self.assertFalse(api_up)
        self.assertEqual([('cell0', True), ('cell1', True)],
                         [(c.cell, c.up) for c in found])

    def test_no_api_database_configured(self):
        poller = poll.Poller(self.conf)
        self.addCleanup(poller.stop)
        self.assertEqual((False, []), poller.poll())

    def test_the_loop_polls_until_stopped(self):
        self.conf.set_override('poll_interval', 1, 'delete_ext_collector')
        poller = self.poller()
        poller.start()
        for _ in range(50):
            if poller.snapshot[0]:
                break
            time.sleep(0.1)
        poller.stop()
        self.assertTrue(poller.snapshot[0])
        self.assertFalse(poller._thread.is_alive())


class NoIndex:
    """``engine_for`` of a MySQL cell that lacks the hint's index.

    The hinted query fails as MySQL fails it (error 1176); the SQLite
    engine underneath answers the query without the hint.
    """

    def __init__(self, real):
        self.real = real
        self.hinted = 0

    def __call__(self, url):
        engine = self.real(url)
        outer = self

        class Connection:
            def __init__(self):
                self.conn = engine.connect()

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self.conn.close()

            def execute(self, statement):
                rendered = str(statement.compile(
                    dialect=sa.dialects.mysql.dialect()))
                if query.HINT in rendered:
                    outer.hinted += 1
                    raise sa.exc.OperationalError(
                        'SELECT', {}, Exception(
                            1176, "Key '%s' doesn't exist in table "
                            "'instances'" % query.LIVE_INDEX))
                return self.conn.execute(statement)

        class Engine:
            def connect(self):
                return Connection()
        return Engine()


class HintTest(PollTestBase):

    def test_a_cell_without_the_index_is_read_without_the_hint(self):
        self.cells.instance('cell1', vm_state=vm_states.SOFT_DELETED,
                            deleted_at=ago(hours=1))
        engines = cells.Engines(1)
        self.addCleanup(engines.dispose)
        no_index = NoIndex(engines)
        poller = self.poller(engine_for=no_index)
        self.assertEqual(1, self.cell(poller.poll()).recycle_bin['held'])
        self.assertEqual(1, self.cell(poller.poll()).recycle_bin['held'])
        # Asked with the hint once per cell, then never again.
        self.assertEqual(2, no_index.hinted)

    def test_other_errors_are_not_taken_for_a_missing_index(self):
        error = sa.exc.OperationalError('SELECT', {}, Exception(
            2013, 'Lost connection to MySQL server during query'))
        self.assertFalse(query.missing_index(error))
        self.assertFalse(query.missing_index(ValueError('x')))

    def test_the_hint_is_for_mysql_only(self):
        statement = query.cell_query()
        self.assertIn(query.HINT, str(statement.compile(
            dialect=sa.dialects.mysql.dialect())))
        self.assertNotIn('FORCE', str(statement.compile(
            dialect=sa.dialects.sqlite.dialect())))
        self.assertNotIn('FORCE', str(statement.compile(
            dialect=sa.dialects.postgresql.dialect())))
        self.assertNotIn('FORCE', str(query.cell_query(hint=False).compile(
            dialect=sa.dialects.mysql.dialect())))


class CellsTest(base.BaseTestCase):

    def test_template_filled_in_from_database_connection(self):
        self.assertEqual(
            'mysql+pymysql://nova:secret@db1:3306/nova_cell1?charset=utf8',
            cells.format_url(
                '{scheme}://{username}:{password}@{hostname}:{port}/'
                'nova_cell1?{query}',
                'mysql+pymysql://nova:secret@db1:3306/nova?charset=utf8'))

    def test_url_without_template_as_it_is(self):
        self.assertEqual('sqlite:///x', cells.format_url('sqlite:///x',
                                                         'mysql://a/b'))
        self.assertEqual('{scheme}://x', cells.format_url('{scheme}://x',
                                                          None))
        self.assertEqual('{nope}://x', cells.format_url('{nope}://x',
                                                        'mysql://a/b'))

    def test_driver_time_limits(self):
        url = sa.engine.make_url
        self.assertEqual({'connect_timeout': 3, 'read_timeout': 3,
                          'write_timeout': 3},
                         cells._connect_args(url('mysql+pymysql://a/b'), 2.5))
        self.assertIn('statement_timeout=3000', cells._connect_args(
            url('postgresql://a/b'), 3)['options'])
        self.assertEqual({}, cells._connect_args(url('sqlite://'), 3))


class NovaNamesTest(base.BaseTestCase):
    """The collector's copies of Nova's names, which it cannot import."""

    def test_names(self):
        self.assertEqual(sysmeta.RETENTION_KEY, query.RETENTION_KEY)
        self.assertEqual((task_states.DELETING, task_states.SOFT_DELETING),
                         query.TASK_STATES)
        self.assertEqual(vm_states.SOFT_DELETED, query.SOFT_DELETED)

    def test_novas_options_registered_unless_there(self):
        conf = cfg.ConfigOpts()
        conf.register_opt(cfg.IntOpt('service_down_time', default=99,
                                     help='Nova'))
        nova_opts.register_opts(conf)
        nova_opts.register_opts(conf)
        conf([])
        self.assertEqual(99, conf.service_down_time)
        self.assertEqual(0, conf.reclaim_instance_interval)
        self.assertIsNone(conf.api_database.connection)
        self.assertIsNone(conf.database.connection)

    def test_novas_own_options_left_alone(self):
        from nova import conf as nova_conf
        conf = cfg.ConfigOpts()
        nova_conf.database.register_opts(conf)
        nova_opts.register_opts(conf)
        self.assertIn('max_pool_size', conf.api_database)

    def test_utcnow_is_naive_utc(self):
        # The cell databases keep naive UTC times.
        self.assertIsNone(timeutils.utcnow().tzinfo)
