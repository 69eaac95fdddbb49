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

"""How much the extension adds to a delete, on the in-process Nova.

In one run, deletes active servers with the hooks installed and without
(in alternating rounds, so drift of the machine hits both alike), and
prints the median duration of the DELETE request in each case, their
ratio, and the extension's own synchronous time per delete, measured
around every extension function that runs on the delete path.

    python tools/bench_overhead.py [--deletes N] [--policies NAMES]
                                   [--profile FILE]

With ``--policies`` (any of protect, capture, verify) the timed deletes run
with those policies in force, their synchronous work counted as the
extension's own; verify's checks run after the delete, off its path.

Every figure comes with its spread over the deletes: min/p50/p95/max and
their number. It also gives CPU times on the thread that serves the DELETE
in nova-api, the whole request's and the extension's part of it: on a
busy machine they hold where elapsed times grow with the wait for a CPU.

``--profile FILE`` also profiles (cProfile) the extension's functions that
run in nova-api's request, writes the statistics to FILE (``python -m
pstats FILE``) and prints the costliest calls.

Run it with ``tox -e bench``; no test timeout applies, so any ``--deletes``
runs to its end. It measures; it asserts nothing.
"""

import argparse
import cProfile
import io
import pstats
import statistics
import sys
import threading
import time
import unittest

# Chooses eventlet or threading before anything else is imported.
from nova_delete_ext.tests.functional import base  # noqa: I100
from nova_delete_ext.tests.functional import demo
from nova_delete_ext.tests.functional import scenarios

from nova_delete_ext import hooks
from nova_delete_ext.hooks import decide
from nova_delete_ext.record import attempt
from nova_delete_ext.record import release
from nova_delete_ext.record import sysmeta

import bench_stats

# recycle turns the delete into a soft delete: nothing to compare.
BENCH_POLICIES = ('protect', 'capture', 'verify')


class _Stopwatch:
    """Adds up the time spent inside a set of functions."""

    def __init__(self, profiler=None):
        self.total = 0.0
        #: CPU time of the timed calls made in the main thread, where the
        #: in-process nova-api serves the requests: unlike the elapsed
        #: time, it does not grow while the thread waits for a busy CPU.
        self.api_cpu = 0.0
        #: Profiles the timed calls made in the main thread, which is where
        #: the in-process nova-api serves the benchmark's requests.
        self.profiler = profiler

    def around(self, owner, name):
        original = getattr(owner, name)

        def timed(*args, **kwargs):
            api = threading.current_thread() is threading.main_thread()
            profile = self.profiler is not None and api
            if profile:
                self.profiler.enable()
            cpu = time.thread_time()
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.total += time.perf_counter() - started
                if api:
                    self.api_cpu += time.thread_time() - cpu
                if profile:
                    self.profiler.disable()
        setattr(owner, name, timed)
        return lambda: setattr(owner, name, original)


class Bench(scenarios.ServerStates, base.DeleteExtTestBase):

    deletes = 40
    rounds = 4
    policy_names = ()
    profile_path = None

    def timed_delete(self, watch):
        """Times of one delete, in seconds.

        The DELETE's duration, the extension's time in that delete (which
        includes its work on the compute host, done by the time the server
        is gone), and the CPU time of the DELETE request in nova-api and
        of the extension in that request.
        """
        server = self.boot()
        own_before, own_cpu_before = watch.total, watch.api_cpu
        cpu = time.thread_time()
        started = time.perf_counter()
        self.api.delete_server(server['id'])
        elapsed = time.perf_counter() - started
        cpu = time.thread_time() - cpu
        own_cpu = watch.api_cpu - own_cpu_before
        self._wait_until_deleted(server)
        return elapsed, watch.total - own_before, cpu, own_cpu

    def test_bench(self):
        profiler = cProfile.Profile() if self.profile_path else None
        watch = _Stopwatch(profiler)
        # The extension's own code on the delete path; sinks.emit nests in
        # Attempt.finish, so it is not timed twice.
        for owner, name in ((attempt, 'begin'),
                            (attempt.Attempt, 'finish'),
                            (sysmeta, 'stash'), (sysmeta, 'read'),
                            (release, 'plan'), (decide, 'on_request'),
                            (decide, 'before_destroy')):
            self.addCleanup(watch.around(owner, name))
        if self.policy_names:
            self.use_policies(*self.policy_names, delete_ext_capture={
                'directory': self.temp_dir})
        self.boot()  # warm-up: first build and delete pay one-off costs
        with_ext, without_ext, own = [], [], []
        cpu = {'with': [], 'without': [], 'own': []}
        per_round = max(1, self.deletes // self.rounds)
        for number in range(self.rounds):
            # Alternate which case goes first: the database grows as the
            # run goes on, and neither case should always come later.
            cases = [(hooks.uninstall, without_ext), (hooks.install, with_ext)]
            if number % 2:
                cases.reverse()
            for switch, durations in cases:
                switch()
                for _ in range(per_round):
                    elapsed, own_time, request_cpu, own_cpu = \
                        self.timed_delete(watch)
                    durations.append(elapsed)
                    if durations is with_ext:
                        own.append(own_time)
                        cpu['with'].append(request_cpu)
                        cpu['own'].append(own_cpu)
                    else:
                        cpu['without'].append(request_cpu)
            demo.OUT.write('round %d/%d done\n' % (number + 1, self.rounds))
        report(with_ext, without_ext, own, cpu)
        if profiler is not None:
            profiler.dump_stats(self.profile_path)
            text = io.StringIO()
            stats = pstats.Stats(profiler, stream=text)
            stats.sort_stats('cumulative').print_stats(30)
            demo.OUT.write('\nProfile of the extension in nova-api (%d '
                           'deletes), written to %s:\n%s'
                           % (len(with_ext), self.profile_path,
                              text.getvalue()))


def report(with_ext, without_ext, own, cpu):
    median_with = statistics.median(with_ext) * 1000
    median_without = statistics.median(without_ext) * 1000
    own_ms = statistics.mean(own) * 1000
    demo.OUT.write(
        '\npolicies:                            %s\n'
        'deletes per case:                    %d\n'
        'median DELETE, extension installed:  %.1f ms\n'
        'median DELETE, without extension:    %.1f ms\n'
        'ratio with/without:                  %.3f\n'
        "extension's own time per delete:     %.3f ms mean (%.2f%% of the "
        'median delete)\n'
        '\nspread, ms: min/p50/p95/max (number of deletes)\n'
        '  DELETE, extension installed:       %s\n'
        '  DELETE, without extension:         %s\n'
        "  extension's own time:              %s\n"
        % (','.join(Bench.policy_names) or '-', len(with_ext), median_with,
           median_without,
           median_with / median_without, own_ms,
           100.0 * own_ms / median_with,
           bench_stats.spread_text(with_ext, 1000),
           bench_stats.spread_text(without_ext, 1000),
           bench_stats.spread_text(own, 1000, '%.3f')))
    median_cpu = statistics.median(cpu['with']) * 1000
    own_cpu = statistics.mean(cpu['own']) * 1000
    demo.OUT.write(
        '\nCPU time in nova-api, the thread serving the DELETE request:\n'
        '  median DELETE, extension installed: %.2f ms\n'
        '  median DELETE, without extension:   %.2f ms\n'
        "  extension's own, per delete:        %.3f ms mean (%.2f%% of "
        'the median DELETE)\n'
        '  spread, ms: with %s; without %s; own %s\n'
        % (median_cpu, statistics.median(cpu['without']) * 1000, own_cpu,
           100.0 * own_cpu / median_cpu,
           bench_stats.spread_text(cpu['with'], 1000, '%.2f'),
           bench_stats.spread_text(cpu['without'], 1000, '%.2f'),
           bench_stats.spread_text(cpu['own'], 1000, '%.3f')))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--deletes', type=int, default=40,
                        help='deletes per case (default 40)')
    parser.add_argument('--policies', default='',
                        help='comma-separated policies in force, among %s'
                        % ', '.join(BENCH_POLICIES))
    parser.add_argument('--profile', metavar='FILE',
                        help="profile the extension's calls in nova-api "
                             'and write the statistics to FILE')
    args = parser.parse_args()
    if args.deletes < 1:
        parser.error('--deletes must be at least 1')
    names = tuple(n for n in args.policies.split(',') if n)
    unknown = sorted(set(names) - set(BENCH_POLICIES))
    if unknown:
        parser.error('--policies: %s not among %s' % (
            ', '.join(unknown), ', '.join(BENCH_POLICIES)))
    Bench.deletes = args.deletes
    Bench.policy_names = names
    Bench.profile_path = args.profile
    bench_stats.no_test_timeout()
    demo._send_output_to('bench_overhead.log')
    demo.OUT.write('Booting an in-process Nova...\n')
    result = unittest.TextTestRunner(stream=open('/dev/null', 'w'),
                                     verbosity=0).run(Bench('test_bench'))
    for _, trace in result.errors + result.failures:
        demo.OUT.write('\n'.join(trace.splitlines()[-12:]) + '\n')
    return 0 if result.wasSuccessful() else 1


if __name__ == '__main__':
    sys.exit(main())
