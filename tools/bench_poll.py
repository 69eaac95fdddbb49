#!/usr/bin/env python3
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

"""The collector's poll of one Nova cell on MariaDB, timed, with its plan.

Creates a cell database and an API database with Nova's own migrations
(as ``nova-manage db sync`` does), fills the cell with ``--instances``
instances (most deleted and not yet archived, the others live: active,
some deleting for a while, some in the recycle bin), five
system_metadata rows each and the compute
services, then times:

* the cell's query alone (:func:`query.cell_query`), and
* a whole :meth:`Poller.poll` of that one cell (the cell mappings read
  from the API database, the query on the poller's thread, the gauges),

``--runs`` times each, and prints min/p50/p95/max and MariaDB's EXPLAIN of
the query, which must use an index for every read of ``instances``.

``--start-mariadb`` starts a private MariaDB (``mariadb-install-db`` into
a temporary directory, ``mariadbd`` on 127.0.0.1:``--port``) and stops it
by its pid at the end; otherwise ``--server`` names a running one whose
user may create databases.

    python tools/bench_poll.py --start-mariadb
    python tools/bench_poll.py --server mysql+pymysql://root@127.0.0.1:26308
"""

import argparse
import datetime
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

from alembic import command as alembic_command
from alembic import config as alembic_config
from nova.db.api import models as api_models
from nova.db.main import models
from nova.db import migration as nova_migration
from oslo_config import cfg
from oslo_utils import uuidutils
import sqlalchemy as sa

from nova_delete_ext.collector import nova_opts
from nova_delete_ext.collector import poll
from nova_delete_ext.collector import query
from nova_delete_ext.conf import collector as collector_conf

import bench_stats

CELL_DB = 'nova_cell_bench'
API_DB = 'nova_api_bench'
HOSTS = 50
SYSMETA_PER_INSTANCE = 5
NOW = datetime.datetime.utcnow()


def start_mariadb(port):
    """A private MariaDB in a temporary directory: (process, directory)."""
    root = tempfile.mkdtemp(prefix='bench-poll-mariadb-')
    data = os.path.join(root, 'data')
    subprocess.run(['mariadb-install-db', '--no-defaults', '--datadir=' + data,
                    '--auth-root-authentication-method=normal',
                    '--skip-test-db'], check=True, capture_output=True)
    proc = subprocess.Popen(
        ['mariadbd', '--no-defaults', '--datadir=' + data,
         '--port=%d' % port, '--bind-address=127.0.0.1',
         '--socket=' + os.path.join(root, 'mysqld.sock'),
         '--pid-file=' + os.path.join(root, 'mysqld.pid'),
         '--innodb-buffer-pool-size=256M', '--user=root'],
        stdout=subprocess.DEVNULL,
        stderr=open(os.path.join(root, 'mariadbd.log'), 'w'))
    engine = sa.create_engine('mysql+pymysql://root@127.0.0.1:%d/' % port)
    for _ in range(120):
        try:
            with engine.connect():
                break
        except sa.exc.OperationalError:
            if proc.poll() is not None:
                raise RuntimeError('mariadbd exited; see %s/mariadbd.log'
                                   % root)
            time.sleep(0.5)
    engine.dispose()
    return proc, root


def stop_mariadb(proc, root):
    proc.terminate()
    proc.wait(60)
    shutil.rmtree(root, ignore_errors=True)


def create(server, name, database):
    """A database ``name`` at the head of Nova's own migrations.

    :param database: Nova's ``main`` (a cell) or ``api``.
    """
    engine = sa.create_engine(server + '/')
    with engine.begin() as conn:
        conn.exec_driver_sql('DROP DATABASE IF EXISTS %s' % name)
        conn.exec_driver_sql('CREATE DATABASE %s CHARACTER SET utf8' % name)
    engine.dispose()
    engine = sa.create_engine('%s/%s?charset=utf8' % (server, name))
    # What nova-manage db sync / api_db sync do (nova.db.migration).
    config = alembic_config.Config(os.path.join(
        os.path.dirname(nova_migration.__file__), database, 'alembic.ini'))
    config.attributes['configure_logger'] = False
    config.set_main_option('sqlalchemy.url', engine.url.render_as_string(
        hide_password=False).replace('%', '%%'))
    with engine.begin() as connection:
        config.attributes['connection'] = connection
        alembic_command.upgrade(config, 'head')
    return engine


def kinds(count):
    """What each instance is, in the proportions of a busy cell."""
    live = count // 5
    mix = ['deleted'] * (count - live)
    # A local delete can leave task_state deleting on a deleted row: the
    # index on task_state must not make the query read all of them.
    for i in range(0, len(mix), 40):
        mix[i] = 'deleted_deleting'
    mix += ['bin'] * (live // 20) + ['deleting'] * 100 + [
        'soft_deleting'] * 20
    mix += ['active'] * (count - len(mix))
    random.Random(42).shuffle(mix)
    return mix


def fill(engine, count):
    instances = models.Instance.__table__
    sysmeta = models.InstanceSystemMetadata.__table__
    services = models.Service.__table__
    rows, meta = [], []
    mix = kinds(count)
    for i, kind in enumerate(mix):
        uuid = uuidutils.generate_uuid()
        created = NOW - datetime.timedelta(days=400) + datetime.timedelta(
            seconds=i * 300)
        row = dict(uuid=uuid, created_at=created, updated_at=created,
                   deleted=0, vm_state='active', task_state=None,
                   power_state=1, host='compute%d' % (i % HOSTS),
                   node='compute%d' % (i % HOSTS),
                   project_id='p%d' % (i % 300),
                   user_id='u%d' % (i % 900), display_name='server-%d' % i,
                   hostname='server-%d' % i, image_ref=uuid, memory_mb=2048,
                   vcpus=2, root_gb=20, launched_at=created,
                   deleted_at=None, terminated_at=None)
        if kind.startswith('deleted'):
            row.update(deleted=i + 1, vm_state='deleted',
                       deleted_at=created, terminated_at=created,
                       task_state=('deleting' if kind == 'deleted_deleting'
                                   else None))
        elif kind == 'bin':
            row.update(vm_state='soft-delete',
                       deleted_at=NOW - datetime.timedelta(hours=i % 72))
            if i % 2:
                meta.append(dict(instance_uuid=uuid, key=query.RETENTION_KEY,
                                 value='86400', deleted=0))
        elif kind in ('deleting', 'soft_deleting'):
            row.update(task_state=kind.replace('_', '-'),
                       updated_at=NOW - datetime.timedelta(minutes=i % 5000))
        rows.append(row)
        meta.extend(dict(instance_uuid=uuid, key='image_%d' % k,
                         value='v%d' % k, deleted=0)
                    for k in range(SYSMETA_PER_INSTANCE))
        if len(rows) >= 5000:
            _insert(engine, instances, rows, sysmeta, meta)
            rows, meta = [], []
    _insert(engine, instances, rows, sysmeta, meta)
    with engine.begin() as conn:
        conn.execute(services.insert(), [dict(
            host='compute%d' % h, binary='nova-compute', topic='compute',
            report_count=1, created_at=NOW, deleted=0, forced_down=False,
            last_seen_up=NOW - datetime.timedelta(minutes=h % 3))
            for h in range(HOSTS)])
        conn.exec_driver_sql('ANALYZE TABLE instances, '
                             'instance_system_metadata, services')
    return {kind: mix.count(kind) for kind in sorted(set(mix))}


def _insert(engine, instances, rows, sysmeta, meta):
    with engine.begin() as conn:
        if rows:
            conn.execute(instances.insert(), rows)
        if meta:
            conn.execute(sysmeta.insert(), meta)


def explain(engine):
    statement = query.cell_query().compile(
        dialect=engine.dialect, compile_kwargs={'literal_binds': True})
    with engine.connect() as conn:
        result = conn.exec_driver_sql('EXPLAIN %s' % statement)
        return list(result.keys()), [tuple(row) for row in result]


def timed(func, runs):
    """Wall and CPU (this process, all threads) seconds of each run."""
    func()  # warm: the pool's connection, the buffer pool
    walls, cpus = [], []
    for _ in range(runs):
        started, cpu = time.perf_counter(), time.process_time()
        func()
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
    return walls, cpus


def server_cost(engine, runs):
    """MariaDB's own CPU seconds for the query, and the rows it read.

    From its query profile (CPU_user + CPU_system of every stage) and its
    handler counters: what an idle server would spend, whatever the load
    of the machine.
    """
    statement = str(query.cell_query().compile(
        dialect=engine.dialect, compile_kwargs={'literal_binds': True}))
    cpus = []
    with engine.connect() as conn:
        conn.exec_driver_sql('SET profiling = 1')
        before = _handler_reads(conn)
        conn.exec_driver_sql(statement).all()
        reads = {name: value - before[name]
                 for name, value in _handler_reads(conn).items()
                 if value - before[name]}
        for _ in range(runs):
            conn.exec_driver_sql(statement).all()
            last = conn.exec_driver_sql('SHOW PROFILES').all()[-1][0]
            cpus.append(sum(float(row[2] or 0) + float(row[3] or 0)
                            for row in conn.exec_driver_sql(
                                'SHOW PROFILE CPU FOR QUERY %d' % last)))
    return cpus, reads


def _handler_reads(conn):
    return {name: int(value) for name, value in conn.exec_driver_sql(
        "SHOW SESSION STATUS LIKE 'Handler_read%%'")}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--instances', type=int, default=100000)
    parser.add_argument('--runs', type=int, default=51)
    parser.add_argument('--port', type=int, default=26308)
    parser.add_argument('--start-mariadb', action='store_true')
    parser.add_argument('--cpu-verdict', action='store_true',
                        help='judge the p95 of the CPU spent (MariaDB and '
                             'the collector), not the wall time: on a '
                             'loaded machine')
    parser.add_argument('--reuse', action='store_true',
                        help='time the databases an earlier run filled')
    parser.add_argument('--server',
                        help='SQLAlchemy URL of a MariaDB server, no database')
    args = parser.parse_args(argv)
    server = args.server or 'mysql+pymysql://root@127.0.0.1:%d' % args.port
    mariadb = start_mariadb(args.port) if args.start_mariadb else None
    try:
        return run(server, args)
    finally:
        if mariadb is not None:
            stop_mariadb(*mariadb)


def run(server, args):
    if args.reuse:
        cell = sa.create_engine('%s/%s?charset=utf8' % (server, CELL_DB))
        api = sa.create_engine('%s/%s?charset=utf8' % (server, API_DB))
    else:
        cell = create(server, CELL_DB, 'main')
        api = create(server, API_DB, 'api')
        started = time.monotonic()
        mix = fill(cell, args.instances)
        print('Filled %d instances in %.0f s: %s' % (
            args.instances, time.monotonic() - started,
            ', '.join('%s %d' % item for item in mix.items())))
        url = '%s/%s?charset=utf8' % (server, CELL_DB)
        with api.begin() as conn:
            conn.execute(api_models.CellMapping.__table__.insert().values(
                uuid=uuidutils.generate_uuid(), name='cell1',
                transport_url='rabbit://', database_connection=url))

    names, plan = explain(cell)
    print('\nEXPLAIN of the cell query:')
    print('  ' + ' | '.join(str(n) for n in names))
    for row in plan:
        print('  ' + ' | '.join(str(v) for v in row))
    full_scans = [row for row in plan if row[names.index('table')] ==
                  'instances' and row[names.index('type')] == 'ALL']

    def query_only():
        with cell.connect() as conn:
            return conn.execute(query.cell_query()).all()

    conf = cfg.ConfigOpts()
    collector_conf.register_opts(conf)
    nova_opts.register_opts(conf)
    conf([])
    poller = poll.Poller(conf, api_engine=api)
    rows = query_only()
    load = os.getloadavg()[0]
    query_times, query_cpu = timed(query_only, args.runs)
    poll_times, poll_cpu = timed(poller.poll, args.runs)
    server_cpu, reads = server_cost(cell, args.runs)
    load = max(load, os.getloadavg()[0])
    poller.stop()
    [gauges] = poller.snapshot[1]
    print('\nThe query returned %d rows; the gauges: up=%s, oldest %.0f s, '
          'deleting >= 1h: %d, recycle bin: %s' % (
              len(rows), gauges.up, gauges.oldest,
              gauges.stuck[('deleting', '1h')], gauges.recycle_bin))
    print('MariaDB read %s' % ', '.join(
        '%s %d' % item for item in sorted(reads.items())))
    print('\nms, min/p50/p95/max (load average up to %.1f):' % load)
    print('  cell query alone, wall   %s' % bench_stats.spread_text(
        query_times, 1000))
    print('  whole poll, 1 cell, wall %s' % bench_stats.spread_text(
        poll_times, 1000))
    print('  MariaDB CPU per query    %s' % bench_stats.spread_text(
        server_cpu, 1000))
    print('  collector CPU per poll   %s' % bench_stats.spread_text(
        poll_cpu, 1000))
    idle = [a + b for a, b in zip(sorted(server_cpu), sorted(poll_cpu))]
    print('  both CPUs, per poll      %s' % bench_stats.spread_text(
        idle, 1000))
    # On a loaded machine the wall time is mostly waiting for a core: the
    # CPU the database and the collector spend is what an idle one takes.
    p95 = bench_stats.spread(
        idle if args.cpu_verdict else poll_times)[2] * 1000
    verdict = []
    if full_scans:
        verdict.append('a full scan of instances')
    if p95 >= 100:
        verdict.append('poll p95 %.1f ms >= 100 ms' % p95)
    print('\n%s' % ('FAIL: ' + '; '.join(verdict) if verdict else
                    'OK: every read of instances uses an index, poll p95 '
                    '< 100 ms'))
    cell.dispose()
    api.dispose()
    return 1 if verdict else 0


if __name__ == '__main__':
    sys.exit(main())
