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

"""Tests of :mod:`nova_delete_ext.leaks`: the rules, find() and repair()."""

import threading
import time
from unittest import mock

from neutronclient.common import exceptions as neutron_exc
from neutronclient.v2_0 import client as neutron_client
from nova import context as nova_context
from nova import exception as nova_exception
from nova.image import glance
from nova.network import neutron
from nova import objects
from nova.scheduler.client import report
from nova.volume import cinder

from nova_delete_ext import deadline
from nova_delete_ext import leaks
from nova_delete_ext.leaks import novadb
from nova_delete_ext.leaks import repair
from nova_delete_ext.leaks import services
from nova_delete_ext import states
from nova_delete_ext.tests.unit import base

UUID = base.UUID
RP = 'b1c2d3e4-0000-4000-8000-000000000001'
PORT = 'p0000000-0000-4000-8000-000000000001'
MIGRATION = 'c0ffee00-0000-4000-8000-000000000001'


def make_clients():
    """A :class:`services.Clients` whose service clients are autospecced."""
    clients = mock.Mock(spec=services.Clients)
    clients.placement = mock.create_autospec(report.SchedulerReportClient,
                                             instance=True)
    clients.network_api = mock.create_autospec(neutron.API, instance=True)
    clients.volume_api = mock.create_autospec(cinder.API, instance=True)
    clients.image_api = mock.create_autospec(glance.API, instance=True)
    clients.neutron.return_value = mock.create_autospec(
        neutron_client.Client, instance=True)
    clients.call.side_effect = lambda service, func, *args, **kwargs: func(
        *args, **kwargs)
    return clients


def port(device_id=UUID, port_id=PORT, **extra):
    return dict({'id': port_id, 'device_id': device_id,
                 'device_owner': 'compute:nova',
                 'binding:host_id': 'cmp1'}, **extra)


def image(owner=UUID, status='active', image_id='img-1'):
    return {'id': image_id, 'name': 'vm-shelved', 'status': status,
            'properties': {'instance_uuid': owner}}


class LeakTest(base.TestCase):

    def test_describe(self):
        self.assertEqual(
            'instance %s: ports %s (device_owner=x)' % (UUID, PORT),
            leaks.Leak(states.PORTS, UUID, PORT, 'device_owner=x').describe())
        self.assertEqual('instance %s: domain %s' % (UUID, UUID),
                         leaks.Leak(states.DOMAIN, UUID, UUID).describe())

    def test_repairable(self):
        self.assertTrue(leaks.Leak(states.PORTS, UUID, PORT).repairable)
        self.assertFalse(leaks.Leak(states.DOMAIN, UUID, UUID).repairable)


class RulesTest(base.TestCase):

    def test_allocations_one_leak_per_provider(self):
        found = leaks.allocation_leaks(UUID, {
            'rp-b': {'resources': {'VCPU': 1, 'MEMORY_MB': 512}},
            'rp-a': {'resources': {'DISK_GB': 1}}})
        self.assertEqual(
            [leaks.Leak(states.ALLOCATIONS, UUID, 'rp-a', 'DISK_GB=1',
                        consumer=UUID),
             leaks.Leak(states.ALLOCATIONS, UUID, 'rp-b',
                        'MEMORY_MB=512,VCPU=1', consumer=UUID)], found)
        self.assertEqual(UUID, found[0].as_dict()['consumer'])

    def test_allocations_of_a_migration(self):
        [leak] = leaks.allocation_leaks(
            UUID, {'rp-a': {'resources': {'VCPU': 1}}}, consumer=MIGRATION)
        self.assertEqual(
            leaks.Leak(states.ALLOCATIONS, UUID, 'rp-a',
                       'migration=%s VCPU=1' % MIGRATION, consumer=MIGRATION),
            leak)
        self.assertEqual(MIGRATION, leak.holder)

    def test_ports_only_those_still_naming_the_instance(self):
        found = leaks.port_leaks(UUID, [port(), port('other', 'p2'),
                                        port('', 'p3')])
        self.assertEqual([leaks.Leak(states.PORTS, UUID, PORT,
                                     'device_owner=compute:nova host=cmp1 '
                                     'creator unknown')],
                         found)
        self.assertNotIn('created_by_nova', found[0].as_dict())

    def test_ports_say_who_created_them(self):
        found = leaks.port_leaks(
            UUID, [port(), port(port_id='p2'), port(port_id='p3')],
            {PORT: True, 'p2': False})
        self.assertEqual([True, False, None],
                         [leak.created_by_nova for leak in found])
        self.assertEqual(['created by Nova', 'brought by the user',
                          'creator unknown'],
                         [leak.detail.split(' ', 2)[2] for leak in found])
        self.assertTrue(found[0].as_dict()['created_by_nova'])

    def test_attachments_in_each_shape(self):
        found = leaks.attachment_leaks(UUID, [
            {'id': 'a1', 'instance': UUID, 'volume_id': 'v1'},
            {'id': 'a2', 'instance_uuid': UUID},
            {'id': 'a3', 'connection_info': {'instance': UUID}},
            {'id': 'a4', 'instance': 'someone-else'},
            {'id': 'a5'}])  # filtered by the query already
        self.assertEqual(['a1', 'a2', 'a3', 'a5'],
                         [leak.resource_id for leak in found])
        self.assertEqual('volume=v1', found[0].detail)

    def test_shelve_image(self):
        self.assertEqual(
            [leaks.Leak(states.SHELVE_IMAGE, UUID, 'img-1',
                        'name=vm-shelved')],
            leaks.shelve_image_leaks(UUID, image()))
        self.assertEqual(1, len(leaks.shelve_image_leaks(
            UUID, dict(image(), properties={}))))

    def test_shelve_image_gone_or_someone_elses(self):
        self.assertEqual([], leaks.shelve_image_leaks(UUID, None))
        self.assertEqual([], leaks.shelve_image_leaks(
            UUID, image(status='deleted')))
        self.assertEqual([], leaks.shelve_image_leaks(UUID, image('other')))
        self.assertEqual(1, len(self.logs.at(30)))

    def test_domain(self):
        self.assertEqual([leaks.Leak(states.DOMAIN, UUID, UUID,
                                     'still defined on the hypervisor')],
                         leaks.domain_leaks(UUID, ['x', UUID]))
        self.assertEqual([], leaks.domain_leaks(UUID, ['x']))


class FindTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.ctxt = mock.sentinel.context
        self.clients = make_clients()
        self.clients.placement.get_allocs_for_consumer.return_value = {
            'allocations': {RP: {'resources': {'VCPU': 1}}}}
        self.neutron = self.clients.neutron.return_value
        self.neutron.list_ports.return_value = {'ports': [port()]}
        self.clients.volume_api.attachment_get_all.return_value = [
            {'id': 'att-1', 'volume_id': 'vol-1'}]
        self.clients.image_api.get.return_value = image()
        self.driver = mock.Mock(spec=['list_instance_uuids'])
        self.driver.list_instance_uuids.return_value = [UUID]
        self.migrations = self.useFixture(base.fixtures.MockPatchObject(
            novadb, 'migration_uuids', autospec=True, return_value=[])).mock
        self.network_info = self.useFixture(base.fixtures.MockPatchObject(
            novadb, 'network_info', autospec=True, return_value=None)).mock

    def test_every_kind_in_order(self):
        found = leaks.find(self.ctxt, UUID, set(leaks.CHECKED), self.clients,
                           shelve_image_id='img-1', driver=self.driver)
        self.assertEqual(
            [(states.ALLOCATIONS, RP), (states.PORTS, PORT),
             (states.VOLUMES, 'att-1'), (states.SHELVE_IMAGE, 'img-1'),
             (states.DOMAIN, UUID)],
            [(leak.kind, leak.resource_id) for leak in found])
        self.clients.placement.get_allocs_for_consumer.assert_called_once_with(
            self.ctxt, UUID)
        self.migrations.assert_called_once_with(self.ctxt, UUID)
        self.neutron.list_ports.assert_called_once_with(device_id=UUID)
        self.clients.neutron.assert_called_once_with(self.ctxt)
        self.clients.volume_api.attachment_get_all.assert_called_once_with(
            self.ctxt, instance_id=UUID)
        self.clients.image_api.get.assert_called_once_with(self.ctxt, 'img-1')

    def test_only_the_kinds_asked(self):
        found = leaks.find(self.ctxt, UUID, {states.PORTS}, self.clients,
                           shelve_image_id='img-1', driver=self.driver)
        self.assertEqual([states.PORTS], [leak.kind for leak in found])
        self.clients.placement.get_allocs_for_consumer.assert_not_called()
        self.clients.volume_api.attachment_get_all.assert_not_called()
        self.clients.image_api.get.assert_not_called()
        self.driver.list_instance_uuids.assert_not_called()

    def test_image_and_domain_need_their_inputs(self):
        found = leaks.find(self.ctxt, UUID,
                           {states.SHELVE_IMAGE, states.DOMAIN}, self.clients)
        self.assertEqual([], found)
        self.clients.image_api.get.assert_not_called()

    def test_image_not_found_is_no_leak(self):
        self.clients.image_api.get.side_effect = nova_exception.ImageNotFound(
            image_id='img-1')
        self.assertEqual([], leaks.find(self.ctxt, UUID,
                                        {states.SHELVE_IMAGE}, self.clients,
                                        shelve_image_id='img-1'))

    def test_nothing_left(self):
        self.clients.placement.get_allocs_for_consumer.return_value = {
            'allocations': {}}
        self.neutron.list_ports.return_value = {'ports': []}
        self.clients.volume_api.attachment_get_all.return_value = []
        self.assertEqual([], leaks.find(self.ctxt, UUID, set(leaks.CHECKED),
                                        self.clients))

    def test_a_service_error_is_raised_not_hidden(self):
        error = nova_exception.ConsumerAllocationRetrievalFailed(
            consumer_uuid=UUID, error='500')
        self.clients.placement.get_allocs_for_consumer.side_effect = error
        self.assertRaises(nova_exception.ConsumerAllocationRetrievalFailed,
                          leaks.find, self.ctxt, UUID, {states.ALLOCATIONS},
                          self.clients)

    def test_errors_collected_and_other_kinds_still_checked(self):
        error = deadline.CallTimedOut(service='placement', call='get',
                                      timeout=30.0)
        self.clients.placement.get_allocs_for_consumer.side_effect = error
        errors = {}
        found = leaks.find(self.ctxt, UUID, set(leaks.CHECKED), self.clients,
                           shelve_image_id='img-1', driver=self.driver,
                           errors=errors)
        self.assertEqual({states.ALLOCATIONS: error}, errors)
        self.assertEqual([states.PORTS, states.VOLUMES, states.SHELVE_IMAGE,
                          states.DOMAIN], [leak.kind for leak in found])

    def test_allocations_of_the_instances_migrations(self):
        self.migrations.return_value = [MIGRATION, 'm2']
        allocs = {UUID: {}, MIGRATION: {RP: {'resources': {'VCPU': 1}}},
                  'm2': {}}
        self.clients.placement.get_allocs_for_consumer.side_effect = (
            lambda ctxt, consumer: {'allocations': allocs[consumer]})
        found = leaks.find(self.ctxt, UUID, {states.ALLOCATIONS},
                           self.clients)
        self.assertEqual([(RP, MIGRATION)],
                         [(leak.resource_id, leak.consumer)
                          for leak in found])
        self.assertEqual(
            [mock.call(self.ctxt, UUID), mock.call(self.ctxt, MIGRATION),
             mock.call(self.ctxt, 'm2')],
            self.clients.placement.get_allocs_for_consumer.call_args_list)

    def test_who_created_a_port_from_the_network_info_given(self):
        found = leaks.find(self.ctxt, UUID, {states.PORTS}, self.clients,
                           network_info=[{'id': PORT,
                                          'preserve_on_delete': False}])
        self.assertEqual([True], [leak.created_by_nova for leak in found])
        self.network_info.assert_not_called()

    def test_who_created_a_port_from_the_deleted_instance(self):
        self.network_info.return_value = [{'id': PORT,
                                           'preserve_on_delete': True}]
        found = leaks.find(self.ctxt, UUID, {states.PORTS}, self.clients)
        self.assertEqual([False], [leak.created_by_nova for leak in found])
        self.network_info.assert_called_once_with(self.ctxt, UUID)

    def test_who_created_a_port_unknown_when_unreadable(self):
        self.network_info.side_effect = RuntimeError('conductor is away')
        found = leaks.find(self.ctxt, UUID, {states.PORTS}, self.clients)
        self.assertEqual([None], [leak.created_by_nova for leak in found])
        self.assertEqual(1, len(self.logs.at(30)))

    def test_network_info_not_read_without_a_port_left(self):
        self.neutron.list_ports.return_value = {'ports': []}
        leaks.find(self.ctxt, UUID, {states.PORTS}, self.clients)
        self.network_info.assert_not_called()


class RepairTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.ctxt = mock.sentinel.context
        self.clients = make_clients()
        self.neutron = self.clients.neutron.return_value

    def test_allocations_deleted(self):
        placement = self.clients.placement
        placement.delete_allocation_for_instance.return_value = True
        leak = leaks.Leak(states.ALLOCATIONS, UUID, RP)
        self.assertIn('deleted the allocations',
                      repair.repair(self.ctxt, leak, self.clients))
        placement.delete_allocation_for_instance.assert_called_once_with(
            self.ctxt, UUID, force=True, consumer_type='instance')

    def test_allocations_of_a_migration_deleted(self):
        placement = self.clients.placement
        placement.delete_allocation_for_instance.return_value = True
        leak = leaks.Leak(states.ALLOCATIONS, UUID, RP, consumer=MIGRATION)
        self.assertEqual('deleted the allocations of consumer %s' % MIGRATION,
                         repair.repair(self.ctxt, leak, self.clients))
        placement.delete_allocation_for_instance.assert_called_once_with(
            self.ctxt, MIGRATION, force=True, consumer_type='migration')

    def test_allocations_already_gone(self):
        placement = self.clients.placement
        placement.delete_allocation_for_instance.return_value = False
        self.assertIn('were gone', repair.repair(
            self.ctxt, leaks.Leak(states.ALLOCATIONS, UUID, RP),
            self.clients))

    def test_allocations_placement_unreachable(self):
        # safe_connect answers None for a connection failure.
        placement = self.clients.placement
        placement.delete_allocation_for_instance.return_value = None
        self.assertRaises(repair.RepairFailed, repair.repair, self.ctxt,
                          leaks.Leak(states.ALLOCATIONS, UUID, RP),
                          self.clients)

    def test_port_unbound_not_deleted(self):
        self.neutron.show_port.side_effect = [
            {'port': port()}, {'port': port(device_id='')}]
        text = repair.repair(self.ctxt, leaks.Leak(states.PORTS, UUID, PORT),
                             self.clients)
        self.assertIn('unbound port', text)
        self.clients.network_api.unbind_ports.assert_called_once_with(
            self.ctxt, [PORT], detach=True)
        self.neutron.delete_port.assert_not_called()

    def test_port_of_unknown_or_user_origin_unbound(self):
        for created in (None, False):
            self.neutron.show_port.side_effect = [
                {'port': port()}, {'port': port(device_id='')}]
            leak = leaks.Leak(states.PORTS, UUID, PORT,
                              created_by_nova=created)
            self.assertIn('unbound port',
                          repair.repair(self.ctxt, leak, self.clients))
        self.neutron.delete_port.assert_not_called()

    def test_port_nova_created_deleted(self):
        self.neutron.show_port.side_effect = [
            {'port': port()}, neutron_exc.PortNotFoundClient()]
        leak = leaks.Leak(states.PORTS, UUID, PORT, created_by_nova=True)
        self.assertEqual(
            'deleted port %s, which Nova created for the instance' % PORT,
            repair.repair(self.ctxt, leak, self.clients))
        self.neutron.delete_port.assert_called_once_with(PORT)
        self.clients.network_api.unbind_ports.assert_not_called()

    def test_port_nova_created_but_reused_is_left_alone(self):
        self.neutron.show_port.return_value = {'port': port('another-vm')}
        leak = leaks.Leak(states.PORTS, UUID, PORT, created_by_nova=True)
        self.assertIn('left alone',
                      repair.repair(self.ctxt, leak, self.clients))
        self.neutron.delete_port.assert_not_called()

    def test_port_nova_created_kept_by_neutron(self):
        self.neutron.show_port.return_value = {'port': port()}
        leak = leaks.Leak(states.PORTS, UUID, PORT, created_by_nova=True)
        self.assertRaises(repair.RepairFailed, repair.repair, self.ctxt,
                          leak, self.clients)

    def test_port_nova_created_gone_meanwhile(self):
        self.neutron.show_port.return_value = {'port': port()}
        self.neutron.delete_port.side_effect = (
            neutron_exc.PortNotFoundClient())
        leak = leaks.Leak(states.PORTS, UUID, PORT, created_by_nova=True)
        self.assertIn('was gone',
                      repair.repair(self.ctxt, leak, self.clients))

    def test_port_still_bound_after_unbind_fails(self):
        self.neutron.show_port.return_value = {'port': port()}
        self.assertRaises(repair.RepairFailed, repair.repair, self.ctxt,
                          leaks.Leak(states.PORTS, UUID, PORT), self.clients)

    def test_port_reused_is_left_alone(self):
        self.neutron.show_port.return_value = {'port': port('another-vm')}
        text = repair.repair(self.ctxt, leaks.Leak(states.PORTS, UUID, PORT),
                             self.clients)
        self.assertIn('left alone', text)
        self.clients.network_api.unbind_ports.assert_not_called()

    def test_port_gone(self):
        for error in (neutron_exc.PortNotFoundClient(),
                      nova_exception.PortNotFound(port_id=PORT)):
            self.neutron.show_port.side_effect = error
            self.assertIn('was gone', repair.repair(
                self.ctxt, leaks.Leak(states.PORTS, UUID, PORT),
                self.clients))
        self.clients.network_api.unbind_ports.assert_not_called()

    def test_attachment_deleted_volume_untouched(self):
        text = repair.repair(self.ctxt,
                             leaks.Leak(states.VOLUMES, UUID, 'att-1'),
                             self.clients)
        self.assertIn('the volume is untouched', text)
        self.clients.volume_api.attachment_delete.assert_called_once_with(
            self.ctxt, 'att-1')
        self.clients.volume_api.delete.assert_not_called()
        self.clients.volume_api.detach.assert_not_called()

    def test_attachment_error_raised(self):
        self.clients.volume_api.attachment_delete.side_effect = (
            nova_exception.CinderConnectionFailed(reason='x'))
        self.assertRaises(nova_exception.CinderConnectionFailed,
                          repair.repair, self.ctxt,
                          leaks.Leak(states.VOLUMES, UUID, 'att-1'),
                          self.clients)

    def test_shelve_image_deleted(self):
        self.clients.image_api.get.return_value = image()
        text = repair.repair(self.ctxt,
                             leaks.Leak(states.SHELVE_IMAGE, UUID, 'img-1'),
                             self.clients)
        self.assertEqual('deleted shelve snapshot image img-1', text)
        self.clients.image_api.delete.assert_called_once_with(self.ctxt,
                                                              'img-1')

    def test_shelve_image_not_the_instances_is_kept(self):
        self.clients.image_api.get.return_value = image(owner='other')
        repair.repair(self.ctxt, leaks.Leak(states.SHELVE_IMAGE, UUID,
                                            'img-1'), self.clients)
        self.clients.image_api.delete.assert_not_called()

    def test_shelve_image_vanished_meanwhile(self):
        self.clients.image_api.get.return_value = image()
        self.clients.image_api.delete.side_effect = (
            nova_exception.ImageNotFound(image_id='img-1'))
        self.assertIn('was gone', repair.repair(
            self.ctxt, leaks.Leak(states.SHELVE_IMAGE, UUID, 'img-1'),
            self.clients))

    def test_domain_not_repaired(self):
        error = self.assertRaises(repair.NotRepairable, repair.repair,
                                  self.ctxt,
                                  leaks.Leak(states.DOMAIN, UUID, UUID),
                                  self.clients)
        self.assertIn('running_deleted_instance_action', str(error))


class ClientsTest(base.TestCase):

    @mock.patch.object(report, 'report_client_singleton', autospec=True)
    @mock.patch.object(cinder, 'API', autospec=True)
    def test_built_once_on_first_use(self, cinder_api, singleton):
        clients = services.Clients()
        singleton.assert_not_called()
        self.assertIs(clients.placement, clients.placement)
        self.assertIs(clients.volume_api, clients.volume_api)
        singleton.assert_called_once_with()
        cinder_api.assert_called_once_with()

    @mock.patch.object(neutron, 'get_client', autospec=True)
    def test_neutron_is_admin(self, get_client):
        self.assertIs(get_client.return_value,
                      services.Clients().neutron(mock.sentinel.context))
        get_client.assert_called_once_with(mock.sentinel.context, admin=True)

    @mock.patch.object(report, 'report_client_singleton', autospec=True)
    def test_every_call_has_the_deadline(self, singleton):
        release = threading.Event()
        self.addCleanup(release.set)
        placement = singleton.return_value
        placement.get_allocs_for_consumer.side_effect = (
            lambda *args: release.wait(10))
        placement.get.return_value = 'answer'
        clients = services.Clients(timeout=0.05)
        self.assertEqual('answer', clients.placement.get('/'))
        error = self.assertRaises(
            deadline.CallTimedOut, clients.placement.get_allocs_for_consumer,
            mock.sentinel.context, UUID)
        self.assertIn('placement did not answer', str(error))
        self.assertIn('within 0.05 s', str(error))

    @mock.patch.object(cinder, 'cinderclient', autospec=True)
    def test_objects_a_client_hands_out_have_the_deadline(self, cinderclient):
        release = threading.Event()
        self.addCleanup(release.set)
        client = cinderclient.return_value
        client.attachments.list.side_effect = lambda **kw: release.wait(10)
        clients = services.Clients(timeout=0.05)
        timed = clients.cinder(mock.sentinel.context, '3.44')
        cinderclient.assert_called_once_with(
            mock.sentinel.context, '3.44', skip_version_check=True)
        self.assertRaises(deadline.CallTimedOut, timed.attachments.list,
                          limit=1)

    @mock.patch.object(neutron, 'get_client', autospec=True)
    def test_no_timeout_no_wrapper(self, get_client):
        self.assertIs(get_client.return_value,
                      services.Clients(timeout=None).neutron(
                          mock.sentinel.context))


def wait_until_none_abandoned(test):
    """Wait for the calls given up to end, as their answers came."""
    for _ in range(300):
        if not deadline.abandoned():
            return
        time.sleep(0.01)
    test.fail('calls given up still running')


class NovaDbTest(base.TestCase):

    def setUp(self):
        super().setUp()
        objects.register_all()
        self.ctxt = nova_context.RequestContext('admin', 'admin',
                                                is_admin=True)
        self.mapping = self.useFixture(base.fixtures.MockPatch(
            'nova.objects.InstanceMapping.get_by_instance_uuid',
            autospec=True)).mock
        self.target_cell = self.useFixture(base.fixtures.MockPatch(
            'nova.context.target_cell', autospec=True)).mock
        self.target_cell.return_value.__enter__.return_value = (
            mock.sentinel.cell_context)
        self.get_by_filters = self.useFixture(base.fixtures.MockPatch(
            'nova.objects.MigrationList.get_by_filters', autospec=True,
            return_value=[])).mock

    def test_nova_created_is_novas_own_rule(self):
        self.assertEqual(
            {'p1': True, 'p2': False},
            novadb.nova_created([{'id': 'p1', 'preserve_on_delete': False},
                                 {'id': 'p2', 'preserve_on_delete': True},
                                 {'id': 'p3'}]))
        self.assertEqual({}, novadb.nova_created(None))
        self.assertEqual({}, novadb.nova_created([]))

    def test_cell_of_the_instance_where_the_process_reads_the_dbs(self):
        with novadb.instance_cell(self.ctxt, UUID) as cctxt:
            self.assertIs(mock.sentinel.cell_context, cctxt)
        self.mapping.assert_called_once_with(self.ctxt, UUID)
        self.target_cell.assert_called_once_with(
            self.ctxt, self.mapping.return_value.cell_mapping)

    def test_no_cell_known(self):
        self.mapping.side_effect = nova_exception.InstanceMappingNotFound(
            uuid=UUID)
        with novadb.instance_cell(self.ctxt, UUID) as cctxt:
            self.assertIsNone(cctxt)
        self.mapping.side_effect = None
        self.mapping.return_value.cell_mapping = None
        with novadb.instance_cell(self.ctxt, UUID) as cctxt:
            self.assertIsNone(cctxt)
        self.target_cell.assert_not_called()

    def test_through_conductor_the_context_as_it_is(self):
        self.useFixture(base.fixtures.MonkeyPatch(
            'nova.objects.base.NovaObject.indirection_api', mock.Mock()))
        with novadb.instance_cell(self.ctxt, UUID) as cctxt:
            self.assertIs(self.ctxt, cctxt)
        self.mapping.assert_not_called()

    def test_migration_uuids_read_deleted(self):
        self.get_by_filters.return_value = [
            objects.Migration(uuid=MIGRATION), objects.Migration()]
        self.useFixture(base.fixtures.MonkeyPatch(
            'nova.objects.base.NovaObject.indirection_api', mock.Mock()))
        self.assertEqual([MIGRATION], novadb.migration_uuids(self.ctxt, UUID))
        [ctxt, filters] = self.get_by_filters.call_args[0]
        self.assertEqual(('yes', {'instance_uuid': UUID}),
                         (ctxt.read_deleted, filters))

    def test_migration_uuids_none_without_a_cell(self):
        self.mapping.side_effect = nova_exception.InstanceMappingNotFound(
            uuid=UUID)
        self.assertEqual([], novadb.migration_uuids(self.ctxt, UUID))
        self.get_by_filters.assert_not_called()

    def test_network_info_of_the_deleted_instance(self):
        self.useFixture(base.fixtures.MonkeyPatch(
            'nova.objects.base.NovaObject.indirection_api', mock.Mock()))
        with mock.patch.object(objects.InstanceInfoCache,
                               'get_by_instance_uuid',
                               autospec=True) as get:
            get.return_value.network_info = ['vif']
            self.assertEqual(['vif'], novadb.network_info(self.ctxt, UUID))
            self.assertEqual('yes', get.call_args[0][0].read_deleted)
            get.side_effect = nova_exception.InstanceInfoCacheNotFound(
                instance_uuid=UUID)
            self.assertIsNone(novadb.network_info(self.ctxt, UUID))
