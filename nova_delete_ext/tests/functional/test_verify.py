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

"""The verify policy on the real in-process Nova, with real leaks.

A leak is made the way it happens in a deployment: one cleanup call of
Nova's delete path fails, Nova logs it and finishes the delete anyway.
The policy then finds what is left in the real placement and in Nova's
Neutron and Glance fixtures, after the delete and off its path. The
delete record is written when the delete ends; what the check found is
in the check record that follows it.
"""

import threading

import fixtures
from nova.scheduler.client import report

from nova_delete_ext.tests.functional import base
from nova_delete_ext.tests.functional import scenarios


class VerifyTestBase(scenarios.ServerStates, scenarios.LeakyDeletes,
                     base.DeleteExtTestBase):

    mode = 'report'

    def setUp(self):
        super().setUp()
        self.use_policies('verify', delete_ext_verify={'mode': self.mode})

    def leaks(self, record):
        return [(leak['kind'], leak['resource_id'])
                for leak in record.get('leaks', [])]

    def hold(self, cls, name, holds=lambda *args, **kwargs: True):
        """Hold the leak checks' calls of ``cls.name`` until released.

        Only those ``holds(...)`` says; Nova's own calls go through.
        Returns a :class:`Held`; released at cleanup anyway.
        """
        held = Held()
        self.addCleanup(held.release.set)
        original = getattr(cls, name)

        def call(*args, **kwargs):
            if base.called_by_the_leak_checks() and holds(*args, **kwargs):
                held.entered.set()
                held.release.wait()
            return original(*args, **kwargs)

        self.useFixture(fixtures.MockPatchObject(cls, name, call))
        return held


class Held:
    """A call held by :meth:`VerifyTestBase.hold`."""

    def __init__(self):
        self.entered = threading.Event()
        self.release = threading.Event()

    def wait_entered(self, test):
        test.assertTrue(self.entered.wait(60), 'the check never called')


class TestVerifyReport(VerifyTestBase):

    def test_clean_delete(self):
        server = self.server_stopped()
        self._delete_server(server)
        self.assert_gone(server)
        check = self.check_record(server)
        self.assertEqual(('checked', ['verify:clean']),
                         (check['outcome'], check['decisions']))
        self.assertNotIn('leaks', check)
        record = self.only_record(server)
        self.assertEqual(('delete', [], check['delete_id']),
                         (record['kind'], record['decisions'], record['id']))
        self.assertEqual(record['request_id'], check['request_id'])

    def test_allocations_left_in_placement(self):
        server = self.server_active()
        [rp] = self._get_allocations_by_server_uuid(server['id'])
        self.delete_keeping_allocations(server)
        self._wait_until_deleted(server)
        check = self.check_record(server)
        self.assertEqual('deleted', self.only_record(server)['outcome'])
        self.assertEqual(['verify:leaks(1)'], check['decisions'])
        self.assertEqual([('allocations', rp)], self.leaks(check))
        self.assertNotIn('repaired', check)
        # Report mode leaves it there.
        self.assertEqual([rp], list(self._get_allocations_by_server_uuid(
            server['id'])))

    def test_allocations_of_a_migration(self):
        server = self.server_active()
        migration = self.delete_during_resize(server)
        self._wait_until_deleted(server)
        # The server's own allocation is gone, its migration's is not.
        self.assertEqual({}, self._get_allocations_by_server_uuid(
            server['id']))
        [rp] = self._get_allocations_by_server_uuid(migration)
        check = self.check_record(server)
        self.assertEqual(['verify:leaks(1)'], check['decisions'])
        [leak] = check['leaks']
        self.assertEqual(('allocations', rp, migration),
                         (leak['kind'], leak['resource_id'],
                          leak['consumer']))

    def test_port_left_bound(self):
        server = self.boot(networks=[{'port': scenarios.PORT_1}])
        self.delete_keeping_port_bound(server)
        self._wait_until_deleted(server)
        check = self.check_record(server)
        self.assertEqual([('ports', scenarios.PORT_1)], self.leaks(check))
        self.assertFalse(check['leaks'][0]['created_by_nova'])

    def test_volume_attachment_left_in_cinder(self):
        server = self.server_active()
        self._attach_volume(server, scenarios.VOLUME)
        [attachment] = self.cinder.attachment_ids_for_instance(server['id'])
        self.delete_keeping_attachment(server)
        self._wait_until_deleted(server)
        check = self.check_record(server)
        self.assertIn('volumes', self.only_record(server)['released'])
        self.assertEqual([('volumes', attachment)], self.leaks(check))

    def test_shelve_snapshot_left_in_glance(self):
        # Deleted by nova-api itself (shelved_offloaded): checked there,
        # without a hypervisor to ask.
        server = self.server_shelved_offloaded()
        image_id = self.shelve_snapshot(server)
        self.delete_keeping_snapshot(server)
        self._wait_until_deleted(server)
        check = self.check_record(server)
        self.assertEqual(('local', [('shelve_image', image_id)]),
                         (check['path'], self.leaks(check)))

    def test_states_not_listed_are_not_verified(self):
        self.use_policies('verify',
                          delete_ext_verify={'states': ['error']})
        server = self.server_active()
        self.delete_keeping_allocations(server)
        self._wait_until_deleted(server)
        check = self.check_record(server)
        self.assertEqual(('checked', []),
                         (check['outcome'], check['decisions']))


class TestVerifyOffTheDeletePath(VerifyTestBase):
    """A slow, stuck or skipped check never holds the delete record."""

    def setUp(self):
        super().setUp()
        # The held calls stay held until released, however slow the test.
        self.use_policies('verify', delete_ext_verify={'timeout': 3600.0})

    def test_delete_record_does_not_wait_for_a_stuck_check(self):
        server = self.server_active()
        held = self.hold(
            report.SchedulerReportClient, 'get_allocs_for_consumer',
            lambda client, context, consumer: consumer == server['id'])
        self._delete_server(server)
        held.wait_entered(self)
        record = self.wait_for_record(server)
        self.assertEqual(('delete', 'deleted'),
                         (record['kind'], record['outcome']))
        self.assertEqual([], self.records(server['id'], kind='check'))
        held.release.set()
        check = self.check_record(server)
        self.assertEqual((record['id'], ['verify:clean']),
                         (check['delete_id'], check['decisions']))

    def test_skipped_and_recorded_when_no_worker_is_free(self):
        self.flags(after_delete_workers=1, after_delete_queue_size=1,
                   group='delete_ext')
        servers = [self._create_server(networks='none') for _ in range(3)]
        first = servers[0]['id']
        held = self.hold(
            report.SchedulerReportClient, 'get_allocs_for_consumer',
            lambda client, context, consumer: consumer == first)
        self._delete_server(servers[0])
        # The one worker is busy with the first check, the second waits in
        # the queue, there is no room for the third.
        held.wait_entered(self)
        for server in servers[1:]:
            self._delete_server(server)
            self.wait_for_record(server)
        skipped = self.check_record(servers[2])
        self.assertEqual('skipped', skipped['outcome'])
        self.assertIn('after_delete_queue_size', skipped['error'])
        held.release.set()
        self.assertEqual(
            ['checked', 'checked'],
            [self.check_record(server)['outcome']
             for server in servers[:2]])


class TestVerifyTimeout(VerifyTestBase):

    def setUp(self):
        super().setUp()
        self.use_policies('verify', delete_ext_verify={'timeout': 1.0})

    def test_service_that_does_not_answer_makes_the_check_unverified(self):
        server = self.server_active()
        [rp] = self._get_allocations_by_server_uuid(server['id'])
        # Neutron hangs for this server's check; placement still answers.
        self.hold(self.neutron, 'list_ports')
        self.delete_keeping_allocations(server)
        check = self.check_record(server)
        self.assertEqual(['verify:unverified(timeout)'], check['decisions'])
        self.assertIn('ports: CallTimedOut: neutron did not answer '
                      'list_ports within 1.0 s', check['error'])
        # What the other kinds found is still reported.
        self.assertEqual([('allocations', rp)], self.leaks(check))


class TestVerifyRepair(VerifyTestBase):

    mode = 'repair'

    def test_every_kind_repaired(self):
        allocated = self.server_active()
        self.delete_keeping_allocations(allocated)
        bound = self.boot(networks=[{'port': scenarios.PORT_1}])
        self.delete_keeping_port_bound(bound)
        shelved = self.server_shelved()
        image_id = self.shelve_snapshot(shelved)
        self.delete_keeping_snapshot(shelved)
        for server in (allocated, bound, shelved):
            self._wait_until_deleted(server)
            check = self.check_record(server)
            self.assertEqual(['verify:repaired(1/1)'], check['decisions'],
                             check)
            self.assertEqual(1, len(check['repaired']), check)
        self.assertEqual({}, self._get_allocations_by_server_uuid(
            allocated['id']))
        # The user's port is unbound and kept.
        port = self.neutron.show_port(scenarios.PORT_1)['port']
        self.assertEqual('', port['device_id'])
        self.assertNotIn(image_id, self.glance.images)

    def test_allocations_of_a_migration_repaired(self):
        server = self.server_active()
        migration = self.delete_during_resize(server)
        check = self.check_record(server)
        self.assertEqual(['verify:repaired(1/1)'], check['decisions'])
        self.assertEqual(['deleted the allocations of consumer %s'
                          % migration], check['repaired'])
        self.assertEqual({}, self._get_allocations_by_server_uuid(migration))

    def test_port_nova_created_is_deleted(self):
        server = self.server_active()
        port_id = self.delete_keeping_nova_port(server)
        check = self.check_record(server)
        self.assertEqual(['verify:repaired(1/1)'], check['decisions'])
        [leak] = check['leaks']
        self.assertEqual((port_id, True),
                         (leak['resource_id'], leak['created_by_nova']))
        self.assertEqual(['deleted port %s, which Nova created for the '
                          'instance' % port_id], check['repaired'])
        self.assertNotIn(port_id, self.neutron._ports)
