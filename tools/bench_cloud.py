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

"""What the extension adds to a delete on the multi-process cloud.

Against the cloud of ``tools/cloud`` (already up), with real Keystone
tokens, HTTP and RPC: in each round, nova-api and nova-compute are
restarted with the extension activated (``[delete_ext]policies`` from
``--policies``) and then without it (no ``nova_delete_ext`` driver at all),
in alternating order; in each case ``--deletes`` servers are booted (not
timed), then deleted one after the other, timing

* the ``DELETE /servers/{id}`` request, until its 204, and
* the complete delete: from sending the request until ``GET`` answers 404.

It prints min/p50/p95/max (and n) of each, per case, and the ratio and the
difference of the p50s. Runs to completion at any size: nothing here has a
time limit but the per-request ones of the HTTP client. Standard library
only, like the cloud scripts::

    tools/cloud/up.sh
    python3 tools/bench_cloud.py --deletes 20 --rounds 3
"""

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, 'cloud'))
sys.path.insert(0, HERE)

import bench_stats  # noqa: E402
import cloud  # noqa: E402
from functions import http  # noqa: E402
from functions import load_state  # noqa: E402
from lib import keystone  # noqa: E402
from settings import url  # noqa: E402

WITH, WITHOUT = 'with the extension', 'without it'


def _restart():
    # restart writes nova.conf from CLOUD_EXTENSION and CLOUD_POLICIES.
    cloud.restart(argparse.Namespace(services=['nova-api', 'nova-compute'],
                                     kill=False))


def _use(case, policies):
    if case == WITH:
        os.environ['CLOUD_EXTENSION'] = '1'
        os.environ['CLOUD_POLICIES'] = policies
    else:
        os.environ['CLOUD_EXTENSION'] = '0'
    _restart()


def _boot(token, state, count):
    ids = []
    for n in range(count):
        _, _, body = http('POST', url('nova', '/v2.1/servers'), {
            'server': {'name': 'bench-%d' % n, 'flavorRef': '1',
                       'imageRef': state['images'][0],
                       'networks': [{'uuid': state['network']}]}},
            token=token, ok=(202,))
        ids.append(body['server']['id'])
    for server_id in ids:
        _wait(token, server_id, lambda body: body and
              body['server']['status'] in ('ACTIVE', 'ERROR'), 300)
        status = _get(token, server_id)[1]['server']['status']
        if status != 'ACTIVE':
            raise SystemExit('server %s went to %s' % (server_id, status))
    return ids


def _get(token, server_id):
    code, _, body = http(
        'GET', url('nova', '/v2.1/servers/%s' % server_id),
        token=token, ok=(200, 404))
    return code, body


def _wait(token, server_id, test, timeout, interval=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code, body = _get(token, server_id)
        if test(body if code == 200 else None):
            return
        time.sleep(interval)
    raise SystemExit('server %s: not done after %d s' % (server_id, timeout))


def _delete_each(token, ids):
    """``[(request s, complete s)]`` of deleting ``ids`` one by one."""
    times = []
    for server_id in ids:
        started = time.monotonic()
        http('DELETE', url('nova', '/v2.1/servers/%s' % server_id),
             token=token, ok=(204,))
        answered = time.monotonic()
        _wait(token, server_id, lambda body: body is None, 300)
        times.append((answered - started, time.monotonic() - started))
    return times


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--deletes', type=int, default=20,
                        help='servers deleted per case and round')
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--policies', default='protect,capture,verify')
    args = parser.parse_args(argv)
    state = load_state()
    if not state.get('images') or not state.get('network'):
        raise SystemExit('the cloud is not up: run tools/cloud/up.sh')
    results = {WITH: [], WITHOUT: []}
    try:
        for number in range(args.rounds):
            order = (WITH, WITHOUT) if number % 2 == 0 else (WITHOUT, WITH)
            for case in order:
                _use(case, args.policies)
                token = keystone.admin_token()
                ids = _boot(token, state, args.deletes)
                results[case] += _delete_each(token, ids)
                print('round %d, %s: %d deletes' % (number + 1, case,
                                                    args.deletes))
    finally:
        # Leave the cloud as the guide configures it.
        os.environ.pop('CLOUD_EXTENSION', None)
        os.environ.pop('CLOUD_POLICIES', None)
        _restart()
    _report(results, args, os.getloadavg())
    return 0


def _report(results, args, load):
    print('\nDeletes on the cloud, ms, min/p50/p95/max; policies %s; '
          'load average at the end %.1f/%.1f/%.1f'
          % (args.policies, load[0], load[1], load[2]))
    p50 = {}
    for index, what in enumerate(('DELETE request', 'complete delete')):
        for case in (WITH, WITHOUT):
            values = [each[index] for each in results[case]]
            p50[what, case] = bench_stats.spread(values)[1]
            print('  %-16s %-20s %s' % (what, case, bench_stats.spread_text(
                values, scale=1000.0)))
        with_, without = p50[what, WITH], p50[what, WITHOUT]
        print('  %-16s p50 with / without: %.3f, difference %+.1f ms'
              % (what, with_ / without, (with_ - without) * 1000.0))


if __name__ == '__main__':
    sys.exit(main())
