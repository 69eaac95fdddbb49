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

"""How fast nova-delete-ext-collector drains a backlog of records.

For each case it publishes ``--count`` records (default 100,000) to the
``notifications`` topic of a RabbitMQ, as the ``notification`` sink sends
them (nine delete records for one check record), then starts the
collectors, each in a process of its own, in one listener pool, and times
the drain: from the first batch any collector takes to the last one
committed. The cases:

* ``floor``: one collector whose store writes nothing: the same messages
  consumed, parsed and acknowledged, in the same batches; what the bus and
  oslo.messaging cost, the floor of any collector;
* ``store``: one collector storing into ``--connection``;
* ``store2``: two collectors of the same pool into the same database;
* ``floor2``: the floor with two collectors.

Each case prints one JSON line: the drain's records/s (``rate``), the
collectors' CPU per record (``cpu_us_per_record``: their work whatever
the load of the machine) and, with ``--watch``, the CPU seconds the
broker and the database spent meanwhile.

At the end it prints the ratios of ``store`` to ``floor`` and of
``store2`` to ``store``; it checks that the database holds each record
once. Before each store case it empties the database (created with ``db
sync`` if needed). Run it against a RabbitMQ and a database of its own,
nothing else on them::

    python tools/bench_collector.py \\
        --transport-url rabbit://guest:guest@127.0.0.1:5672/ \\
        --connection \\
        'mysql+pymysql://USER:PASSWORD@HOST/records?charset=utf8mb4' \\
        [--count 100000] [--cases floor,store,store2,floor2]
        [--publishers 4] [--watch NAME=PID]...

It measures; it asserts nothing but the counts.
"""

import argparse
import datetime
import json
import os
import subprocess
import sys
import threading
import time

import kombu
from oslo_config import cfg
import oslo_messaging
from oslo_utils import timeutils
import sqlalchemy
from sqlalchemy import orm

from nova_delete_ext.collector import listener
from nova_delete_ext.collector import service
from nova_delete_ext import conf as ext_conf
from nova_delete_ext.db import api as db_api
from nova_delete_ext.db import migration
from nova_delete_ext.db import models
from nova_delete_ext import record as rec

CASES = {'floor': ('floor', 1), 'floor2': ('floor', 2),
         'store': ('store', 1), 'store2': ('store', 2)}
STATES = ('active', 'stopped', 'paused', 'error', 'shelved_offloaded')


def payloads(count, run):
    """``count`` record payloads, nine deletes for one check.

    Each with a time of its own, as real records have: the store parses
    each record's time.
    """
    start = timeutils.utcnow(with_timezone=True)
    delete = None
    for number in range(count):
        now = (start + datetime.timedelta(milliseconds=number)).isoformat()
        if number % 10 == 9:
            check = rec.CheckRecord.of(delete)
            check.outcome, check.checked_at = rec.CHECKED, now
            check.decisions, check.leaks = ['verify:clean'], []
            data = check.as_dict()
        else:
            delete = rec.DeleteRecord(
                instance_uuid='%08x-0000-4000-8000-%012x' % (run, number),
                project_id='project-%d' % (number % 50),
                user_id='user-%d' % (number % 200),
                request_id='req-%08x-%d' % (run, number),
                vm_state=STATES[number % len(STATES)], task_state=None,
                power_state='running', host='compute-%d' % (number % 20),
                delete_type=rec.DELETE, trigger=rec.TRIGGER_API,
                requested_at=now, path=rec.PATH_COMPUTE,
                outcome=rec.DELETED,
                released=['allocations', 'disks', 'domain', 'ports'],
                decisions=['protect:allowed'], duration_ms=412.3,
                recorded_by='compute@compute-%d' % (number % 20))
            data = delete.as_dict()
        data['schema_version'] = '1.1'
        yield data


def publish(conf, url, count, run, threads):
    """Publish ``count`` records from ``threads`` threads; seconds."""
    transport = listener.get_transport(conf, url=url)
    notifier = oslo_messaging.Notifier(
        transport, driver='messagingv2', topics=['notifications'],
        publisher_id='nova-compute:bench')
    records = list(payloads(count, run))

    def send(share):
        for data in share:
            event = ('delete_ext.check.end' if data['kind'] == 'check'
                     else 'delete_ext.delete.end')
            notifier.info({}, event, data)

    started = time.monotonic()
    workers = [threading.Thread(target=send, args=(records[i::threads],))
               for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.monotonic() - started
    transport.cleanup()
    return elapsed


class NullStore:
    """The floor: a store that takes every record and writes nothing."""

    def add(self, records):
        return db_api.StoreResult(stored=len(records), duplicates=0,
                                  new=records)

    def check_schema(self):
        pass


def child(args):
    """One collector, until its queue has been idle for ``--idle``."""
    conf = cfg.CONF
    conf([], default_config_files=[])
    store = (NullStore() if args.child == 'floor'
             else db_api.Store(args.connection))
    if args.prefetch is not None:
        listener.get_transport(conf, url='fake://')  # registers the option
        conf.set_override('rabbit_qos_prefetch_count', args.prefetch,
                          group='oslo_messaging_rabbit')
    transport = listener.get_transport(conf, url=args.transport_url)
    collector = service.Collector(conf, store=store, transport=transport)
    times = []
    handle = collector.handler.handle

    def timed(messages):
        started, cpu = time.time(), time.process_time()
        answer = handle(messages)
        times.append((started, time.time(), cpu, time.process_time()))
        return answer

    collector.handler.handle = timed
    collector.start()
    while not times or time.time() - times[-1][1] < args.idle:
        time.sleep(0.1)
    collector.stop()
    transport.cleanup()
    # The process's CPU from the first batch to the last: the listener's
    # thread and the handler's, not the imports and start-up.
    print(json.dumps(dict(collector.health.snapshot(), batches=len(times),
                          first=times[0][0], last=times[-1][1],
                          cpu=times[-1][3] - times[0][2])))


def prepare_queues(conf, url):
    """The pool's queue declared, the topic's own queue emptied.

    A queue gets only the messages published after it exists: a collector
    of the pool starts once, on the empty queue, before the publishing.
    oslo.messaging's notifier fills the topic's queue (of consumers without
    a pool), which nothing reads here.
    """
    transport = listener.get_transport(conf, url=url)
    collector = service.Collector(conf, store=NullStore(),
                                  transport=transport)
    collector.start()
    collector.stop()
    transport.cleanup()
    with kombu.Connection(url.replace('rabbit://', 'amqp://', 1)) as conn:
        # And the pool's, of what a run stopped halfway left in it.
        for queue in ('notifications.info', conf.delete_ext_collector.pool):
            try:
                conn.default_channel.queue_purge(queue)
            except Exception:
                pass  # not there yet


def run_case(args, case, run):
    mode, collectors = CASES[case]
    if mode == 'store':
        empty(args.connection)
    conf = cfg.CONF
    prepare_queues(conf, args.transport_url)
    published = publish(conf, args.transport_url, args.count, run,
                        args.publishers)
    command = [sys.executable, os.path.abspath(__file__), '--child', mode,
               '--transport-url', args.transport_url,
               '--connection', args.connection, '--idle', str(args.idle)]
    if args.prefetch is not None:
        command += ['--prefetch', str(args.prefetch)]
    watched = {name: cpu_of(pid) for name, pid in args.watch}
    procs = [subprocess.Popen(command, stdout=subprocess.PIPE)
             for _ in range(collectors)]
    results = [json.loads(proc.communicate()[0].decode().splitlines()[-1])
               for proc in procs]
    watched = {name: round(cpu_of(pid) - watched[name], 1)
               for name, pid in args.watch}
    elapsed = max(r['last'] for r in results) - min(
        r['first'] for r in results)
    stored = sum(r['stored'] for r in results)
    line = dict(case=case, count=args.count, publish_s=published,
                drain_s=elapsed, rate=args.count / elapsed,
                stored=stored, duplicates=sum(r['duplicates']
                                              for r in results),
                per_collector=[r['stored'] for r in results],
                batches=sum(r['batches'] for r in results),
                cpu_s=[round(r['cpu'], 1) for r in results],
                cpu_us_per_record=round(sum(r['cpu'] for r in results) /
                                        args.count * 1e6),
                other_cpu_s=watched)
    if mode == 'store':
        line['rows'], line['bytes_per_row'] = count_rows(args.connection)
        line['duplicates_in_db'] = line['rows'] - args.count
    if stored != args.count:
        line['error'] = 'stored %d of %d' % (stored, args.count)
    return line


def cpu_of(pid):
    """CPU seconds of process ``pid`` and its children that ended."""
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rpartition(')')[2].split()
    return sum(int(v) for v in fields[11:15]) / os.sysconf('SC_CLK_TCK')


def _watch(text):
    name, _, pid = text.partition('=')
    return name, int(pid)


def _engine(connection):
    return sqlalchemy.create_engine(connection)


def empty(connection):
    migration.db_sync(connection)
    engine = _engine(connection)
    with engine.begin() as conn:
        for table in reversed(models.BASE.metadata.sorted_tables):
            conn.execute(table.delete())
    engine.dispose()


def count_rows(connection):
    """Rows of the records table, and its bytes per row (MariaDB only)."""
    engine = _engine(connection)
    table = models.Record.__table__
    with orm.Session(engine) as session:
        rows = session.execute(
            sqlalchemy.select(sqlalchemy.func.count()).select_from(
                table)).scalar()
        size = None
        if engine.dialect.name == 'mysql':
            session.execute(sqlalchemy.text('ANALYZE TABLE %s' % table.name))
            size = session.execute(sqlalchemy.text(
                'SELECT data_length + index_length FROM '
                'information_schema.tables WHERE table_schema = DATABASE() '
                'AND table_name = :name'), {'name': table.name}).scalar()
    engine.dispose()
    return rows, size and round(size / max(rows, 1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--transport-url', required=True)
    parser.add_argument('--connection', required=True)
    parser.add_argument('--count', type=int, default=100000)
    parser.add_argument('--cases', default='floor,store,store2')
    parser.add_argument('--publishers', type=int, default=4)
    parser.add_argument('--idle', type=float, default=15.0,
                        help='seconds without a batch that end a collector')
    parser.add_argument('--prefetch', type=int,
                        help="the collectors' rabbit_qos_prefetch_count "
                             '(default: what the collector sets)')
    parser.add_argument('--watch', type=_watch, action='append', default=[],
                        metavar='NAME=PID',
                        help='also give the CPU seconds this process (the '
                             'broker, the database) spent in each drain')
    parser.add_argument('--child', choices=('floor', 'store'),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    ext_conf.register_opts(cfg.CONF)
    if args.child:
        return child(args)
    cfg.CONF([], default_config_files=[])
    rates = {}
    for run, case in enumerate(args.cases.split(','), 1):
        line = run_case(args, case, run)
        rates[case] = line['rate']
        print(json.dumps(line), flush=True)
    for case, base in (('store', 'floor'), ('store2', 'store'),
                       ('floor2', 'floor')):
        if case in rates and base in rates:
            print('%s / %s: %.2f' % (case, base, rates[case] / rates[base]))


if __name__ == '__main__':
    sys.exit(main())
