"""Shared by the benchmarks: running without a test timeout, and spreads.

The benchmarks drive Nova's functional harness, whose test base (oslotest's
``BaseTestCase``) puts every test under a ``fixtures.Timeout`` of
``OS_TEST_TIMEOUT`` seconds. tox sets that for the test suites; a benchmark
long enough to be steady would be killed by it, so the benchmarks turn it
off for themselves (:func:`no_test_timeout`).
"""

import math
import os


def no_test_timeout():
    """No test-runner timeout for the benchmark run in this process.

    oslotest reads ``OS_TEST_TIMEOUT`` when each test starts; 0 means none.
    """
    os.environ['OS_TEST_TIMEOUT'] = '0'


def percentile(values, fraction):
    """The ``fraction`` percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def spread(values):
    """``(min, p50, p95, max)`` of ``values``; p50 is the median."""
    ordered = sorted(values)
    count = len(ordered)
    middle = count // 2
    median = (ordered[middle] if count % 2
              else (ordered[middle - 1] + ordered[middle]) / 2.0)
    return ordered[0], median, percentile(ordered, 0.95), ordered[-1]


def spread_text(values, scale=1.0, fmt='%.1f'):
    """``min/p50/p95/max`` of ``values`` times ``scale``, and the count."""
    text = '/'.join(fmt % (v * scale) for v in spread(values))
    return '%s (n=%d)' % (text, len(values))
