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

"""Every provider's allocations, read one or several requests at a time."""

import threading
import time
from unittest import mock

import fixtures
from nova.scheduler.client import report

from nova_delete_ext import deadline
from nova_delete_ext.leaks import providers
from nova_delete_ext.leaks import services
from nova_delete_ext.tests.unit import base
from nova_delete_ext.tests.unit import test_leaks

A, B = ('aaaaaaaa-0000-4000-8000-00000000000%d' % i for i in (1, 2))


class _Resp:

    def __init__(self, data, ok=True):
        self.data, self.ok, self.text = data, ok, 'boom'

    def __bool__(self):
        return self.ok

    def json(self):
        return self.data


class AllocationsByConsumerTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.ctxt = mock.Mock(global_id='req-1')
        self.placement = mock.create_autospec(report.SchedulerReportClient,
                                              instance=True)
        self.useFixture(fixtures.MockPatchObject(
            report, 'report_client_singleton', autospec=True,
            return_value=self.placement))
        self.clients = services.Clients(timeout=5)
        self.release = threading.Event()
        self.addCleanup(self.release.set)

    def providers(self, *uuids):
        self.placement.get.return_value = _Resp(
            {'resource_providers': [{'uuid': uuid} for uuid in uuids]})

    def test_over_every_provider_in_their_order(self):
        self.providers('rp1', 'rp2')
        answers = {
            'rp1': {A: {'resources': {'VCPU': 1}}, B: {'resources': {}}},
            'rp2': {A: {'resources': {'DISK_GB': 1}}}}
        self.placement.get_allocations_for_resource_provider.side_effect = (
            lambda ctxt, rp: report.ProviderAllocInfo(
                allocations=answers[rp]))
        for concurrency in (1, 2, 4):
            index = providers.allocations_by_consumer(
                self.ctxt, self.clients, concurrency)
            self.assertEqual({A: {'rp1': {'resources': {'VCPU': 1}},
                                  'rp2': {'resources': {'DISK_GB': 1}}},
                              B: {'rp1': {'resources': {}}}}, dict(index))
            self.assertEqual(['rp1', 'rp2'], list(index[A]))
        self.placement.get.assert_called_with(
            '/resource_providers', version='1.14', global_request_id='req-1')

    def test_listing_failure_raises(self):
        self.placement.get.return_value = _Resp({}, ok=False)
        self.assertRaises(providers.ListingFailed,
                          providers.allocations_by_consumer, self.ctxt,
                          self.clients)

    def test_requests_side_by_side(self):
        # Each request waits until two are in flight: read one at a
        # time, the listing would wait for ever.
        self.providers('rp1', 'rp2', 'rp3', 'rp4')
        both = threading.Barrier(2, timeout=3)

        def read(ctxt, rp):
            both.wait()
            return report.ProviderAllocInfo(allocations={})

        self.placement.get_allocations_for_resource_provider.side_effect = (
            read)
        self.assertEqual({}, providers.allocations_by_consumer(
            self.ctxt, self.clients, 2))
        self.assertEqual(
            4, self.placement.get_allocations_for_resource_provider.
            call_count)

    def fail_first(self, clients):
        """The first provider fails, the second answers on release."""
        self.providers(*('rp%d' % n for n in range(10)))
        asked = []

        def read(ctxt, rp):
            asked.append(rp)
            if rp == 'rp0':
                raise ValueError('rp0 is unreadable')
            self.release.wait(5)
            return report.ProviderAllocInfo(allocations={})

        self.placement.get_allocations_for_resource_provider.side_effect = (
            read)
        self.assertRaises(ValueError, providers.allocations_by_consumer,
                          self.ctxt, clients, 2)
        return asked

    def test_a_reader_still_waiting_after_a_failure_is_given_up(self):
        self.fail_first(self.clients)
        # It counts among the calls given up until its answer comes.
        self.assertEqual(1, deadline.abandoned())
        self.release.set()
        test_leaks.wait_until_none_abandoned(self)

    def test_after_a_failure_no_other_provider_is_asked(self):
        for clients in (self.clients, services.Clients(timeout=None)):
            self.release.clear()
            asked = self.fail_first(clients)
            self.release.set()
            test_leaks.wait_until_none_abandoned(self)
            time.sleep(0.05)  # a reader that went on would ask by now
            self.assertEqual(['rp0', 'rp1'], sorted(asked))

    def test_readers_started_stop_when_the_next_cannot_start(self):
        self.providers(*('rp%d' % n for n in range(10)))
        asked = []

        def read(ctxt, rp):
            asked.append(rp)
            self.release.wait(5)
            return report.ProviderAllocInfo(allocations={})

        self.placement.get_allocations_for_resource_provider.side_effect = (
            read)
        started = []
        start = self.clients.start

        def start_one(*args, **kwargs):
            if started:
                raise deadline.TooManyCallsHanging(
                    service='placement', call='read', count=8, timeout=5)
            started.append(start(*args, **kwargs))
            return started[-1]

        self.useFixture(fixtures.MonkeyPatch(
            'nova_delete_ext.leaks.services.Clients.start',
            lambda clients, *args, **kwargs: start_one(*args, **kwargs)))
        self.assertRaises(deadline.TooManyCallsHanging,
                          providers.allocations_by_consumer, self.ctxt,
                          self.clients, 2)
        self.release.set()
        test_leaks.wait_until_none_abandoned(self)
        time.sleep(0.05)  # a reader that went on would ask by now
        self.assertEqual(['rp0'], asked)
