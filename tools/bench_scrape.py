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

"""A scrape of the collector's ``/metrics``, timed as the store grows.

Fills a record store (SQLite by default, ``--connection`` for another)
through :meth:`Store.add`, as the collector does, up to each of
``--sizes`` records, with records that give every label value a series
(every vm_state, path, outcome and service of the schema, five refusing
policies, every leak kind: the most series the counters can have), and at
each size times ``--scrapes`` HTTP GETs of ``/metrics`` from the
collector's own server (a new connection each), with a cell gauge set as
after a poll. It also counts the store's reads during the scrapes, which
must be none (the totals are read on a timer and after stored batches),
and times that read on its own.

    python tools/bench_scrape.py --sizes 0,10000,100000
"""

import argparse
import itertools
import os
import sys
import tempfile
import time
import urllib.request

from oslo_utils import timeutils

from nova_delete_ext.collector import listener
from nova_delete_ext.collector import metrics
from nova_delete_ext.collector import poll
from nova_delete_ext.collector import schema
from nova_delete_ext.db import api as db_api
from nova_delete_ext.db import migration
from nova_delete_ext import record as rec

import bench_stats

POLICIES = ('protect', 'recycle', 'audit', 'quota_guard', 'change_freeze')
KINDS = ('allocations', 'ports', 'volumes', 'shelve_image', 'domain')
BATCH = 500
# What Prometheus 2 asks for.
ACCEPT = ('application/openmetrics-text;version=1.0.0,application/'
          'openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;'
          'q=0.5,*/*;q=0.1')


def records(start):
    """Records from number ``start`` on; every label combination cycles."""
    combos = itertools.cycle(itertools.product(
        schema.VM_STATES, schema.PATHS + (None,),
        [o for o in schema.OUTCOMES if o != rec.CHECKED],
        schema.SERVICES))
    now = timeutils.utcnow(with_timezone=True).isoformat()
    for number in itertools.count(start):
        vm_state, path, outcome, service = next(combos)
        uuid = '%08x-0000-4000-8000-%012x' % (os.getpid(), number)
        if number % 10 == 9:
            kind = KINDS[number % len(KINDS)]
            yield schema.parse(rec.CheckRecord(
                delete_id='d-%d' % number, instance_uuid=uuid,
                project_id='p', user_id='u', request_id='r',
                delete_type=rec.DELETE, trigger=rec.TRIGGER_API,
                path=rec.PATH_COMPUTE, outcome=rec.CHECKED, checked_at=now,
                leaks=[{'kind': kind, 'resource_id': 'res-%d' % number}],
                repaired=['deleted res-%d' % number]).as_dict())
            continue
        decisions = []
        if outcome == rec.DENIED:
            decisions = ['%s:denied(x)' % POLICIES[number % len(POLICIES)]]
        yield schema.parse(rec.DeleteRecord(
            instance_uuid=uuid, project_id='p-%d' % (number % 50),
            user_id='u', request_id='r-%d' % number, vm_state=vm_state,
            task_state=None, power_state='running', host='compute-1',
            delete_type=(rec.RESTORE if number % 50 == 7 else rec.DELETE),
            trigger=rec.TRIGGER_API, requested_at=now, path=path,
            outcome=outcome, decisions=decisions,
            duration_ms=float(number % 400000) / 7,
            recorded_by='%s@host-1' % service).as_dict())


class CountingStore:
    """The store, counting its ``totals()`` reads."""

    def __init__(self, store):
        self.store = store
        self.reads = 0

    def totals(self):
        self.reads += 1
        return self.store.totals()


def scrape_times(url, count):
    """Wall and CPU seconds of each scrape, and the size of the last.

    The CPU is this process's, all threads: the collector's server and
    the benchmark's client, an upper bound of what the scrape costs the
    collector however loaded the machine is.
    """
    times, cpus, size = [], [], 0
    for _ in range(count):
        started, cpu = time.perf_counter(), time.process_time()
        with urllib.request.urlopen(urllib.request.Request(
                url, headers={'Accept': ACCEPT}), timeout=10) as answer:
            size = len(answer.read())
        times.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
    return times, cpus, size


def gauges():
    stuck = {(state, age): 1 for state in ('deleting', 'soft-deleting')
             for age, _ in poll.AGES}
    cells = [poll.CellGauges('cell%d' % n, True, stuck=stuck, oldest=60.0,
                             recycle_bin=dict.fromkeys(poll.BIN_STATES, 1))
             for n in range(1, 4)]

    class Snapshot:
        snapshot = (True, cells + [poll.CellGauges('cell4', False)])

        def start(self):
            pass

        def stop(self):
            pass
    return Snapshot()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--sizes', default='0,10000,100000')
    parser.add_argument('--scrapes', type=int, default=201)
    parser.add_argument('--connection')
    parser.add_argument('--cpu-verdict', action='store_true',
                        help='judge the p95 of the CPU a scrape costs, not '
                             'its wall time: on a loaded machine')
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(',')]
    with tempfile.TemporaryDirectory() as tmp:
        connection = args.connection or 'sqlite:///%s' % os.path.join(
            tmp, 'records.sqlite')
        migration.db_sync(connection)
        store = CountingStore(db_api.Store(connection))
        health = listener.Health()
        served = metrics.Metrics(store, health, gauges())
        # Only the reads this benchmark asks for: no timer while timing.
        served.totals.interval = 3600
        port = served.start('127.0.0.1', 0)
        url = 'http://127.0.0.1:%d/metrics' % port
        try:
            return run(store, served, health, url, sizes, args.scrapes,
                       args.cpu_verdict)
        finally:
            served.stop()


def run(store, served, health, url, sizes, scrapes, cpu_verdict):
    stored = 0
    made = records(0)
    rows = []
    for size in sizes:
        started = time.monotonic()
        while stored < size:
            batch = list(itertools.islice(made, min(BATCH, size - stored)))
            result = store.store.add(batch)
            health.add(received=len(batch), stored=result.stored)
            health.stored_now()
            stored += len(batch)
        filled = time.monotonic() - started
        read_started = time.perf_counter()
        served.totals.refresh()
        read = time.perf_counter() - read_started
        reads = store.reads
        load = os.getloadavg()[0]
        times, cpus, size_bytes = scrape_times(url, scrapes)
        series = len(served.totals.values)
        load = max(load, os.getloadavg()[0])
        rows.append((size, times, store.reads - reads, read, size_bytes,
                     series, load, filled, cpus))
    print('Scrapes of %s, %d per size, as Prometheus asks (OpenMetrics); '
          'ms min/p50/p95/max' % (url, scrapes))
    for (size, times, reads, read, size_bytes, series, load,
         filled, cpus) in rows:
        print('  %9d records (filled in %.0f s, load average up to %.1f):\n'
              '      scrape wall %s\n      scrape CPU  %s\n'
              '      %d store reads while scraping; %d counter rows, '
              '%d bytes; the totals read (on its own thread) %.1f ms' % (
                  size, filled, load, bench_stats.spread_text(times, 1000),
                  bench_stats.spread_text(cpus, 1000), reads, series,
                  size_bytes, read * 1000))
    judged = [cpus if cpu_verdict else times
              for _, times, *_, cpus in rows]
    worst = max(bench_stats.spread(each)[2] for each in judged) * 1000
    touched = sum(reads for _, _, reads, *_ in rows)
    verdict = []
    if worst >= 10:
        verdict.append('scrape p95 %.1f ms >= 10 ms' % worst)
    if touched:
        verdict.append('%d store reads during scrapes' % touched)
    print('%s' % ('FAIL: ' + '; '.join(verdict) if verdict else
                  'OK: scrape p95 < 10 ms at every size, no store read'))
    return 1 if verdict else 0


if __name__ == '__main__':
    sys.exit(main())
