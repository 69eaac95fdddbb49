#!/usr/bin/env python3
"""How fast ``nova-delete-ext sweep`` sweeps, next to nova-manage.

For each size (default 1,000 and 10,000 deleted instances) it starts an
in-process Nova with several compute hosts, writes the instances straight
into the cell database through Nova's objects (created, then destroyed),
and makes a few percent of them leak for real: placement allocations held
by their uuid, Neutron ports still naming them, Cinder attachments and
shelve snapshots. The same number of live instances, with their
allocations, stands beside them at every size: the cloud keeps its size
while its history of deletes grows. It then prints, per size:

* the full sweep (every kind): instances per second;
* the shared work, orphaned allocations: the sweep limited to
  ``--kinds allocations`` and ``nova-manage placement audit``
  (``PlacementCommands.audit``, in-process) on the same data, and the
  ratio of their times;
* the part of that work neither tool can avoid: reading the allocations
  of every resource provider from placement, one request per provider (as
  placement has no query by many consumers), timed on its own;
* the peak memory Python allocated during the full sweep (tracemalloc, in
  a run of its own, as tracing slows the sweep down).

Each time is the median of five runs, the tools taking turns.

    python tools/bench_sweep.py [--sizes 1000,10000] [--hosts 10] [--live 500]

It measures; it asserts nothing.
"""

import argparse
import collections
import contextlib
import io
import statistics
import sys
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
from nova import objects
from nova.tests import fixtures as nova_fixtures
from oslo_utils import uuidutils

from nova_delete_ext.cmd import sweep as sweep_cmd
from nova_delete_ext.leaks import index as leak_index
from nova_delete_ext.leaks import services

LEAK_EVERY = 33  # about 3% of the deleted instances leak, each one kind
RUNS = 5  # each time printed is the median of this many runs


class Bench(test_sweep.SweepTestBase):

    size = 1000
    hosts = 10
    live = 500
    results = []

    def test_bench(self):
        self.make_deployment()
        work = {
            'full': (sweep_cmd.main, ['--format', 'json']),
            'shared': (sweep_cmd.main,
                       ['--format', 'json', '--kinds', 'allocations']),
            'nova_manage': (manage.PlacementCommands().audit,),
            'listing': (leak_index.allocations_by_consumer,
                        nova_context.get_admin_context(),
                        services.Clients().placement),
        }
        # In alternation, so that drift of the machine affects all alike.
        times = collections.defaultdict(list)
        result = dict(size=self.size)
        for _ in range(RUNS):
            for name, (func, *args) in work.items():
                seconds, outcome = self.timed(func, *args)
                times[name].append(seconds)
                if name != 'listing':
                    result[name + '_code'] = outcome
        result.update((name, statistics.median(seconds))
                      for name, seconds in times.items())
        # Traced apart, as tracing slows the sweep down.
        tracemalloc.start()
        self.timed(*work['full'])
        result['peak'] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        self.results.append(result)

    @staticmethod
    def timed(func, *args):
        with contextlib.redirect_stdout(io.StringIO()):
            started = time.perf_counter()
            code = func(*args)
            return time.perf_counter() - started, code

    def make_deployment(self):
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
            for number in range(self.live):
                self.instance(cctxt, number, allocate=True)
            for number in range(self.size):
                self.deleted(cctxt, number)

    def instance(self, cctxt, number, allocate=False, sys_meta=None):
        host = 'host%d' % (number % self.hosts)
        inst = objects.Instance(
            context=cctxt, uuid=uuidutils.generate_uuid(),
            project_id='p%d' % (number % 7), user_id='u',
            host=host, node=host, compute_id=self.node_ids[host],
            vm_state=vm_states.ACTIVE,
            system_metadata=sys_meta or {})
        inst.create()
        if allocate:
            self.allocate(inst)
        return inst

    def allocate(self, inst):
        body = {'allocations': {self.providers[inst.host]: {
            'resources': {'MEMORY_MB': 8}}},
            'project_id': inst.project_id, 'user_id': inst.user_id,
            'consumer_generation': None}
        resp = self.placement.put('/allocations/%s' % inst.uuid, body,
                                  version='1.28')
        if resp.status != 204:
            raise RuntimeError('placement refused the allocation: %s %s'
                               % (resp.status, resp.content))

    def deleted(self, cctxt, number):
        kind = (number // LEAK_EVERY) % 4 if number % LEAK_EVERY == 0 \
            else None
        sys_meta = None
        if kind == 3:
            image = self.glance.create(None, {'name': 'shelved',
                                              'properties': {}})
            sys_meta = {'shelved_image_id': image['id']}
        inst = self.instance(cctxt, number, sys_meta=sys_meta)
        if kind == 0:
            self.allocate(inst)
        elif kind == 1:
            self.neutron.create_port({'port': {
                'device_id': inst.uuid, 'device_owner': 'compute:nova',
                'network_id': nova_fixtures.NeutronFixture.network_1['id']}})
        elif kind == 2:
            self.cinder.create_vol_attachment(
                nova_fixtures.CinderFixture.IMAGE_BACKED_VOL, inst.uuid)
        elif kind == 3:
            image['properties']['instance_uuid'] = inst.uuid
        inst.destroy()


def report(results):
    out = demo.OUT
    out.write('\n%8s %6s %11s %12s %12s %12s %6s %9s %9s\n' % (
        'deleted', 'code', 'full sweep', 'instances/s', 'allocations',
        'nova-manage', 'ratio', 'listing', 'peak MiB'))
    for r in results:
        out.write('%8d %6s %10.2fs %12.0f %11.2fs %11.2fs %5.1fx %8.2fs '
                  '%9.1f\n' % (
                      r['size'], r['full_code'], r['full'],
                      r['size'] / r['full'], r['shared'], r['nova_manage'],
                      r['nova_manage'] / r['shared'], r['listing'],
                      r['peak'] / 2 ** 20))
    out.write('\ncode: exit code of the full sweep (3: leaks found). '
              'allocations: the sweep with --kinds allocations; '
              'nova-manage: placement audit on the same data; '
              'ratio: nova-manage time / sweep time on that shared work; '
              'listing: reading every provider\'s allocations, which both '
              'tools do.\n'
              'exit codes, allocations sweep / nova-manage: %s\n'
              % ', '.join('%s/%s' % (r['shared_code'], r['nova_manage_code'])
                          for r in results))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--sizes', default='1000,10000',
                        help='deleted instances per run (default '
                             '1000,10000)')
    parser.add_argument('--hosts', type=int, default=10,
                        help='compute hosts (default 10)')
    parser.add_argument('--live', type=int, default=500,
                        help='live instances with allocations, the same '
                             'at every size (default 500)')
    args = parser.parse_args()
    try:
        sizes = [int(s) for s in args.sizes.split(',')]
    except ValueError:
        parser.error('--sizes takes numbers separated by commas')
    if min(sizes) < 1 or args.hosts < 1 or args.live < 0:
        parser.error('sizes and --hosts must be at least 1, --live at '
                     'least 0')
    Bench.hosts = args.hosts
    Bench.live = args.live
    demo._send_output_to('bench_sweep.log')
    failed = False
    for size in sizes:
        demo.OUT.write('Building %d deleted instances on an in-process '
                       'Nova...\n' % size)
        Bench.size = size
        started = time.perf_counter()
        result = unittest.TextTestRunner(stream=io.StringIO(),
                                         verbosity=0).run(Bench('test_bench'))
        demo.OUT.write('  done in %.0fs\n' % (time.perf_counter() - started))
        for _, trace in result.errors + result.failures:
            demo.OUT.write('\n'.join(trace.splitlines()[-15:]) + '\n')
            failed = True
    report(Bench.results)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
