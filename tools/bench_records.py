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

"""How fast the record store answers, and how a purge shares the table.

It fills a record database (``--url``, an SQLAlchemy URL; a temporary
SQLite file by default) with ``--records`` records (default 1,000,000):
delete records and, for a third of them, the check record ``verify``
wrote, of 500 projects, 2,000 users and 200 hosts over 400 days, about two
records per server. The rows are those the store writes
(:func:`nova_delete_ext.db.api.table_row`), inserted in bulk, not through
``Store.add`` (which first looks each id up). Then it prints:

* the EXPLAIN (``EXPLAIN QUERY PLAN`` on SQLite) of the queries of
  ``records list --server UUID`` and ``records list --project P --since T
  --limit 50``, as the store sends them;
* each query's time, min/p50/p95/max over ``--runs`` runs (default 200),
  each run with another server or project;
* the whole command, ``nova-delete-ext records list ...`` started from
  the shell, its wall time and CPU (user+sys) over ``--shell-runs`` runs
  (default 10), in turns with a Python that only imports
  ``sqlalchemy.orm`` (which oslo.db's engine facade imports): on a loaded
  machine the ratio to it is steadier than the times;
* ``nova-delete-ext records purge --before T`` of the oldest ``--purge``
  records (default 500,000): its longest transaction, which bounds how
  long it holds any row lock, and, from a writer that stores one record
  every 50 ms while the purge runs, the longest a write waited
  (``--purge 0``: no purge).

    python tools/bench_records.py [--url URL] [--records 1000000]
                                  [--purge 500000] [--runs 200]
                                  [--shell-runs 10] [--reuse]

With ``--reuse`` a database that already has the records is not filled
again. It measures; it asserts nothing.
"""

import argparse
import datetime
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import sqlalchemy as sa

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_stats  # noqa: E402

from nova_delete_ext.collector import filters  # noqa: E402
from nova_delete_ext.collector import schema  # noqa: E402
from nova_delete_ext.db import api as db_api  # noqa: E402
from nova_delete_ext.db import migration  # noqa: E402
from nova_delete_ext.db import models  # noqa: E402
from nova_delete_ext.db import query  # noqa: E402

START = datetime.datetime(2025, 1, 1)
DAYS = 400
PROJECTS = ['project-%03d' % i for i in range(500)]
USERS = ['user-%04d' % i for i in range(2000)]
HOSTS = ['compute-%03d' % i for i in range(200)]
STATES = (['active'] * 6 + ['stopped'] * 2 +
          ['error', 'shelved_offloaded', 'paused', 'building'])
CHUNK = 5000


def _records(count, rng):
    """``count`` records: deletes, a third with their check record."""
    made = 0
    while made < count:
        at = START + datetime.timedelta(seconds=rng.uniform(0, DAYS * 86400))
        state = rng.choice(STATES)
        delete = {
            'kind': 'delete', 'id': str(uuid.UUID(int=rng.getrandbits(128))),
            'instance_uuid': str(uuid.UUID(int=rng.getrandbits(128))),
            'project_id': rng.choice(PROJECTS), 'user_id': rng.choice(USERS),
            'request_id': 'req-%032x' % rng.getrandbits(128),
            'vm_state': state, 'task_state': None, 'power_state': 'running',
            'host': rng.choice(HOSTS), 'delete_type': 'delete',
            'trigger': 'api', 'requested_at': at.isoformat() + '+00:00',
            'path': 'local' if state == 'shelved_offloaded' else 'compute',
            'outcome': 'deleted', 'released': ['allocations', 'disks',
                                               'domain', 'ports'],
            'retained': [], 'steps': [],
            'decisions': ['protect:allow', 'verify:queued'],
            'duration_ms': round(rng.uniform(100, 3000), 1),
            'recorded_by': 'compute@%s' % rng.choice(HOSTS),
            'schema_version': '1.1'}
        yield delete
        made += 1
        if made < count and rng.random() < 0.5:
            yield {
                'kind': 'check',
                'id': str(uuid.UUID(int=rng.getrandbits(128))),
                'delete_id': delete['id'],
                'instance_uuid': delete['instance_uuid'],
                'project_id': delete['project_id'],
                'user_id': delete['user_id'],
                'request_id': delete['request_id'], 'delete_type': 'delete',
                'trigger': 'api', 'path': delete['path'],
                'outcome': 'checked', 'decisions': ['verify:clean'],
                'duration_ms': 80.0, 'recorded_by': 'api@controller',
                'checked_at': (at + datetime.timedelta(seconds=30)).isoformat()
                + '+00:00', 'schema_version': '1.1'}
            made += 1


def fill(store, count):
    """Insert ``count`` records in bulk; the records per second."""
    engine = store.get_engine()
    rng = random.Random(22)
    now = datetime.datetime.utcnow()
    started = time.monotonic()
    batch = []
    done = 0
    for record in _records(count, rng):
        batch.append(record)
        if len(batch) == CHUNK:
            _insert(engine, batch, now)
            done += len(batch)
            batch = []
            if done % 100000 == 0:
                print('  %d records, %.0f/s' % (
                    done, done / (time.monotonic() - started)), flush=True)
    if batch:
        _insert(engine, batch, now)
    return count / (time.monotonic() - started)


def _insert(engine, records, now):
    rows = [db_api.table_row(r, now) for r in records]
    policies = [{'record_id': r['id'], 'policy': p,
                 'time': schema.time_of(r)}
                for r in records for p in schema.policies_of(r)]
    with engine.begin() as conn:
        conn.execute(models.Record.__table__.insert(), rows)
        conn.execute(models.RecordPolicy.__table__.insert(), policies)


def explain(engine, stmt):
    """The query as sent, and the database's plan of it."""
    prefix = 'EXPLAIN QUERY PLAN ' if engine.name == 'sqlite' else 'EXPLAIN '
    text = str(stmt.compile(dialect=engine.dialect,
                            compile_kwargs={'literal_binds': True}))
    with engine.connect() as conn:
        result = conn.exec_driver_sql(prefix + text)
        return text, list(result.keys()), [tuple(row) for row in result]


def _samples(engine):
    with engine.connect() as conn:
        r = models.Record.__table__.c
        servers = conn.scalars(sa.select(r.instance_uuid).limit(1000)).all()
        since = conn.scalar(sa.select(r.time).order_by(r.time.desc())
                            .offset(conn.scalar(sa.select(
                                sa.func.count()).select_from(
                                models.Record.__table__)) // 4).limit(1))
    return servers, since


def time_queries(store, runs):
    servers, since = _samples(store.get_engine())
    rng = random.Random(7)
    by_server, by_project = [], []
    for _ in range(runs):
        for timings, flt, limit in (
                (by_server, filters.Filters(server=rng.choice(servers)), 101),
                (by_project, filters.Filters(project=rng.choice(PROJECTS),
                                             since=since), 51)):
            started = time.perf_counter()
            found = store.list(flt, limit)
            timings.append(time.perf_counter() - started)
            assert found, flt
    return servers, since, by_server, by_project


def time_commands(commands, runs):
    """Wall and CPU seconds of each command run from the shell, in turns.

    :param commands: ``{title: argv}``.
    :returns: ``{title: (walls, cpus)}``.
    """
    times = {title: ([], []) for title in commands}
    for _ in range(runs):
        for title, argv in commands.items():
            before = os.times()
            started = time.perf_counter()
            subprocess.run(argv, check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            times[title][0].append(time.perf_counter() - started)
            after = os.times()
            times[title][1].append(
                after.children_user - before.children_user +
                after.children_system - before.children_system)
    return times


class Writer(threading.Thread):
    """Stores one record every ``interval`` seconds; times each write."""

    def __init__(self, store, interval=0.05):
        super().__init__(daemon=True)
        self.store = store
        self.interval = interval
        self.latencies = []
        self.stopping = threading.Event()

    def run(self):
        rng = random.Random(99)
        records = _records(10 ** 9, rng)
        while not self.stopping.wait(self.interval):
            record = next(records)
            record['requested_at'] = record['checked_at'] = (
                datetime.datetime.utcnow().isoformat() + '+00:00')
            started = time.perf_counter()
            self.store.add([schema.parse(record)])
            self.latencies.append(time.perf_counter() - started)


def purge_before(engine, count):
    """The time before which there are ``count`` records."""
    r = models.Record.__table__.c
    with engine.connect() as conn:
        return conn.scalar(sa.select(r.time).order_by(r.time)
                           .offset(count).limit(1))


def _print_explain(title, plan):
    text, keys, rows = plan
    print('\n%s\n  %s' % (title, ' '.join(text.split())))
    print('  ' + ' | '.join(keys))
    for row in rows:
        print('  ' + ' | '.join('' if v is None else str(v) for v in row))


def _command(config, *argv):
    # The console script of the Python that runs this benchmark.
    script = os.path.join(os.path.dirname(sys.executable), 'nova-delete-ext')
    return [script] + list(argv) + ['--config-file', config]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--url', help='SQLAlchemy URL of an empty database '
                                      '(default: a temporary SQLite file)')
    parser.add_argument('--records', type=int, default=1000000)
    parser.add_argument('--purge', type=int, default=500000,
                        help='records to purge (0: no purge)')
    parser.add_argument('--runs', type=int, default=200)
    parser.add_argument('--shell-runs', type=int, default=10)
    parser.add_argument('--reuse', action='store_true',
                        help='do not fill a database that has records')
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix='bench-records-')
    url = args.url or 'sqlite:///%s' % os.path.join(folder, 'records.sqlite')
    config = os.path.join(folder, 'collector.conf')
    with open(config, 'w') as f:
        f.write('[delete_ext_collector]\nconnection = %s\n' % url)
    store = db_api.Store(url)
    engine = store.get_engine()
    print('Database: %s %s' % (engine.name, engine.dialect.server_version_info
                               or ''))
    migration.db_sync(engine)
    with engine.connect() as conn:
        present = conn.scalar(sa.select(sa.func.count()).select_from(
            models.Record.__table__))
    if not (args.reuse and present):
        print('Filling %d records...' % args.records, flush=True)
        rate = fill(store, args.records)
        print('Filled at %.0f records/s' % rate)
    load = os.getloadavg()
    servers, since, by_server, by_project = time_queries(store, args.runs)
    server, project = servers[0], PROJECTS[0]
    _print_explain('records list --server %s' % server, explain(
        engine, query.listing(filters.Filters(server=server), 101)))
    by_project_query = query.listing(
        filters.Filters(project=project, since=since), 51)
    _print_explain('records list --project %s --since %s --limit 50'
                   % (project, since.isoformat()),
                   explain(engine, by_project_query))
    print('\nQuery time, ms, min/p50/p95/max (load average %.1f):' % load[0])
    print('  --server:                     %s' % bench_stats.spread_text(
        by_server, 1000, '%.2f'))
    print('  --project --since --limit 50: %s' % bench_stats.spread_text(
        by_project, 1000, '%.2f'))
    print('\nThe command from the shell, s, min/p50/p95/max, in turns with '
          'a Python that only imports sqlalchemy.orm:')
    times = time_commands({
        '--server': _command(config, 'records', 'list', '--server', server),
        '--project --since --limit 50': _command(
            config, 'records', 'list', '--project', project, '--since',
            since.isoformat(), '--limit', '50'),
        'import sqlalchemy.orm': [sys.executable, '-c',
                                  'import sqlalchemy.orm'],
    }, args.shell_runs)
    for title, (walls, cpus) in times.items():
        print('  %s: wall %s, CPU %s' % (
            title, bench_stats.spread_text(walls, 1, '%.2f'),
            bench_stats.spread_text(cpus, 1, '%.2f')))
    if args.purge:
        purge(store, engine, config, args.purge)
    engine.dispose()


def purge(store, engine, config, count):
    before = purge_before(engine, count)
    writer = Writer(store)
    writer.start()
    started = time.monotonic()
    result = subprocess.run(
        _command(config, 'records', 'purge', '--before',
                 before.isoformat()), check=True, capture_output=True,
        text=True)
    elapsed = time.monotonic() - started
    writer.stopping.set()
    writer.join()
    print('\nPurge of the records before %s (%.1f s):\n  %s'
          % (before.isoformat(), elapsed, result.stdout.strip()))
    print('  A writer beside it, one record each 50 ms, ms per write: %s'
          % bench_stats.spread_text(writer.latencies, 1000, '%.1f'))


if __name__ == '__main__':
    main()
