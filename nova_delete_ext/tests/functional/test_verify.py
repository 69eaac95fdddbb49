"""The verify policy on the real in-process Nova, with real leaks.

A leak is made the way it happens in a deployment: one cleanup call of
Nova's delete path fails, Nova logs it and finishes the delete anyway.
The policy then finds what is left in the real placement and in Nova's
Neutron and Glance fixtures, after the delete and off its path.
"""

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


class TestVerifyReport(VerifyTestBase):

    def test_clean_delete(self):
        server = self.server_stopped()
        self._delete_server(server)
        self.assert_gone(server)
        record = self.wait_for_record(server)
        self.assertEqual(['verify:clean'], record['decisions'])
        self.assertNotIn('leaks', record)

    def test_allocations_left_in_placement(self):
        server = self.server_active()
        [rp] = self._get_allocations_by_server_uuid(server['id'])
        self.delete_keeping_allocations(server)
        self._wait_until_deleted(server)
        record = self.wait_for_record(server)
        self.assertEqual('deleted', record['outcome'])
        self.assertEqual(['verify:leaks(1)'], record['decisions'])
        self.assertEqual([('allocations', rp)], self.leaks(record))
        self.assertNotIn('repaired', record)
        # Report mode leaves it there.
        self.assertEqual([rp], list(self._get_allocations_by_server_uuid(
            server['id'])))

    def test_port_left_bound(self):
        server = self.boot(networks=[{'port': scenarios.PORT_1}])
        self.delete_keeping_port_bound(server)
        self._wait_until_deleted(server)
        record = self.wait_for_record(server)
        self.assertEqual([('ports', scenarios.PORT_1)], self.leaks(record))

    def test_volume_attachment_left_in_cinder(self):
        server = self.server_active()
        self._attach_volume(server, scenarios.VOLUME)
        [attachment] = self.cinder.attachment_ids_for_instance(server['id'])
        self.delete_keeping_attachment(server)
        self._wait_until_deleted(server)
        record = self.wait_for_record(server)
        self.assertIn('volumes', record['released'])
        self.assertEqual([('volumes', attachment)], self.leaks(record))

    def test_shelve_snapshot_left_in_glance(self):
        # Deleted by nova-api itself (shelved_offloaded): checked there,
        # without a hypervisor to ask.
        server = self.server_shelved_offloaded()
        image_id = self.shelve_snapshot(server)
        self.delete_keeping_snapshot(server)
        self._wait_until_deleted(server)
        record = self.wait_for_record(server)
        self.assertEqual(('local', [('shelve_image', image_id)]),
                         (record['path'], self.leaks(record)))

    def test_states_not_listed_are_not_verified(self):
        self.use_policies('verify',
                          delete_ext_verify={'states': ['error']})
        server = self.server_active()
        self.delete_keeping_allocations(server)
        self._wait_until_deleted(server)
        record = self.wait_for_record(server)
        self.assertEqual([], record['decisions'])


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
            record = self.wait_for_record(server)
            self.assertEqual(['verify:repaired(1/1)'], record['decisions'],
                             record)
            self.assertEqual(1, len(record['repaired']), record)
        self.assertEqual({}, self._get_allocations_by_server_uuid(
            allocated['id']))
        port = self.neutron.show_port(scenarios.PORT_1)['port']
        self.assertEqual('', port['device_id'])
        self.assertNotIn(image_id, self.glance.images)
