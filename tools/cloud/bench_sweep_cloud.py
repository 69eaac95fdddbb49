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

"""The sweep next to ``nova-manage placement audit`` on the cloud.

Run with the cloud's own Python, once ``tools/cloud/up.sh`` has brought
the cloud up::

    $CLOUD_DIR/venv/bin/python tools/cloud/bench_sweep_cloud.py \\
        [--sizes 1000,10000] [--runs 5]

For each size it adds deleted instances to the cloud's cell database until
it holds that many, in bulk inserts through Nova's database layer: copies
of a row Nova itself created and destroyed, each with four
``system_metadata`` entries, on the cloud's compute host. About 3% of them
keep an allocation in placement, a leak for both tools to find. It then
times, in turns, each as the process an operator starts, with the
nova-api's ``nova.conf`` (the conductor's ``nova.conf`` lacks the
extension's options, not what either tool reads):

* ``nova-delete-ext sweep`` (every kind), and with ``--kinds allocations``;
* ``nova-manage placement audit``;
* ``python -c 'import nova.cmd.manage'``: the start-up every one of these
  processes pays before it does anything;

and, in this process, the placement listing both tools make (one request
per resource provider). Each figure is min/p50/p95/max over ``--runs``
runs, elapsed and the CPU time of the process (user and system). It
measures; it asserts nothing. The seeded rows stay in the database until
``tools/cloud/down.sh --purge``.
"""

import argparse
import datetime
import os
import resource
import subprocess
import sys
import time

from nova.compute import vm_states
from nova import config as nova_config
from nova import context as nova_context
from nova.db.main import api as main_db
from nova.db.main import models
from nova import objects
from oslo_utils import uuidutils
import sqlalchemy as sa

from nova_delete_ext.leaks import providers
from nova_delete_ext.leaks import services

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                os.pardir))
import bench_stats  # noqa: E402  (tools/, beside this folder)

LEAK_EVERY = 33
INSERT_CHUNK = 5000
ALLOCATION_CHUNK = 500  # consumers per POST /allocations
SYS_META = {'image_base_image_ref': 'img-base', 'image_min_disk': '1',
            'image_min_ram': '0', 'boot_roles': 'member,reader'}


def cloud_dir():
    return os.environ.get('CLOUD_DIR') or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir,
        '.cloud')


class Seeder:
    """Deleted rows in the cloud's cell1 database, added size by size."""

    def __init__(self):
        self.ctxt = nova_context.get_admin_context()
        cell = [c for c in objects.CellMappingList.get_all(self.ctxt)
                if c.name == 'cell1'][0]
        self.cell = cell
        with nova_context.target_cell(self.ctxt, cell) as cctxt:
            self.node = objects.ComputeNodeList.get_all(cctxt)[0]
        self.placement = services.Clients().placement
        self.seeded = 0

    def grow_to(self, size):
        inst_t = models.Instance.__table__
        meta_t = models.InstanceSystemMetadata.__table__
        with nova_context.target_cell(self.ctxt, self.cell) as cctxt:
            template = objects.Instance(
                context=cctxt, uuid=uuidutils.generate_uuid(),
                project_id='bench', user_id='bench', host=self.node.host,
                node=self.node.hypervisor_hostname,
                compute_id=self.node.id, vm_state=vm_states.ACTIVE,
                system_metadata=dict(SYS_META))
            template.create()
            template.destroy()
            writer = main_db.get_context_manager(cctxt).writer
            with writer.using(cctxt) as session:
                row = dict(session.execute(inst_t.select().where(
                    inst_t.c.uuid == template.uuid)).mappings().one())
                next_id = session.execute(
                    sa.select(sa.func.max(inst_t.c.id))).scalar() + 1
                next_meta = session.execute(
                    sa.select(sa.func.max(meta_t.c.id))).scalar() + 1
            deleted_at = row['deleted_at'] or datetime.datetime.utcnow()
            leaking = []
            for start in range(self.seeded, size, INSERT_CHUNK):
                rows, metas = [], []
                for number in range(start, min(size, start + INSERT_CHUNK)):
                    ident = next_id + number - self.seeded
                    uuid = uuidutils.generate_uuid()
                    rows.append(dict(row, id=ident, uuid=uuid,
                                     deleted=ident, deleted_at=deleted_at,
                                     vm_state=vm_states.DELETED,
                                     hostname='bench-%d' % number))
                    for key, value in SYS_META.items():
                        metas.append(dict(
                            id=next_meta, instance_uuid=uuid, key=key,
                            value=value, deleted=next_meta,
                            created_at=row['created_at'],
                            deleted_at=deleted_at))
                        next_meta += 1
                    if number % LEAK_EVERY == 0:
                        leaking.append(uuid)
                with writer.using(cctxt) as session:
                    session.execute(inst_t.insert(), rows)
                    session.execute(meta_t.insert(), metas)
        allocate(self.placement, [(uuid, self.node.uuid, {'MEMORY_MB': 8})
                                  for uuid in leaking])
        self.seeded = size


def check(resp, what, codes=(200, 201, 204)):
    """``resp``, once placement has answered with one of ``codes``."""
    if resp.status_code not in codes:
        raise RuntimeError('placement refused %s: %s %s'
                           % (what, resp.status_code, resp.text))
    return resp


def allocate(placement, allocations):
    """Each ``(consumer, provider, resources)`` of ``allocations``, in bulk."""
    for start in range(0, len(allocations), ALLOCATION_CHUNK):
        body = {consumer: {
            'allocations': {provider: {'resources': resources}},
            'project_id': 'bench', 'user_id': 'bench',
            'consumer_generation': None}
            for consumer, provider, resources in
            allocations[start:start + ALLOCATION_CHUNK]}
        check(placement.post('/allocations', body, version='1.28'),
              'the allocations', (204,))


def timed_process(argv):
    """Elapsed and CPU seconds of a child process, and its exit code."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime +
           after.ru_stime - before.ru_stime)
    return elapsed, cpu, proc.returncode


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--sizes', default='1000,10000')
    parser.add_argument('--runs', type=int, default=5)
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(','))
    conf = os.path.join(cloud_dir(), 'etc', 'nova', 'api', 'nova.conf')
    bin_dir = os.path.dirname(sys.executable)
    # With RPC, as the cell mappings name the cells' transport URLs.
    nova_config.parse_args(['bench', '--config-file', conf])
    objects.register_all()
    seeder = Seeder()
    work = {
        'full sweep': [os.path.join(bin_dir, 'nova-delete-ext'), 'sweep',
                       '--config-file', conf, '--format', 'json'],
        'allocations-only sweep': [
            os.path.join(bin_dir, 'nova-delete-ext'), 'sweep',
            '--config-file', conf, '--format', 'json',
            '--kinds', 'allocations'],
        'nova-manage placement audit': [
            os.path.join(bin_dir, 'nova-manage'), '--config-file', conf,
            'placement', 'audit'],
        'start-up (import nova.cmd.manage)': [
            sys.executable, '-c', 'import nova.cmd.manage'],
    }
    for size in sizes:
        started = time.perf_counter()
        seeder.grow_to(size)
        print('%d deleted instances (seeded in %.0f s); load average %s'
              % (size, time.perf_counter() - started,
                 '/'.join('%.1f' % v for v in os.getloadavg())), flush=True)
        times = {name: ([], [], set()) for name in work}
        listing = []
        for _ in range(args.runs):
            for name, argv in work.items():
                elapsed, cpu, code = timed_process(argv)
                times[name][0].append(elapsed)
                times[name][1].append(cpu)
                times[name][2].add(code)
            begun = time.perf_counter()
            providers.allocations_by_consumer(seeder.ctxt, services.Clients(),
                                              1)
            listing.append(time.perf_counter() - begun)
        for name, (elapsed, cpu, codes) in times.items():
            print('  %-34s elapsed %s, CPU %s, exit %s' % (
                name, bench_stats.spread_text(elapsed, 1000, '%.0f'),
                bench_stats.spread_text(cpu, 1000, '%.0f'),
                ','.join(str(c) for c in sorted(codes))))
        print('  %-34s elapsed %s' % (
            'placement listing (in process)',
            bench_stats.spread_text(listing, 1000, '%.0f')))
        print('  load average after: %s' % '/'.join(
            '%.1f' % v for v in os.getloadavg()), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
