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

"""What ``/metrics`` says, from given records, health and poll results."""

import collections
import time
import urllib.request

import fixtures
from oslotest import base
import prometheus_client
from prometheus_client.openmetrics import parser as om_parser
from prometheus_client import parser

from nova_delete_ext.collector import exposition
from nova_delete_ext.collector import listener
from nova_delete_ext.collector import metrics
from nova_delete_ext.collector import poll
from nova_delete_ext.collector import totals
from nova_delete_ext import record as rec
from nova_delete_ext.tests.unit import base as unit_base
from nova_delete_ext.tests.unit import test_collector_totals as records


class FakeStore:
    """The store's ``totals()``: the sum of its records' increments."""

    def __init__(self, *stored):
        self.values = collections.Counter()
        self.reads = 0
        self.fail = False
        self.add(*stored)

    def add(self, *stored):
        for record in stored:
            for name, labels, amount in totals.increments(record):
                self.values[(name, labels)] += amount

    def totals(self):
        self.reads += 1
        if self.fail:
            raise ConnectionError('database down')
        return dict(self.values)


def health():
    counters = listener.Health()
    counters.add(received=7, stored=5, duplicates=1, malformed=1,
                 requeued=3, store_failures=2)
    counters.set(last_stored_at=LAST_STORED, retry_delay=4.0)
    return counters


LAST_STORED = 1773309600.0


class FakePoller:
    def __init__(self, snapshot):
        self.snapshot = snapshot


def scrape(registry):
    """``{(sample name, labels as sorted pairs): value}`` of a scrape."""
    text = prometheus_client.generate_latest(registry).decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in parser.text_string_to_metric_families(text)
            for s in family.samples}


def of(samples, name):
    return {labels: value for (sample, labels), value in samples.items()
            if sample == name}


class CountersTest(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        self.store = FakeStore(
            records.delete_record(),
            records.delete_record(duration_ms=40),
            records.delete_record(outcome=rec.DENIED, path=None,
                                  recorded_by='api@ctl1',
                                  decisions=['protect:denied(locked)']),
            records.delete_record(delete_type=rec.RESTORE,
                                  outcome=rec.RESTORED),
            records.check_record(leaks=records.LeaksTest.LEAKS[:1],
                                 repaired=['deleted port %s'
                                           % records.PORT]))
        self.metrics = metrics.Metrics(self.store, health())
        self.metrics.totals.refresh()

    def test_counters_from_the_records(self):
        found = scrape(self.metrics.registry)
        self.assertEqual({
            (('outcome', 'deleted'), ('path', 'compute'),
             ('service', 'compute'), ('vm_state', 'active')): 2.0,
            (('outcome', 'denied'), ('path', 'none'), ('service', 'api'),
             ('vm_state', 'active')): 1.0,
        }, of(found, 'nova_delete_ext_deletes_total'))
        self.assertEqual({(('policy', 'protect'),): 1.0},
                         of(found, 'nova_delete_ext_refusals_total'))
        self.assertEqual({(('outcome', 'restored'),): 1.0},
                         of(found, 'nova_delete_ext_restores_total'))
        self.assertEqual({(('outcome', 'checked'),): 1.0},
                         of(found, 'nova_delete_ext_checks_total'))
        self.assertEqual({(('kind', 'ports'),): 1.0},
                         of(found, 'nova_delete_ext_leaks_found_total'))
        self.assertEqual({(('kind', 'ports'),): 1.0},
                         of(found, 'nova_delete_ext_leaks_repaired_total'))

    def test_histogram_has_every_bucket_in_order(self):
        text = prometheus_client.generate_latest(
            self.metrics.registry).decode()
        [family] = [f for f in parser.text_string_to_metric_families(text)
                    if f.name == totals.DURATION]
        self.assertEqual('histogram', family.type)
        compute = [s for s in family.samples
                   if s.labels.get('path') == 'compute']
        self.assertEqual(
            [le for _, le in totals.BUCKET_BOUNDS],
            [s.labels['le'] for s in compute if s.name.endswith('_bucket')])
        values = {(s.name, s.labels.get('le')): s.value for s in compute}
        bucket = totals.DURATION + '_bucket'
        self.assertEqual(1.0, values[(bucket, '0.05')])
        self.assertEqual(1.0, values[(bucket, '1.0')])
        self.assertEqual(2.0, values[(bucket, '2.5')])
        self.assertEqual(2.0, values[(totals.DURATION + '_bucket', '+Inf')])
        self.assertEqual(2.0, values[(totals.DURATION + '_count', None)])
        self.assertAlmostEqual(1.2504, values[(totals.DURATION + '_sum',
                                               None)])
        # The denied delete, path none, has its own series.
        self.assertIn('none', {s.labels['path'] for s in family.samples})

    def test_health(self):
        found = scrape(self.metrics.registry)
        self.assertEqual(
            {'nova_delete_ext_collector_messages_received_total': 7.0,
             'nova_delete_ext_collector_records_stored_total': 5.0,
             'nova_delete_ext_collector_duplicates_total': 1.0,
             'nova_delete_ext_collector_malformed_total': 1.0,
             'nova_delete_ext_collector_requeued_total': 3.0,
             'nova_delete_ext_collector_store_failures_total': 2.0,
             'nova_delete_ext_collector_retry_delay_seconds': 4.0,
             'nova_delete_ext_collector_last_store_timestamp_seconds':
                 LAST_STORED},
            {name: value for (name, _), value in found.items()
             if name.startswith('nova_delete_ext_collector_') and
             'totals_read' not in name})

    def test_a_scrape_never_reads_the_store(self):
        reads = self.store.reads
        for _ in range(3):
            scrape(self.metrics.registry)
        self.assertEqual(reads, self.store.reads)

    def test_store_down_keeps_the_last_values(self):
        self.store.add(records.delete_record())
        self.store.fail = True
        self.assertFalse(self.metrics.totals.refresh())
        self.assertEqual(1, self.metrics.totals.failures)
        found = of(scrape(self.metrics.registry),
                   'nova_delete_ext_deletes_total')
        self.assertEqual(3.0, sum(found.values()))
        self.store.fail = False
        self.assertTrue(self.metrics.totals.refresh())
        found = of(scrape(self.metrics.registry),
                   'nova_delete_ext_deletes_total')
        self.assertEqual(4.0, sum(found.values()))

    def test_no_record_yet_no_series(self):
        registry = metrics.Metrics(FakeStore()).registry
        found = scrape(registry)
        self.assertEqual({}, of(found, 'nova_delete_ext_deletes_total'))
        self.assertEqual({}, of(found, totals.DURATION + '_count'))


class TotalsCacheTest(base.BaseTestCase):

    def test_a_stored_batch_is_read_soon_on_the_cache_thread(self):
        store = FakeStore()
        cache = metrics.TotalsCache(store, interval=60, min_gap=0)
        cache.start()
        self.addCleanup(cache.stop)
        self._wait(lambda: store.reads == 1)
        store.add(records.delete_record())
        cache.notify(object())
        self._wait(lambda: cache.values)
        self.assertEqual(2, store.reads)

    def test_batches_close_together_share_a_read(self):
        store = FakeStore()
        cache = metrics.TotalsCache(store, interval=60, min_gap=0.5)
        cache.start()
        self.addCleanup(cache.stop)
        self._wait(lambda: store.reads == 1)
        for _ in range(20):
            cache.notify()
        time.sleep(1.2)
        self.assertLessEqual(store.reads, 3)

    def test_read_on_the_timer_without_batches(self):
        store = FakeStore()
        cache = metrics.TotalsCache(store, interval=0.1, min_gap=0)
        cache.start()
        self.addCleanup(cache.stop)
        self._wait(lambda: store.reads >= 3)

    def _wait(self, condition):
        for _ in range(100):
            if condition():
                return
            time.sleep(0.05)
        self.fail('not in time')


class GaugesTest(base.BaseTestCase):

    def registry(self, snapshot):
        return metrics.Metrics(FakeStore(),
                               poller=FakePoller(snapshot)).registry

    def test_before_the_first_poll_no_gauge(self):
        found = scrape(self.registry((None, [])))
        self.assertFalse([name for name, _ in found
                          if name.startswith('nova_delete_ext_cell')])

    def test_gauges_of_each_cell(self):
        stuck = {(state, age): 0 for state in ('deleting', 'soft-deleting')
                 for age, _ in poll.AGES}
        stuck[('deleting', '0s')] = stuck[('deleting', '5m')] = 1
        up = poll.CellGauges('cell1', True, stuck=stuck, oldest=400.0,
                             recycle_bin={'held': 3, 'past_retention': 0,
                                          'past_retention_host_down': 1})
        down = poll.CellGauges('cell2', False)
        found = scrape(self.registry((True, [up, down])))
        self.assertEqual({(('cell', 'cell1'),): 1.0,
                          (('cell', 'cell2'),): 0.0},
                         of(found, 'nova_delete_ext_cell_up'))
        self.assertEqual({(): 1.0},
                         of(found, 'nova_delete_ext_api_database_up'))
        stuck_found = of(found, 'nova_delete_ext_stuck_deletes')
        self.assertEqual(10, len(stuck_found))
        self.assertEqual(1.0, stuck_found[
            (('age', '5m'), ('cell', 'cell1'), ('task_state', 'deleting'))])
        self.assertEqual({(('cell', 'cell1'),): 400.0},
                         of(found,
                            'nova_delete_ext_oldest_stuck_delete_seconds'))
        self.assertEqual({
            (('cell', 'cell1'), ('state', 'held')): 3.0,
            (('cell', 'cell1'), ('state', 'past_retention')): 0.0,
            (('cell', 'cell1'), ('state', 'past_retention_host_down')): 1.0,
        }, of(found, 'nova_delete_ext_recycle_bin_servers'))

    def test_api_database_down(self):
        found = scrape(self.registry((False, [])))
        self.assertEqual({(): 0.0},
                         of(found, 'nova_delete_ext_api_database_up'))


class ServerTest(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        unit_base.skip_if_eventlet_patched(self)

    def test_metrics_over_http(self):
        store = FakeStore(records.delete_record())
        served = metrics.Metrics(store, health())
        port = served.start('127.0.0.1', 0)
        self.addCleanup(served.stop)
        url = 'http://127.0.0.1:%d/metrics' % port
        with urllib.request.urlopen(url, timeout=10) as answer:
            self.assertEqual(200, answer.status)
            text = answer.read().decode()
        self.assertIn('nova_delete_ext_deletes_total{outcome="deleted",'
                      'path="compute",service="compute",vm_state="active"} '
                      '1.0', text)
        self.assertIn('process_cpu_seconds_total', text)

    def test_on_stored_refreshes_the_counters(self):
        store = FakeStore()
        served = metrics.Metrics(store)
        served.totals.min_gap = 0
        served.start('127.0.0.1', 0)
        self.addCleanup(served.stop)
        store.add(records.delete_record())
        served.on_stored(object())
        for _ in range(100):
            if served.totals.values:
                break
            time.sleep(0.05)
        self.assertEqual(1.0, sum(
            value for (name, _), value in served.totals.values.items()
            if name == totals.DELETES))


class AppTest(base.BaseTestCase):
    """The WSGI application of /metrics, called as a server calls it."""

    def setUp(self):
        super().setUp()
        self.store = FakeStore(records.delete_record())
        self.health = health()
        self.metrics = metrics.Metrics(self.store, self.health)
        self.metrics.totals.refresh()

    def get(self, accept=None, method='GET'):
        environ = {'REQUEST_METHOD': method, 'PATH_INFO': '/metrics'}
        if accept:
            environ['HTTP_ACCEPT'] = accept
        answer = {}

        def start_response(status, headers):
            answer.update(status=status, headers=dict(headers))
        body = b''.join(self.metrics.app(environ, start_response))
        return answer, body.decode()

    def test_text_format(self):
        answer, body = self.get()
        self.assertEqual('200 OK', answer['status'])
        self.assertTrue(answer['headers']['Content-Type'].startswith(
            'text/plain'))
        families = {f.name for f in parser.text_string_to_metric_families(
            body)}
        self.assertIn('nova_delete_ext_deletes', families)
        self.assertIn('nova_delete_ext_collector_messages_received',
                      families)
        self.assertEqual(str(len(body)), answer['headers']['Content-Length'])

    def test_openmetrics_as_prometheus_asks(self):
        answer, body = self.get(
            'application/openmetrics-text;version=1.0.0,application/'
            'openmetrics-text;version=0.0.1;q=0.75,text/plain;'
            'version=0.0.4;q=0.5,*/*;q=0.1')
        self.assertTrue(answer['headers']['Content-Type'].startswith(
            'application/openmetrics-text'))
        self.assertEqual(1, body.count('# EOF'))
        self.assertTrue(body.endswith('# EOF\n'))
        values = {s.name: s.value
                  for f in om_parser.text_string_to_metric_families(body)
                  for s in f.samples}
        self.assertEqual(1.0, values['nova_delete_ext_deletes_total'])
        self.assertEqual(7.0, values[
            'nova_delete_ext_collector_messages_received_total'])

    def test_counters_rendered_once_per_read_of_the_totals(self):
        rendered = []
        original = exposition.TotalsCollector.collect

        def collect(collector):
            rendered.append(1)
            return original(collector)
        self.useFixture(fixtures.MockPatchObject(
            exposition.TotalsCollector, 'collect', collect))
        for _ in range(3):
            self.get()
        self.assertEqual(1, len(rendered))
        self.store.add(records.delete_record())
        self.metrics.totals.refresh()
        _, body = self.get()
        self.assertEqual(2, len(rendered))
        self.assertIn('vm_state="active"} 2.0', body)
        # Each format has its own text.
        self.get('application/openmetrics-text;version=1.0.0')
        self.assertEqual(3, len(rendered))

    def test_the_live_part_at_every_scrape(self):
        _, body = self.get()
        self.assertIn('nova_delete_ext_collector_records_stored_total 5.0',
                      body)
        self.health.add(stored=1)
        _, body = self.get()
        self.assertIn('nova_delete_ext_collector_records_stored_total 6.0',
                      body)

    def test_only_get(self):
        answer, _ = self.get(method='POST')
        self.assertEqual('405 Method Not Allowed', answer['status'])
