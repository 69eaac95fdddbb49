#!/usr/bin/env python3
"""How much the extension adds to a delete, on the in-process Nova.

In one run, deletes active servers with the hooks installed and without
(in alternating rounds, so drift of the machine hits both alike), and
prints the median duration of the DELETE request in each case, their
ratio, and the extension's own synchronous time per delete, measured
around every extension function that runs on the delete path.

    python tools/bench_overhead.py [--deletes N] [--policies NAMES]

With ``--policies`` (any of protect, capture, verify) the timed deletes run
with those policies in force, their synchronous work counted as the
extension's own; verify's checks run after the delete, off its path.

Run it with ``tox -e bench``. It measures; it asserts nothing.
"""

import argparse
import statistics
import sys
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

# recycle turns the delete into a soft delete: nothing to compare.
BENCH_POLICIES = ('protect', 'capture', 'verify')


class _Stopwatch:
    """Adds up the time spent inside a set of functions."""

    def __init__(self):
        self.total = 0.0

    def around(self, owner, name):
        original = getattr(owner, name)

        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.total += time.perf_counter() - started
        setattr(owner, name, timed)
        return lambda: setattr(owner, name, original)


class Bench(scenarios.ServerStates, base.DeleteExtTestBase):

    deletes = 40
    rounds = 4
    policy_names = ()

    def timed_delete(self):
        server = self.boot()
        started = time.perf_counter()
        self.api.delete_server(server['id'])
        elapsed = time.perf_counter() - started
        self._wait_until_deleted(server)
        return elapsed

    def test_bench(self):
        watch = _Stopwatch()
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
        with_ext, without_ext = [], []
        per_round = max(1, self.deletes // self.rounds)
        for number in range(self.rounds):
            # Alternate which case goes first: the database grows as the
            # run goes on, and neither case should always come later.
            cases = [(hooks.uninstall, without_ext), (hooks.install, with_ext)]
            if number % 2:
                cases.reverse()
            for switch, durations in cases:
                switch()
                durations += [self.timed_delete() for _ in range(per_round)]
            demo.OUT.write('round %d/%d done\n' % (number + 1, self.rounds))
        report(with_ext, without_ext, watch.total / len(with_ext))


def report(with_ext, without_ext, own):
    median_with = statistics.median(with_ext) * 1000
    median_without = statistics.median(without_ext) * 1000
    own_ms = own * 1000
    demo.OUT.write(
        '\npolicies:                            %s\n'
        'deletes per case:                    %d\n'
        'median DELETE, extension installed:  %.1f ms\n'
        'median DELETE, without extension:    %.1f ms\n'
        'ratio with/without:                  %.3f\n'
        "extension's own time per delete:     %.3f ms (%.2f%% of the "
        'median delete)\n'
        % (','.join(Bench.policy_names) or '-', len(with_ext), median_with,
           median_without,
           median_with / median_without, own_ms,
           100.0 * own_ms / median_with))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--deletes', type=int, default=40,
                        help='deletes per case (default 40)')
    parser.add_argument('--policies', default='',
                        help='comma-separated policies in force, among %s'
                        % ', '.join(BENCH_POLICIES))
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
    demo._send_output_to('bench_overhead.log')
    demo.OUT.write('Booting an in-process Nova...\n')
    result = unittest.TextTestRunner(stream=open('/dev/null', 'w'),
                                     verbosity=0).run(Bench('test_bench'))
    for _, trace in result.errors + result.failures:
        demo.OUT.write('\n'.join(trace.splitlines()[-12:]) + '\n')
    return 0 if result.wasSuccessful() else 1


if __name__ == '__main__':
    sys.exit(main())
