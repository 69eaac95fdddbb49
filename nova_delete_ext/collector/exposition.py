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

"""prometheus-client collectors of the totals, the health and the gauges.

Custom collectors (prometheus-client's ``Collector`` protocol) turn the
values already in memory into metric families. The counters of the
records are most of the text of a scrape (a series per label combination,
hundreds) and change only when the totals are read again:
:class:`.server.App` renders them once per read, and each scrape renders
only the rest.
"""

import prometheus_client
from prometheus_client import core

from nova_delete_ext.collector import poll
from nova_delete_ext.collector import totals

_COUNTERS = {
    totals.DELETES: 'Deletes recorded, by the vm_state the server was in, '
                    'the path Nova took, how it ended and the service '
                    'that recorded it.',
    totals.REFUSALS: 'Deletes a policy refused, by that policy.',
    totals.RESTORES: 'Restores of soft-deleted servers, by how they ended.',
    totals.CHECKS: 'Checks after deletes (the verify policy), by how they '
                   'ended.',
    totals.LEAKS_FOUND: 'Resources deletes left behind, found by checks, '
                        'by kind.',
    totals.LEAKS_REPAIRED: 'Resources deletes left behind that checks '
                           'removed, by kind.',
}
_DURATION_DOC = ('Seconds the process that did a delete spent on it, by '
                 'path.')

#: The listener's counters: (attribute of the health object, metric, doc).
HEALTH_COUNTERS = (
    ('received', 'nova_delete_ext_collector_messages_received_total',
     'Notifications this collector received since it started.'),
    ('stored', 'nova_delete_ext_collector_records_stored_total',
     'Records this collector stored since it started.'),
    ('duplicates', 'nova_delete_ext_collector_duplicates_total',
     'Records this collector received that were stored already.'),
    ('malformed', 'nova_delete_ext_collector_malformed_total',
     'Messages this collector acknowledged without a record it could '
     'store.'),
    ('requeued', 'nova_delete_ext_collector_requeued_total',
     'Messages this collector gave back to the broker as the store '
     'failed.'),
    ('store_failures', 'nova_delete_ext_collector_store_failures_total',
     'Batches the record store did not take (retried).'),
)


def _timestamp(value):
    """Seconds since the epoch of a datetime or a number, or None."""
    if value is None:
        return None
    if hasattr(value, 'timestamp'):
        return value.timestamp()
    return float(value)


class TotalsCollector:
    """The counters of the records, from the totals cache."""

    def __init__(self, cache):
        self.cache = cache

    def collect(self):
        by_name = {}
        for (name, labels), value in self.cache.values.items():
            by_name.setdefault(name, []).append((labels, value))
        for name, doc in _COUNTERS.items():
            family = core.Metric(name[:-len('_total')], doc, 'counter')
            for labels, value in sorted(by_name.get(name, ())):
                family.add_sample(name, dict(labels), value)
            yield family
        yield self._histogram(by_name)
        read_at = self.cache.read_at
        if read_at is not None:
            yield core.GaugeMetricFamily(
                'nova_delete_ext_collector_totals_read_timestamp_seconds',
                'When the counters were last read from the record store.',
                value=read_at)

    @staticmethod
    def _histogram(by_name):
        family = core.Metric(totals.DURATION, _DURATION_DOC, 'histogram')
        buckets = {}
        for labels, value in by_name.get(totals.DURATION + '_bucket', ()):
            labels = dict(labels)
            buckets[(labels.pop('le', None), tuple(sorted(labels.items())))
                    ] = value
        sums = dict(by_name.get(totals.DURATION + '_sum', ()))
        for labels, count in sorted(by_name.get(totals.DURATION + '_count',
                                                ())):
            # A bucket no delete fell in has no row: it is 0.
            for _, le in totals.BUCKET_BOUNDS:
                family.add_sample(
                    totals.DURATION + '_bucket', dict(labels, le=le),
                    buckets.get((le, labels), 0.0))
            family.add_sample(totals.DURATION + '_count', dict(labels),
                              count)
            family.add_sample(totals.DURATION + '_sum', dict(labels),
                              sums.get(labels, 0.0))
        return family


class HealthCollector:
    """This collector's own counters, since it started."""

    def __init__(self, health):
        self.health = health

    def collect(self):
        # One consistent reading of the counters the listener updates.
        values = self.health.snapshot()
        for attr, name, doc in HEALTH_COUNTERS:
            yield core.CounterMetricFamily(name, doc,
                                           value=values.get(attr) or 0)
        yield core.GaugeMetricFamily(
            'nova_delete_ext_collector_retry_delay_seconds',
            'Seconds before this collector tries the failing store again; '
            '0 while the store works.', value=values.get('retry_delay') or 0)
        stored_at = _timestamp(values.get('last_stored_at'))
        if stored_at is not None:
            yield core.GaugeMetricFamily(
                'nova_delete_ext_collector_last_store_timestamp_seconds',
                'When this collector last stored a batch.', value=stored_at)


class PollCollector:
    """The gauges of the last poll of the cell databases."""

    def __init__(self, poller):
        self.poller = poller

    def collect(self):
        api_up, found = self.poller.snapshot
        if api_up is None:
            return
        yield core.GaugeMetricFamily(
            'nova_delete_ext_api_database_up',
            "1 if the last poll read the cells from Nova's API database.",
            value=int(api_up))
        up = core.GaugeMetricFamily(
            'nova_delete_ext_cell_up',
            '1 if the cell database answered the last poll, 0 if not.',
            labels=['cell'])
        stuck = core.GaugeMetricFamily(
            'nova_delete_ext_stuck_deletes',
            'Servers whose delete has been under way for at least "age".',
            labels=['cell', 'task_state', 'age'])
        oldest = core.GaugeMetricFamily(
            'nova_delete_ext_oldest_stuck_delete_seconds',
            'Seconds the oldest delete under way has been under way.',
            labels=['cell'])
        recycle = core.GaugeMetricFamily(
            'nova_delete_ext_recycle_bin_servers',
            'Soft-deleted servers held, past their retention, and past it '
            'on a host that is down.', labels=['cell', 'state'])
        for cell in found:
            up.add_metric([cell.cell], int(cell.up))
            if not cell.up:
                continue
            for (task_state, age), count in cell.stuck.items():
                stuck.add_metric([cell.cell, task_state, age], count)
            oldest.add_metric([cell.cell], cell.oldest)
            for state in poll.BIN_STATES:
                recycle.add_metric([cell.cell, state],
                                   cell.recycle_bin[state])
        yield from (up, stuck, oldest, recycle)


def registries(cache, health=None, poller=None):
    """``(counters, live)``: the registries of what :class:`App` serves.

    ``counters`` holds the counters of the records, ``live`` the rest: the
    collector's health, the cell gauges, its process.
    """
    counters = prometheus_client.CollectorRegistry(auto_describe=False)
    counters.register(TotalsCollector(cache))
    live = prometheus_client.CollectorRegistry(auto_describe=False)
    prometheus_client.ProcessCollector(registry=live)
    if health is not None:
        live.register(HealthCollector(health))
    if poller is not None:
        live.register(PollCollector(poller))
    return counters, live


class _Both:
    """Both registries as one collector, for the tests and the tools."""

    def __init__(self, *parts):
        self.parts = parts

    def collect(self):
        for part in self.parts:
            yield from part.collect()


def registry(cache, health=None, poller=None):
    """All of the collector's metrics, in one registry."""
    found = prometheus_client.CollectorRegistry(auto_describe=False)
    found.register(_Both(*registries(cache, health, poller)))
    return found
