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

"""Shared by the benchmarks: running without a test timeout, and spreads.

The benchmarks drive Nova's functional harness, whose test base (oslotest's
``BaseTestCase``) puts every test under a ``fixtures.Timeout`` of
``OS_TEST_TIMEOUT`` seconds. tox sets that for the test suites; a benchmark
long enough to be steady would be killed by it, so the benchmarks turn it
off for themselves (:func:`no_test_timeout`).
"""

import os
import statistics


def no_test_timeout():
    """No test-runner timeout for the benchmark run in this process.

    oslotest reads ``OS_TEST_TIMEOUT`` when each test starts; 0 means none.
    """
    os.environ['OS_TEST_TIMEOUT'] = '0'


def spread(values):
    """``(min, p50, p95, max)`` of ``values``; p50 is the median.

    The 95th percentile is :func:`statistics.quantiles`' ``inclusive``
    method: interpolated between the two nearest values, never outside
    the values measured.
    """
    if len(values) == 1:
        return (values[0],) * 4
    p95 = statistics.quantiles(values, n=20, method='inclusive')[18]
    return min(values), statistics.median(values), p95, max(values)


def spread_text(values, scale=1.0, fmt='%.1f'):
    """``min/p50/p95/max`` of ``values`` times ``scale``, and the count."""
    text = '/'.join(fmt % (v * scale) for v in spread(values))
    return '%s (n=%d)' % (text, len(values))
