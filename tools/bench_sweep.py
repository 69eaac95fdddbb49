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

"""How fast ``nova-delete-ext sweep`` sweeps, next to nova-manage.

For each size (default 1,000, 10,000 and 100,000 deleted instances) it
starts an in-process Nova with several compute hosts and seeds the cell
database with bulk inserts, through Nova's database layer: rows copied
from an instance Nova itself created and destroyed, so each deleted row
looks like one Nova leaves (its system_metadata soft-deleted with it).
About 3% of them leak for real, each one kind: placement allocations held
by their uuid, Neutron ports still naming them, Cinder attachments and
shelve snapshots. The same number of live instances, with their
allocations, stands beside them at every size: the cloud keeps its size
while its history of deletes grows. It then prints, per size:

* the full sweep (every kind): instances per second, and its time by
  phase: reading the deleted instances, each service's listing, matching
  (the rest of the sweep) and the output;
* the shared work, orphaned allocations: the sweep limited to
  ``--kinds allocations``, with the same phases, and ``nova-manage
  placement audit`` (``PlacementCommands.audit``, in-process) on the same
  data;
* the part of that work neither tool can avoid: reading the allocations
  of every resource provider from placement, one request per provider (as
  placement has no query by many consumers), timed on its own; and what
  any tool that looks in the cell databases pays before reading a row:
  the cell mappings, then one transaction per cell (see
  :func:`_visit_cells`); and the cell reads of the allocations-only sweep
  alone, which with the listing make the floor of its own work (see
  :func:`_cell_reads`), also with the listing on another thread beside
  them, to see whether they hide behind it;
* the peak memory Python allocated during the full sweep (tracemalloc, in
  a run of its own, as tracing slows the sweep down);
* the leaks found, against the leaks seeded.

The sweeps read the providers one at a time (``--placement-concurrency
1``): placement answers in this process, where reading side by side only
adds threads waiting for the same interpreter. Against a placement of its
own, ``tools/cloud/bench_listing_cloud.py`` measures it.

Each time is given as min/p50/p95/max over ``--runs`` runs (default 21),
the tools taking turns. Runs cost less than seeding, and the listing
varies by a fifth from run to run: fewer runs give p50s that move as
much. Nova's Glance fixture is given Glance's own ``id=in:`` filter,
which it lacks (see :func:`_listing_as_glance_does`).

    python tools/bench_sweep.py [--sizes 1000,10000,100000] [--hosts 10]
                                [--live 500] [--runs 21] [--profile FILE]

No test timeout applies: it runs to its end at any size. It measures; it
asserts nothing.
"""

import argparse
import collections
import contextlib
import copy
import cProfile
import datetime
import gc
import inspect
import io
import pstats
import sys
import threading
import time
import tracemalloc
import unittest

# Chooses eventlet or threading before anything else is imported.
from nova_delete_ext.tests.functional import base  # noqa: F401,I100
from nova_delete_ext.tests.functional import demo
from nova_delete_ext.tests.functional import test_sweep

from nova.cmd import manage
from nova.compute import vm_states
from nova import context as nova_context
from nova.db.main import api as main_db
from nova.db.main import models
from nova import objects
from nova.tests import fixtures as nova_fixtures
from oslo_serialization import jsonutils
from oslo_utils import uuidutils
import sqlalchemy as sa

from nova_delete_ext.cmd import sweep as sweep_cmd
from nova_delete_ext.leaks import index as leak_index
from nova_delete_ext.leaks import novadb
from nova_delete_ext.leaks import providers
from nova_delete_ext.leaks import rows
from nova_delete_ext.leaks import services
from nova_delete_ext.leaks import sweep
from nova_delete_ext import states

import bench_stats

LEAK_EVERY = 33  # about 3% of the deleted instances leak, each one kind
LEAK_KINDS = ('allocations', 'ports', 'volumes', 'shelve_image')
RUNS = 21  # each time is the spread of this many runs
# Placement answers in this process: reading providers side by side only
# adds threads that wait for the same interpreter. It pays against a
# placement of its own (tools/cloud/bench_listing_cloud.py measures it).
ONE_AT_A_TIME = ['--placement-concurrency', '1']
INSERT_CHUNK = 5000  # rows per bulk insert
ALLOCATION_CHUNK = 500  # consumers per POST /allocations
# system_metadata entries every instance carries (what Nova copies from
# the image and the request), so that the sweep's join meets real rows.
SYS_META = {'image_base_image_ref': 'img-base', 'image_min_disk': '1',
            'image_min_ram': '0', 'boot_roles': 'member,reader'}

#: Phases of the full sweep, each the functions whose time it adds up.
PHASES = (
    # The pages of rows, each timed from the request of a page to its
    # arrival: with the transaction they are read in.
    ('read', ((rows, 'deleted_pages'), (rows, 'candidate_pages'),
              (rows, 'count'))),
    # The rest of what the sweep reads from the cell databases.
    ('nova_db', ((novadb, 'deleted_migrations'), (novadb, 'network_infos'))),
    ('placement', ((providers, 'allocations_by_consumer'),)),
    ('cinder', ((leak_index, 'attachments_by_instance'),)),
    ('neutron', ((leak_index, 'ports_of'), (leak_index, 'ports_by_device'))),
    ('glance', ((leak_index, 'images_by_id'),)),
    ('output', ((sweep_cmd, '_print'),)),
)


class _Phases:
    """Adds up the time spent in each phase's functions."""

    def __init__(self):
        self.totals = collections.defaultdict(float)

    def install(self, test):
        for phase, functions in PHASES:
            for owner, name in functions:
                self._around(test, phase, owner, name)

    def _around(self, test, phase, owner, name):
        original = getattr(owner, name, None)
        if original is None:  # an older sweep: that phase is not timed
            return

        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.totals[phase] += time.perf_counter() - started

        def timed_steps(*args, **kwargs):
            # A generator: only its own steps, not what its consumer
            # does between them.
            steps = original(*args, **kwargs)
            while True:
                started = time.perf_counter()
                try:
                    item = next(steps)
                except StopIteration:
                    return
                finally:
                    self.totals[phase] += time.perf_counter() - started
                yield item
        setattr(owner, name, timed_steps
                if inspect.isgeneratorfunction(original) else timed)
        test.addCleanup(setattr, owner, name, original)


def _listing_as_glance_does(fixture):
    """The fixture's image listing, with Glance's own ``id=in:`` filter.

    Nova's GlanceFixture lists every image it holds whatever the filters,
    where Glance answers a query by ids with those images only: unfiltered,
    each of the sweep's queries would cost as much as listing every
    snapshot seeded.
    """
    listing = fixture.detail

    def detail(context, **kwargs):
        ids = kwargs.get('filters', {}).get('id', '')
        if not ids.startswith('in:'):
            return listing(context, **kwargs)
        return [copy.deepcopy(fixture.images[image_id])
                for image_id in ids[3:].split(',')
                if image_id in fixture.images]
    return detail


def _listing(context, placement):
    """The placement listing both tools make, one request after the other.

    Every provider, then each one's allocations, on this thread and
    without a time limit: what neither tool can avoid.
    """
    resp = placement.get('/resource_providers', version='1.14')
    return {provider['uuid']: placement.get_allocations_for_resource_provider(
        context, provider['uuid']).allocations
        for provider in resp.json()['resource_providers']}


def _visit_cells(context):
    """The least a tool that reads every cell database does.

    The cell mappings from the API database, then one transaction of one
    trivial statement in each cell. On this harness each transaction
    connects to a SQLite file anew (oslo.db gives SQLite files no
    connection pool), where a deployment's MySQL connections are pooled.
    """
    for cell in objects.CellMappingList.get_all(context):
        with nova_context.target_cell(context, cell) as cctxt, \
                rows.reader(cctxt):
            cctxt.session.execute(sa.text('SELECT 1')).all()


def _cell_reads(context, consumers):
    """What the allocations-only sweep reads from the cell databases.

    The cell mappings, then in each cell one transaction that looks
    ``consumers`` (placement's, from a listing made before the runs) up
    among the deleted migrations and among the deleted instances: the
    sweep's own queries, without its time limits, matching or output.
    Added to the listing alone, the floor of that sweep's work.
    """
    kinds = frozenset({states.ALLOCATIONS})
    for cell in objects.CellMappingList.get_all(context):
        with nova_context.target_cell(context, cell) as cctxt, \
                rows.reader(cctxt):
            named = set(consumers).union(
                novadb.deleted_migrations(cctxt, consumers))
            for _page in rows.candidate_pages(
                    cctxt, sweep.Filters(), sorted(named),
                    sweep.DEFAULT_BATCH, sweep.shelve_matters(kinds)):
                pass


def _reads_beside_listing(context, placement, consumers):
    """The cell reads here while the listing runs on another thread.

    Whether reading the cells while placement answers would save their
    time: here placement answers in this process too.
    """
    listing = threading.Thread(target=_listing, args=(context, placement))
    listing.start()
    try:
        _cell_reads(context, consumers)
    finally:
        listing.join()


class Bench(test_sweep.SweepTestBase):

    size = 1000
    hosts = 10
    live = 500
    runs = RUNS
    profile_path = None
    results = []

    def test_bench(self):
        started = time.perf_counter()
        seeded = self.make_deployment()
        self.glance.detail = _listing_as_glance_does(self.glance)
        result = dict(size=self.size, seeded=seeded,
                      build=time.perf_counter() - started)
        admin = nova_context.get_admin_context()
        placement = services.Clients().placement
        consumers = set().union(*_listing(admin, placement).values())
        phases = _Phases()
        phases.install(self)
        work = {
            'full': (sweep_cmd.main, ['--format', 'json'] + ONE_AT_A_TIME),
            'shared': (sweep_cmd.main,
                       ['--format', 'json', '--kinds', 'allocations'] +
                       ONE_AT_A_TIME),
            'nova_manage': (manage.PlacementCommands().audit,),
            'listing': (_listing, admin, placement),
            'cells': (_visit_cells, admin),
            'reads': (_cell_reads, admin, consumers),
            'beside': (_reads_beside_listing, admin, placement, consumers),
        }
        # In alternation, so that drift of the machine affects all alike.
        times = collections.defaultdict(list)
        for _ in range(self.runs):
            for name, (func, *args) in work.items():
                phases.totals.clear()
                seconds, cpu, outcome, output = self.timed(func, *args)
                times[name].append(seconds)
                times[name + '_cpu'].append(cpu)
                if name in ('full', 'shared'):
                    prefix = 'phase_' if name == 'full' else 'shared_'
                    for phase, _functions in PHASES:
                        times[prefix + phase].append(phases.totals[phase])
                    # Whatever is not in a phase: deciding what to check,
                    # and matching the listings with the rows.
                    times[prefix + 'match'].append(
                        seconds - sum(phases.totals.values()))
                if name == 'full':
                    result['found'] = collections.Counter(
                        leak['kind'] for leak in jsonutils.loads(
                            output)['leaks'])
                if name in ('full', 'shared', 'nova_manage'):
                    result[name + '_code'] = outcome
        result['times'] = dict(times)
        # Traced apart, as tracing slows the sweep down.
        tracemalloc.start()
        self.timed(*work['full'])
        result['peak'] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        if self.profile_path:
            result['profile'] = ''.join(
                self.profile(name, work[name]) for name in ('full', 'shared'))
        self.results.append(result)

    def profile(self, name, work):
        profiler = cProfile.Profile()
        profiler.runcall(self.timed, *work)
        path = '%s.%s.%d' % (self.profile_path, name, self.size)
        profiler.dump_stats(path)
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats(
            'tottime').print_stats(25)
        return 'profile of one %s sweep, in %s:\n%s' % (
            name, path, text.getvalue())

    @staticmethod
    def timed(func, *args):
        """Elapsed and CPU time of ``func``, its result and its output.

        The CPU time is the process's: placement (through
        wsgi-intercept), the database and the service fixtures serve the
        sweep in this process, part of it on the threads that give each
        service call its time limit. It does not grow while the process
        waits for a core, as the elapsed time does on a loaded machine;
        the in-process Nova's own idle services add a little to it.
        """
        out = io.StringIO()
        # Each case pays for its own garbage only, not for what the case
        # before left: at 100,000 a full sweep leaves enough for one
        # collection of the in-process Nova's whole heap.
        gc.collect()
        with contextlib.redirect_stdout(out):
            started, cpu = time.perf_counter(), time.process_time()
            code = func(*args)
            return (time.perf_counter() - started,
                    time.process_time() - cpu, code, out.getvalue())

    # Seeding ---------------------------------------------------------------

    def make_deployment(self):
        """Live and deleted instances, and the leaks; the leaks seeded."""
        self.providers = {}
        for number in range(self.hosts):
            host = 'host%d' % number
            self._start_compute(host)
            self.providers[host] = self._get_provider_uuid_by_host(host)
        cell = self.cell_mappings['cell1']
        with nova_context.target_cell(self.ctxt, cell) as cctxt:
            self.node_ids = {
                host: objects.ComputeNode.get_by_nodename(cctxt, host).id
                for host in self.providers}
            live = [self.instance(cctxt, number)
                    for number in range(self.live)]
            self.allocate([(inst.uuid, inst.host, inst.project_id)
                           for inst in live])
            return self.seed_deleted(cctxt)

    def instance(self, cctxt, number):
        host = self.host(number)
        inst = objects.Instance(
            context=cctxt, uuid=uuidutils.generate_uuid(),
            project_id='p%d' % (number % 7), user_id='u',
            host=host, node=host, compute_id=self.node_ids[host],
            vm_state=vm_states.ACTIVE, system_metadata=dict(SYS_META))
        inst.create()
        return inst

    def host(self, number):
        return 'host%d' % (number % self.hosts)

    def allocate(self, consumers):
        """Allocations for ``(uuid, host, project)``, many per request."""
        for start in range(0, len(consumers), ALLOCATION_CHUNK):
            body = {uuid: {
                'allocations': {self.providers[host]: {
                    'resources': {'MEMORY_MB': 8}}},
                'project_id': project, 'user_id': 'u',
                'consumer_generation': None}
                for uuid, host, project in
                consumers[start:start + ALLOCATION_CHUNK]}
            resp = self.placement.post('/allocations', body,
                                       version='1.28')
            if resp.status != 204:
                raise RuntimeError('placement refused the allocations: '
                                   '%s %s' % (resp.status, resp.content))

    def seed_deleted(self, cctxt):
        """``self.size`` deleted rows, as Nova leaves them, and the leaks.

        The rows are copies of an instance Nova created and destroyed, in
        bulk inserts of :data:`INSERT_CHUNK`.
        """
        template = self.instance(cctxt, 0)
        template.destroy()
        inst_t, meta_t = models.Instance.__table__, \
            models.InstanceSystemMetadata.__table__
        writer = main_db.get_context_manager(cctxt).writer
        with writer.using(cctxt) as session:
            row = dict(session.execute(inst_t.select().where(
                inst_t.c.uuid == template.uuid)).mappings().one())
            next_id = session.execute(
                sa.select(sa.func.max(inst_t.c.id))).scalar() + 1
            next_meta = session.execute(
                sa.select(sa.func.max(meta_t.c.id))).scalar() + 1
        deleted_at = row['deleted_at'] or datetime.datetime.utcnow()
        seeded = collections.Counter()
        allocations = []
        for start in range(0, self.size, INSERT_CHUNK):
            rows, metas = [], []
            for number in range(start, min(self.size, start + INSERT_CHUNK)):
                ident = next_id + number
                uuid = uuidutils.generate_uuid()
                host = self.host(number)
                kind = (LEAK_KINDS[(number // LEAK_EVERY) % 4]
                        if number % LEAK_EVERY == 0 else None)
                rows.append(dict(
                    row, id=ident, uuid=uuid, deleted=ident,
                    deleted_at=deleted_at, vm_state=vm_states.DELETED,
                    host=host, node=host, compute_id=self.node_ids[host],
                    project_id='p%d' % (number % 7),
                    hostname='server-%d' % number))
                sys_meta = dict(SYS_META)
                if kind == 'shelve_image':
                    image = self.glance.create(None, {
                        'name': 'shelved', 'properties': {
                            'instance_uuid': uuid}})
                    sys_meta['shelved_image_id'] = image['id']
                for key, value in sys_meta.items():
                    metas.append(dict(
                        id=next_meta, instance_uuid=uuid, key=key,
                        value=value, deleted=next_meta,
                        created_at=row['created_at'],
                        deleted_at=deleted_at))
                    next_meta += 1
                if kind == 'allocations':
                    allocations.append((uuid, host, 'p%d' % (number % 7)))
                elif kind == 'ports':
                    port = self.neutron.create_port({'port': {}})['port']
                    # The fixture's create takes its fields from a template
                    # port; the binding comes after, as Nova does it.
                    self.neutron.update_port(port['id'], {'port': {
                        'device_id': uuid, 'device_owner': 'compute:nova',
                        'network_id':
                            nova_fixtures.NeutronFixture.network_1['id']}})
                elif kind == 'volumes':
                    self.cinder.create_vol_attachment(
                        nova_fixtures.CinderFixture.IMAGE_BACKED_VOL, uuid)
                if kind:
                    seeded[kind] += 1
            with writer.using(cctxt) as session:
                session.execute(inst_t.insert(), rows)
                session.execute(meta_t.insert(), metas)
        self.allocate(allocations)
        return seeded


# Report ------------------------------------------------------------------

def _ms(values):
    return bench_stats.spread_text(values, 1000, '%.0f')


def _p50(values):
    return bench_stats.spread(values)[1]


def report(results, runs):
    out = demo.OUT
    out.write('\nTimes in ms, min/p50/p95/max over %d runs each '
              '(n = number of runs).\n' % runs)
    for r in results:
        times = r['times']
        full_p50 = bench_stats.spread(times['full'])[1]
        cpu_p50 = bench_stats.spread(times['full_cpu'])[1]
        out.write(
            '\n%d deleted instances (%d live), built in %.0f s; full sweep '
            'exit code %s\n'
            '  full sweep (4 kinds)      %s  -> %.0f instances/s at p50\n'
            '    read instances          %s\n'
            '    read migrations, caches %s\n'
            '    placement listing       %s\n'
            '    cinder listing          %s\n'
            '    neutron queries         %s\n'
            '    glance queries          %s\n'
            '    matching (the rest)     %s\n'
            '    output                  %s\n'
            '  allocations-only sweep    %s\n'
            '    its placement listing   %s\n'
            '    the rest: read instances %s, migrations %s, matching %s, '
            'output %s\n'
            '  nova-manage placement audit %s\n'
            '  placement listing alone   %s\n'
            '  cell mappings and one transaction per cell %s\n'
            '  cell reads of the allocations-only sweep %s\n'
            '  the same beside the listing, on two threads %s\n'
            '  allocations-only / listing at p50: %.2f; / (listing + '
            'cells): %.2f; / (listing + cell reads): %.2f\n'
            '  cell reads beside the listing / (listing + cell reads) at '
            'p50: %.2f\n'
            '  full sweep / nova-manage at p50: %.2f\n'
            '  CPU time of the process:\n'
            '    full sweep              %s  -> %.0f instances/s at p50\n'
            '    allocations-only sweep  %s\n'
            '    nova-manage             %s\n'
            '    placement listing alone %s\n'
            '    allocations-only / listing at p50: %.2f; full sweep / '
            'nova-manage at p50: %.2f\n'
            '  peak memory (full sweep)  %.1f MiB\n'
            '  leaks found/seeded        %s\n'
            '  exit codes, allocations sweep / nova-manage: %s/%s\n'
            % (r['size'], Bench.live, r['build'], r['full_code'],
               _ms(times['full']), r['size'] / full_p50,
               _ms(times['phase_read']), _ms(times['phase_nova_db']),
               _ms(times['phase_placement']),
               _ms(times['phase_cinder']), _ms(times['phase_neutron']),
               _ms(times['phase_glance']), _ms(times['phase_match']),
               _ms(times['phase_output']),
               _ms(times['shared']), _ms(times['shared_placement']),
               _ms(times['shared_read']), _ms(times['shared_nova_db']),
               _ms(times['shared_match']), _ms(times['shared_output']),
               _ms(times['nova_manage']),
               _ms(times['listing']), _ms(times['cells']),
               _ms(times['reads']), _ms(times['beside']),
               _p50(times['shared']) / _p50(times['listing']),
               _p50(times['shared']) / (_p50(times['listing']) +
                                        _p50(times['cells'])),
               _p50(times['shared']) / (_p50(times['listing']) +
                                        _p50(times['reads'])),
               _p50(times['beside']) / (_p50(times['listing']) +
                                        _p50(times['reads'])),
               full_p50 / bench_stats.spread(times['nova_manage'])[1],
               _ms(times['full_cpu']), r['size'] / cpu_p50,
               _ms(times['shared_cpu']), _ms(times['nova_manage_cpu']),
               _ms(times['listing_cpu']),
               bench_stats.spread(times['shared_cpu'])[1] /
               bench_stats.spread(times['listing_cpu'])[1],
               cpu_p50 / bench_stats.spread(times['nova_manage_cpu'])[1],
               r['peak'] / 2 ** 20,
               ', '.join('%s %d/%d' % (kind, r['found'].get(kind, 0),
                                       r['seeded'].get(kind, 0))
                         for kind in LEAK_KINDS),
               r['shared_code'], r['nova_manage_code']))
        if 'profile' in r:
            out.write(r['profile'])
    out.write('\nexit code 3: leaks found. The full sweep reads every '
              'deleted instance; the allocations-only sweep reads only the '
              'rows placement names. nova-manage reads the live instances '
              'of every compute node instead.\n')


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--sizes', default='1000,10000,100000',
                        help='deleted instances per run (default '
                             '1000,10000,100000)')
    parser.add_argument('--hosts', type=int, default=10,
                        help='compute hosts (default 10)')
    parser.add_argument('--live', type=int, default=500,
                        help='live instances with allocations, the same '
                             'at every size (default 500)')
    parser.add_argument('--runs', type=int, default=RUNS,
                        help='runs of each case (default %d)' % RUNS)
    parser.add_argument('--profile', metavar='FILE',
                        help='also profile one full and one '
                             'allocations-only sweep per size and write the '
                             'statistics to FILE.full.SIZE and '
                             'FILE.shared.SIZE')
    args = parser.parse_args()
    try:
        sizes = [int(s) for s in args.sizes.split(',')]
    except ValueError:
        parser.error('--sizes takes numbers separated by commas')
    if min(sizes) < 1 or args.hosts < 1 or args.live < 0 or args.runs < 1:
        parser.error('sizes, --hosts and --runs must be at least 1, --live '
                     'at least 0')
    Bench.hosts = args.hosts
    Bench.live = args.live
    Bench.runs = args.runs
    Bench.profile_path = args.profile
    bench_stats.no_test_timeout()
    demo._send_output_to('bench_sweep.log')
    failed = False
    for size in sizes:
        demo.OUT.write('Seeding %d deleted instances on an in-process '
                       'Nova...\n' % size)
        Bench.size = size
        started = time.perf_counter()
        result = unittest.TextTestRunner(stream=io.StringIO(),
                                         verbosity=0).run(Bench('test_bench'))
        demo.OUT.write('  done in %.0fs\n' % (time.perf_counter() - started))
        for _, trace in result.errors + result.failures:
            demo.OUT.write('\n'.join(trace.splitlines()[-15:]) + '\n')
            failed = True
    report(Bench.results, args.runs)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
