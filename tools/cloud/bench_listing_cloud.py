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

"""Placement's listing, one provider at a time or several at once.

Run with the cloud's own Python, once ``tools/cloud/up.sh`` has brought
the cloud up::

    $CLOUD_DIR/venv/bin/python tools/cloud/bench_listing_cloud.py \\
        [--providers 50] [--consumers 40] [--concurrency 1,2,4] [--runs 11]

A sweep, like ``nova-manage placement audit``, reads every resource
provider's allocations, one request per provider: placement has no query
by many consumers. The cloud has one compute host, so one provider; this
adds ``--providers`` more to the cloud's placement, as a cloud of that
many hosts has, each with an inventory and the allocations of
``--consumers`` made-up consumers. It then times, in turns, the sweep's
own listing (:func:`nova_delete_ext.leaks.providers.allocations_by_consumer`)
at each ``--concurrency`` (``nova-delete-ext sweep
--placement-concurrency``): 1 is one request after the other, as
``nova-manage placement audit`` reads. Placement serves them with
``CLOUD_PLACEMENT_WORKERS`` worker processes (``up.sh`` again with
another value restarts it).

It prints min/p50/p95/max (and n) of each, and each p50 against the
listing's, then removes what it added (allocations, then providers). It
measures; it asserts nothing.
"""

import argparse
import os
import sys
import time

from nova import config as nova_config
from nova import context as nova_context
from oslo_utils import uuidutils

from nova_delete_ext.leaks import providers
from nova_delete_ext.leaks import services

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                os.pardir))
import bench_stats  # noqa: E402  (tools/, beside this folder)
import bench_sweep_cloud  # noqa: E402


class Providers:
    """Resource providers with allocations, added and then removed."""

    def __init__(self, placement):
        self.placement = placement
        self.providers = []
        self.consumers = []

    def add(self, count, consumers_each):
        allocations = []
        for number in range(count):
            uuid = uuidutils.generate_uuid()
            bench_sweep_cloud.check(self.placement.post(
                '/resource_providers',
                {'uuid': uuid, 'name': 'bench-listing-%d-%s'
                 % (number, uuid[:8])}, version='1.20'), 'a provider')
            self.providers.append(uuid)
            bench_sweep_cloud.check(self.placement.put(
                '/resource_providers/%s/inventories' % uuid,
                {'resource_provider_generation': 0,
                 'inventories': {'MEMORY_MB': {'total': 10 ** 7},
                                 'VCPU': {'total': 10 ** 5}}},
                version='1.20'), 'an inventory')
            allocations += [(uuidutils.generate_uuid(), uuid,
                             {'MEMORY_MB': 512, 'VCPU': 1})
                            for _ in range(consumers_each)]
        # Removed in the end even if placement refuses some of them.
        self.consumers = [consumer for consumer, _, _ in allocations]
        bench_sweep_cloud.allocate(self.placement, allocations)

    def remove(self):
        for consumer in self.consumers:
            bench_sweep_cloud.check(
                self.placement.delete('/allocations/%s' % consumer),
                'an allocation', (204, 404))
        for uuid in self.providers:
            bench_sweep_cloud.check(
                self.placement.delete('/resource_providers/%s' % uuid),
                'a provider', (204, 404))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--providers', type=int, default=50)
    parser.add_argument('--consumers', type=int, default=40,
                        help='allocations on each provider added')
    parser.add_argument('--concurrency', default='1,2,4',
                        help='requests at a time to time, as the sweep\'s '
                             '--placement-concurrency (1: one provider '
                             'after the other)')
    parser.add_argument('--runs', type=int, default=11)
    args = parser.parse_args()
    levels = sorted({int(level) for level in args.concurrency.split(',')})
    if levels[0] < 1 or args.providers < 0 or args.runs < 1:
        parser.error('--concurrency and --runs take numbers from 1, '
                     '--providers from 0')
    conf = os.path.join(bench_sweep_cloud.cloud_dir(), 'etc', 'nova', 'api',
                        'nova.conf')
    nova_config.parse_args(['bench', '--config-file', conf])
    context = nova_context.get_admin_context()
    # The sweep's own clients, with its time limit per request.
    clients = services.Clients(timeout=30)
    added = Providers(clients.placement)
    try:
        started = time.perf_counter()
        added.add(args.providers, args.consumers)
        print('%d providers with %d allocations each added in %.0f s; '
              'load average %s' % (
                  args.providers, args.consumers,
                  time.perf_counter() - started,
                  '/'.join('%.1f' % v for v in os.getloadavg())),
              flush=True)
        times = {level: [] for level in levels}
        for _ in range(args.runs):
            for level in levels:
                begun = time.perf_counter()
                found = providers.allocations_by_consumer(context, clients,
                                                          level)
                times[level].append(time.perf_counter() - begun)
                if len(found) < len(added.consumers):
                    raise RuntimeError('the listing missed allocations')
        base = bench_stats.spread(times[levels[0]])[1]
        for level in levels:
            name = ('one request at a time' if level == 1
                    else '%d requests at a time' % level)
            print('  %-24s %s  %.2f of the first at p50' % (
                name, bench_stats.spread_text(times[level], 1000, '%.0f'),
                bench_stats.spread(times[level])[1] / base))
        print('  load average after: %s' % '/'.join(
            '%.1f' % v for v in os.getloadavg()), flush=True)
    finally:
        added.remove()
    return 0


if __name__ == '__main__':
    sys.exit(main())
