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

"""Tests of :mod:`nova_delete_ext.leaks.index` and :mod:`.sweep`."""

from unittest import mock

import fixtures
from glanceclient.v2 import images as glance_images
from neutronclient.v2_0 import client as neutron_client

from nova.volume import cinder

from nova_delete_ext import leaks
from nova_delete_ext.leaks import index as leak_index
from nova_delete_ext.leaks import providers
from nova_delete_ext.leaks import rows
from nova_delete_ext.leaks import services
from nova_delete_ext.leaks import sweep
from nova_delete_ext import states
from nova_delete_ext.tests.unit import base
from nova_delete_ext.tests.unit import test_leaks

A, B, C = ('aaaaaaaa-0000-4000-8000-00000000000%d' % i for i in (1, 2, 3))
MIG = 'bbbbbbbb-0000-4000-8000-000000000001'
IMG_A, IMG_B, IMG_C = ('cccccccc-0000-4000-8000-00000000000%d' % i
                       for i in (1, 2, 3))


class _Att:

    def __init__(self, att_id, instance, volume='v'):
        self.id = att_id
        self.data = {'id': att_id, 'instance': instance, 'volume_id': volume}

    def to_dict(self):
        return dict(self.data)


class IndexTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.ctxt = mock.Mock(global_id='req-1')

    @mock.patch.object(cinder, 'cinderclient', autospec=True)
    def test_attachments_paged_by_marker(self, cinderclient):
        listing = cinderclient.return_value.attachments.list
        listing.side_effect = [[_Att('1', A), _Att('2', B)],
                               [_Att('3', A, 'v3'), _Att('4', None)], []]
        index = leak_index.attachments_by_instance(
            self.ctxt, services.Clients(timeout=10), page_size=2)
        self.assertEqual(['1', '3'], [a['id'] for a in index[A]])
        self.assertEqual('v3', index[A][1]['volume_id'])
        self.assertEqual([mock.call(search_opts={'all_tenants': 1},
                                    marker=m, limit=2)
                          for m in (None, '2', '4')], listing.call_args_list)
        cinderclient.assert_called_once_with(self.ctxt, '3.44',
                                             skip_version_check=True)


class BulkFinderTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.clients = test_leaks.make_clients()
        self.neutron = self.clients.neutron.return_value
        self.neutron.list_ports.return_value = {'ports': [
            test_leaks.port(device_id=B, port_id='pb')]}
        self.clients.image_api.get_all.return_value = []
        self.finder = leak_index.BulkFinder(mock.sentinel.ctxt, self.clients)
        self.allocs = self.useFixture(fixtures.MockPatchObject(
            providers, 'allocations_by_consumer', autospec=True,
            return_value={A: {'rp1': {'resources': {'VCPU': 1}}}}))
        self.atts = self.useFixture(mock_fixture(
            'attachments_by_instance',
            {C: [{'id': 'att', 'instance': C, 'volume_id': 'v'}]}))

    def test_each_kind_from_its_index(self):
        every = frozenset(sweep.SWEPT)
        found = self.finder.find([leak_index.Group(every, [A, B, C])])
        self.assertEqual([(A, states.ALLOCATIONS, 'rp1'),
                          (B, states.PORTS, 'pb'),
                          (C, states.VOLUMES, 'att')],
                         [(x.instance_uuid, x.kind, x.resource_id)
                          for x in found])
        self.neutron.list_ports.assert_called_once_with(
            device_id=[A, B, C], fields=leak_index._PORT_FIELDS)
        self.clients.image_api.get_all.assert_not_called()  # no image id

    def test_indexes_built_once_per_sweep(self):
        wanted = [leak_index.Group(frozenset({states.ALLOCATIONS,
                                              states.VOLUMES}), [A])]
        self.finder.find(wanted)
        self.finder.find(wanted)
        self.assertEqual(1, self.allocs.mock.call_count)
        self.assertEqual(1, self.atts.mock.call_count)

    def test_no_index_when_no_instance_needs_it(self):
        self.finder.find([leak_index.Group(frozenset({states.PORTS}), [A])])
        self.allocs.mock.assert_not_called()
        self.atts.mock.assert_not_called()

    def test_candidates_from_the_indexes_asked(self):
        self.assertEqual([A], self.finder.candidates({states.ALLOCATIONS}))
        self.assertEqual([A, C], self.finder.candidates(
            {states.ALLOCATIONS, states.VOLUMES}))
        self.assertEqual([C], self.finder.candidates({states.VOLUMES}))

    def test_ports_in_chunks(self):
        self.useFixture(fixtures_patch(leak_index, 'PORT_CHUNK', 2))
        wanted = [leak_index.Group(frozenset({states.PORTS}), [A, B]),
                  leak_index.Group(frozenset({states.PORTS}), [C])]
        self.finder.find(wanted)
        self.assertEqual([[A, B], [C]],
                         [c.kwargs['device_id']
                          for c in self.neutron.list_ports.call_args_list])

    def test_ports_listed_once_past_the_threshold(self):
        # Two instances by device_id; from the third, every port once,
        # then nothing more from Neutron for the rest of the sweep.
        self.useFixture(fixtures_patch(leak_index, 'PORT_LISTING_AT', 3))
        self.neutron.list_ports.return_value = {'ports': [
            test_leaks.port(device_id=B, port_id='pb'),
            test_leaks.port(device_id=C, port_id='pc'),
            test_leaks.port(device_id='', port_id='free')]}
        ports = frozenset({states.PORTS})
        found = self.finder.find([leak_index.Group(ports, [A, B])])
        self.assertEqual(['pb'], [x.resource_id for x in found])
        found = self.finder.find([leak_index.Group(ports, [C])])
        self.assertEqual(['pc'], [x.resource_id for x in found])
        found = self.finder.find([leak_index.Group(ports, [B])])
        self.assertEqual(['pb'], [x.resource_id for x in found])
        self.assertEqual(
            [mock.call(device_id=[A, B], fields=leak_index._PORT_FIELDS),
             mock.call(fields=leak_index._PORT_FIELDS)],
            self.neutron.list_ports.call_args_list)

    def test_allocations_of_migrations_with_their_instance(self):
        self.allocs.mock.return_value = {
            A: {'rp1': {'resources': {'VCPU': 1}}},
            MIG: {'rp2': {'resources': {'VCPU': 2}}}}
        # B's group does not check allocations: its migration's still are.
        found = self.finder.find(
            [leak_index.Group(frozenset({states.ALLOCATIONS}), [A]),
             leak_index.Group(frozenset({states.PORTS}), [C])],
            order=[A, B, C], migrations={B: [MIG, 'not-a-consumer']})
        self.assertEqual([(A, 'rp1', A), (B, 'rp2', MIG)],
                         [(x.instance_uuid, x.resource_id, x.consumer)
                          for x in found])

    def test_owners_asked_once_only_for_ports_found(self):
        asked = []

        def owners(uuids):
            asked.append(uuids)
            return {B: {'pb': True}}

        found = self.finder.find(
            [leak_index.Group(frozenset({states.PORTS}), [A, B])],
            owners=owners)
        self.assertEqual([(B, True)], [(x.instance_uuid, x.created_by_nova)
                                       for x in found])
        self.assertEqual([[B]], asked)  # not A: Neutron has no port of it

    def test_owners_not_asked_without_a_port_leak(self):
        owners = mock.Mock()
        self.finder.find([leak_index.Group(frozenset({states.PORTS}), [A])],
                         owners=owners)
        owners.assert_not_called()

    def test_leaks_in_the_order_asked(self):
        every = frozenset(sweep.SWEPT)
        found = self.finder.find([leak_index.Group(every, [A, C]),
                                  leak_index.Group(every, [B])],
                                 order=[C, B, A])
        self.assertEqual([C, B, A], [x.instance_uuid for x in found])

    def test_shelve_images_looked_up_at_once(self):
        listed = self.clients.image_api.get_all
        listed.return_value = [test_leaks.image(owner=A, image_id=IMG_A),
                               test_leaks.image(owner=B, image_id=IMG_B)]
        found = self.finder.find([leak_index.Group(
            frozenset({states.SHELVE_IMAGE}), [A, B, C],
            {A: IMG_A, B: IMG_B, C: IMG_C})])
        self.assertEqual(
            [leaks.Leak(states.SHELVE_IMAGE, A, IMG_A, 'name=vm-shelved'),
             leaks.Leak(states.SHELVE_IMAGE, B, IMG_B, 'name=vm-shelved')],
            found)
        listed.assert_called_once_with(
            mock.sentinel.ctxt, page_size=leak_index.IMAGE_CHUNK,
            filters={'id': 'in:%s' % ','.join(sorted([IMG_A, IMG_B, IMG_C])),
                     'visibility': 'all'})


# Some deployments refuse a longer URL (see leak_index.PORT_CHUNK).
MAX_URL = 3 * 1024


class QueryUrlTest(base.TestCase):
    """A full chunk's query, as the service's own client sends it."""

    def uuids(self, count):
        return ['aaaaaaaa-0000-4000-8000-%012d' % n for n in range(count)]

    def test_a_neutron_query_fits(self):
        client = neutron_client.Client(endpoint_url='http://neutron:9696',
                                       token='t')
        sent = self.useFixture(fixtures.MockPatchObject(
            client.httpclient, 'do_request', autospec=True,
            return_value=(mock.Mock(status_code=200), '{"ports": []}'))).mock
        clients = test_leaks.make_clients()
        clients.neutron.return_value = client
        leak_index.ports_of(mock.sentinel.ctxt, clients,
                            self.uuids(leak_index.PORT_CHUNK))
        url = sent.call_args.args[0]
        self.assertIn('device_id=', url)
        self.assertLessEqual(len(url), MAX_URL)

    def test_a_glance_query_fits(self):
        clients = test_leaks.make_clients()
        leak_index.images_by_id(mock.sentinel.ctxt, clients,
                                self.uuids(leak_index.IMAGE_CHUNK))
        asked = clients.image_api.get_all.call_args.kwargs
        http = mock.Mock()
        http.get.return_value = (mock.Mock(headers={}), {'images': []})
        list(glance_images.Controller(http, mock.Mock()).list(**asked))
        url = http.get.call_args.args[0]
        self.assertIn('id=in%3A', url)
        self.assertLessEqual(len(url), MAX_URL)


class ImagesByIdTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.clients = test_leaks.make_clients()
        self.listed = self.clients.image_api.get_all

    def test_in_chunks_of_ids(self):
        self.useFixture(fixtures.MockPatchObject(leak_index, 'IMAGE_CHUNK',
                                                 2))
        self.listed.side_effect = [
            [test_leaks.image(image_id=IMG_A)], [test_leaks.image(
                image_id=IMG_C)]]
        found = leak_index.images_by_id(mock.sentinel.ctxt, self.clients,
                                        [IMG_C, IMG_B, IMG_A, IMG_B])
        self.assertEqual({IMG_A, IMG_C}, set(found))
        self.assertEqual(['in:%s,%s' % (IMG_A, IMG_B), 'in:%s' % IMG_C],
                         [c.kwargs['filters']['id']
                          for c in self.listed.call_args_list])

    def test_only_the_ids_asked(self):
        # Nova's GlanceFixture lists every image, whatever the filter.
        self.listed.return_value = [test_leaks.image(image_id=IMG_A),
                                    test_leaks.image(image_id=IMG_B)]
        self.assertEqual([IMG_A], list(leak_index.images_by_id(
            mock.sentinel.ctxt, self.clients, [IMG_A])))

    def test_an_id_that_is_no_uuid_names_no_image(self):
        self.assertEqual({}, leak_index.images_by_id(
            mock.sentinel.ctxt, self.clients, ['a,b', 'img-1', None]))
        self.listed.assert_not_called()


def mock_fixture(name, value):
    return fixtures.MockPatchObject(leak_index, name, autospec=True,
                                    return_value=value)


def fixtures_patch(obj, name, value):
    return fixtures.MonkeyPatch('%s.%s' % (obj.__name__, name), value)


def row(**fields):
    """A deleted instance's row as a sweep reads it."""
    values = dict(id=1, uuid=A, host='cmp1', restorable=0)
    values.update(fields)
    return rows.DeletedRow(**values)


class StateKnowledgeTest(base.TestCase):

    def groups(self, rows, shelved=None, kinds=sweep.SWEPT):
        return sweep.group(rows, shelved or {}, kinds)

    def kinds(self, shelved=None, kinds=sweep.SWEPT, **fields):
        groups, _restorable = self.groups([row(**fields)], shelved, kinds)
        [one] = groups
        self.assertEqual([A], one.instance_uuids)
        return one.kinds

    def test_deleted_from_a_host(self):
        self.assertEqual({states.ALLOCATIONS, states.PORTS, states.VOLUMES},
                         self.kinds(host='cmp1'))

    def test_never_on_a_host(self):
        self.assertEqual({states.ALLOCATIONS, states.PORTS, states.VOLUMES},
                         self.kinds(host=None))

    def test_shelved_offloaded_held_no_allocation(self):
        [one], _ = self.groups([row(host=None)], {A: 'img-1'})
        self.assertEqual({states.PORTS, states.VOLUMES, states.SHELVE_IMAGE},
                         one.kinds)
        self.assertEqual({A: 'img-1'}, one.shelve_images)

    def test_shelved_on_a_host(self):
        self.assertEqual(
            {states.ALLOCATIONS, states.PORTS, states.VOLUMES,
             states.SHELVE_IMAGE},
            self.kinds(host='cmp1', shelved={A: 'img-1'}))

    def test_soft_deleted_is_still_restorable(self):
        self.assertEqual(([], 1), self.groups([row(restorable=1)]))

    def test_kinds_narrowed(self):
        self.assertEqual({states.PORTS}, self.kinds(
            kinds={states.PORTS, states.DOMAIN}))

    def test_shelve_snapshot_looked_up_only_where_it_matters(self):
        self.assertEqual((True, True), sweep.shelve_matters(sweep.SWEPT))
        # A server shelved offloaded held no allocation; on a host, being
        # shelved changes nothing for allocations or volumes.
        self.assertEqual((False, True), sweep.shelve_matters(
            {states.ALLOCATIONS, states.VOLUMES}))
        self.assertEqual((False, False), sweep.shelve_matters(
            {states.PORTS}))

    def test_a_page_in_four_groups(self):
        rows = [row(id=1, uuid=A), row(id=2, uuid=B, host=None),
                row(id=3, uuid=C, host=None), row(id=4, uuid='s1'),
                row(id=5, uuid='r', restorable=1)]
        groups, restorable = self.groups(rows, {'s1': 'img', 'other': 'x'})
        self.assertEqual(1, restorable)
        self.assertEqual([[A], [B, C], ['s1']],
                         [g.instance_uuids for g in groups])
        self.assertEqual({'s1': 'img'}, groups[2].shelve_images)
        # The kinds are worked out once per combination, not per row.
        self.assertIs(groups[0].kinds, sweep.held(True, False,
                                                  frozenset(sweep.SWEPT)))
