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

"""``nova-delete-ext sweep`` on a real in-process Nova, with real leaks.

Each leak is made the way it happens in a deployment: a service call of
Nova's delete path fails, Nova logs it and finishes the delete anyway. The
sweep then runs in-process through the command's ``main()``.
"""

import contextlib
import io
import threading

import fixtures
from nova import context as nova_context
from nova.db.main import api as main_db
from nova.db.main import models
from nova import objects
from nova.scheduler.client import report
from oslo_db import exception as db_exc
from oslo_serialization import jsonutils

from nova_delete_ext.cmd import sweep as sweep_cmd
from nova_delete_ext.leaks import index as leak_index
from nova_delete_ext.leaks import novadb
from nova_delete_ext.leaks import rows
from nova_delete_ext.leaks import sweep
from nova_delete_ext import states
from nova_delete_ext.tests.functional import base
from nova_delete_ext.tests.functional import scenarios

PORT_1 = scenarios.PORT_1
VOLUME = scenarios.VOLUME


class _Attachment:

    def __init__(self, data):
        self.id = data['id']
        self._data = data

    def to_dict(self):
        return dict(self._data)


class CinderAttachmentListing(fixtures.Fixture):
    """Cinder's paged attachment listing, served from the CinderFixture.

    Nova's CinderFixture fakes ``nova.volume.cinder.API`` methods, which
    query attachments by one instance or one volume only. The sweep lists
    them in bulk through ``nova.volume.cinder.cinderclient``; this serves
    that call from the fixture's own attachment records, in pages, in the
    shape Cinder's API returns them.
    """

    def __init__(self, cinder):
        super().__init__()
        self.cinder = cinder
        self.calls = 0

    def _setUp(self):
        self.useFixture(fixtures.MockPatch(
            'nova.volume.cinder.cinderclient', side_effect=self._client))

    def _client(self, context, microversion=None, **kwargs):
        client = fixtures.Fixture()  # any object that takes attributes
        client.attachments = self
        return client

    def list(self, search_opts=None, marker=None, limit=None):
        self.calls += 1
        records = sorted(
            ({'id': att['id'], 'instance': att['instance_uuid'],
              'volume_id': volume_id, 'status': 'attached'}
             for volume_id, atts in self.cinder.volume_to_attachment.items()
             for att in atts.values()),
            key=lambda rec: rec['id'])
        if marker:
            records = [rec for rec in records if rec['id'] > marker]
        return [_Attachment(rec) for rec in records[:limit]]


class SweepTestBase(scenarios.ServerStates, scenarios.LeakyDeletes,
                    base.DeleteExtTestBase):

    def setUp(self):
        super().setUp()
        # The harness has configured Nova already; the command must not
        # parse a nova.conf of this machine.
        self.useFixture(fixtures.MockPatch(
            'nova_delete_ext.cmd.sweep._load_config'))
        # The command calls Glance as Nova's service user; the harness's
        # Glance takes no credentials.
        self.flags(auth_type='none', group='service_user')
        self.listing = self.useFixture(CinderAttachmentListing(self.cinder))
        self.ctxt = nova_context.get_admin_context()

    def sweep(self, *argv):
        """Run the command; return its exit code and its JSON output."""
        out = io.StringIO()
        with contextlib.redirect_stdout(out), \
                contextlib.redirect_stderr(io.StringIO()):
            code = sweep_cmd.main(['--format', 'json'] + list(argv))
        return code, jsonutils.loads(out.getvalue())

    @staticmethod
    def found(output):
        return sorted((leak['kind'], leak['instance_uuid'],
                       leak['resource_id']) for leak in output['leaks'])

    def repairs(self):
        return [r for r in self.records() if r.get('event') == 'leak_repair']

    def allocations(self, server):
        return self._get_allocations_by_server_uuid(server['id'])


class TestAudit(SweepTestBase):

    def make_leaks(self):
        """One deleted server per kind of leak, and clean deletes."""
        leaky = {}
        server = self.server_active()
        [rp] = self.allocations(server)
        self.delete_keeping_allocations(server)
        leaky[states.ALLOCATIONS] = (server['id'], rp)

        server = self.boot(networks=[{'port': PORT_1}])
        self.delete_keeping_port_bound(server)
        leaky[states.PORTS] = (server['id'], PORT_1)

        server = self.server_active()
        self._attach_volume(server, VOLUME)
        attachment = self.cinder.attachment_ids_for_instance(server['id'])[0]
        self.delete_keeping_attachment(server)
        leaky[states.VOLUMES] = (server['id'], attachment)

        server = self.server_shelved_offloaded()
        snapshot = self.shelve_snapshot(server)
        self.delete_keeping_snapshot(server)
        leaky[states.SHELVE_IMAGE] = (server['id'], snapshot)

        # Clean deletes from other states, and a soft delete.
        self._delete_server(self.server_stopped())
        self._delete_server(self.server_shelved())
        self.server_soft_delete()
        return leaky

    def test_report_repair_clean(self):
        leaky = self.make_leaks()
        expected = sorted((kind, uuid, res)
                          for kind, (uuid, res) in leaky.items())

        code, output = self.sweep()
        self.assertEqual(3, code, output)
        self.assertEqual(expected, self.found(output))
        self.assertEqual(7, output['instances'])
        self.assertEqual(1, output['restorable_skipped'])
        self.assertEqual([], self.repairs())  # reporting removes nothing

        code, output = self.sweep('--repair', '--yes')
        self.assertEqual(4, code, output)
        self.assertEqual(expected, self.found(output))
        self.assertTrue(all(leak['action'] for leak in output['leaks']))

        # Gone from the services, and in the record file.
        self.assertEqual({}, self.allocations(
            {'id': leaky[states.ALLOCATIONS][0]}))
        port = self.neutron.show_port(PORT_1)['port']
        self.assertEqual('', port['device_id'])
        self.assertIn(PORT_1, self.neutron._ports)  # unbound, not deleted
        self.assertEqual([], self.cinder.attachment_ids_for_instance(
            leaky[states.VOLUMES][0]))
        self.assertNotIn(leaky[states.SHELVE_IMAGE][1], self.glance.images)
        logged = sorted((r['kind'], r['instance_uuid'], r['resource_id'])
                        for r in self.repairs())
        self.assertEqual(expected, logged)
        self.assertEqual({'repaired'},
                         {r['outcome'] for r in self.repairs()})

        code, output = self.sweep()
        self.assertEqual(0, code, output)
        self.assertEqual([], output['leaks'])

    def test_reading_only_the_named_rows_finds_and_counts_the_same(self):
        # From PORT_LISTING_AT deleted rows on, a full sweep reads only the
        # rows some service (or a shelve snapshot) names, and has the
        # database count them all: it must find and count what reading
        # every row does.
        self.make_leaks()
        read = {}
        for name in ('deleted_pages', 'candidate_pages'):
            read[name] = self.useFixture(fixtures.MockPatchObject(
                rows, name, wraps=getattr(rows, name))).mock

        def sweep(*argv):
            for mock_read in read.values():
                mock_read.reset_mock()
            code, output = self.sweep(*argv)
            # Which way the cells (cell0 and cell1) were read.
            return ((code, self.found(output), output['instances'],
                     output['restorable_skipped']),
                    {name for name, m in read.items() if m.called})

        every, how = sweep()
        self.assertEqual({'deleted_pages'}, how)
        self.useFixture(fixtures.MockPatchObject(
            leak_index, 'PORT_LISTING_AT', 1))
        for kinds in ([], ['--kinds', 'ports,shelve_image']):
            named, how = sweep(*kinds)
            self.assertEqual({'candidate_pages'}, how)
            if not kinds:
                self.assertEqual(every, named)
            else:
                self.assertEqual(
                    [leak for leak in every[1]
                     if leak[0] in (states.PORTS, states.SHELVE_IMAGE)],
                    named[1])
                self.assertEqual(every[2:], named[2:])

    def test_clean_deletes_find_nothing(self):
        self._delete_server(self.server_active())
        self._delete_server(self.server_shelved_offloaded())
        server = self.server_active()
        self._attach_volume(server, VOLUME)
        self._delete_server(server)
        code, output = self.sweep('--repair', '--yes')
        self.assertEqual(0, code, output)
        self.assertEqual(3, output['instances'])
        self.assertEqual([], self.repairs())

    def test_filters_and_kinds(self):
        leaky = self.make_leaks()
        code, output = self.sweep('--kinds', 'allocations,ports')
        self.assertEqual(3, code)
        self.assertEqual({states.ALLOCATIONS, states.PORTS},
                         {leak['kind'] for leak in output['leaks']})
        # Indexed kinds only: just the instances the services name are read.
        code, output = self.sweep('--kinds', 'allocations,volumes')
        self.assertEqual(3, code)
        self.assertEqual(
            sorted((kind, uuid, res) for kind, (uuid, res) in leaky.items()
                   if kind in (states.ALLOCATIONS, states.VOLUMES)),
            self.found(output))
        # The two leaking, and the soft-deleted one, which keeps its own.
        self.assertEqual((3, 1), (output['instances'],
                                  output['restorable_skipped']))
        code, output = self.sweep('--project', 'no-such-project')
        self.assertEqual((0, 0), (code, output['instances']))
        code, output = self.sweep('--since', '2999-01-01T00:00:00Z')
        self.assertEqual((0, 0), (code, output['instances']))
        calls = self.listing.calls
        code, output = self.sweep('--before', '2999-01-01T00:00:00Z',
                                  '--batch-size', '2')
        self.assertEqual(3, code)
        self.assertEqual(len(leaky), len(output['leaks']))
        # Attachments are listed once per sweep: one page, then the end.
        self.assertEqual(2, self.listing.calls - calls)

    def test_reads_rows_in_batches_and_builds_no_objects(self):
        # Nova objects for every deleted instance made a sweep slow and its
        # memory grow with their number: it reads rows of a few columns.
        for _ in range(2):
            self._delete_server(self._create_server(networks='none'))
        self.delete_keeping_allocations(self._create_server(networks='none'))
        reads = []
        original = rows._read

        def spy(session, query, **params):
            read = original(session, query, **params)
            reads.append(read)
            return read

        self.useFixture(fixtures.MonkeyPatch(
            'nova_delete_ext.leaks.rows._read', spy))
        built = self.useFixture(fixtures.MockPatchObject(
            objects.Instance, '_from_db_object',
            wraps=objects.Instance._from_db_object)).mock
        code, output = self.sweep('--batch-size', '2')
        self.assertEqual((3, 3), (code, output['instances']), output)
        # Two rows, one, then none: the end of the cell.
        self.assertEqual([2, 1, 0], [len(read) for read in reads[-3:]])
        self.assertEqual(rows.DeletedRow._fields, reads[-3][0]._fields)
        # The indexed kinds read only the rows placement names.
        del reads[:]
        code, output = self.sweep('--kinds', 'allocations')
        self.assertEqual((3, 1), (code, output['instances']), output)
        self.assertEqual(0, built.call_count)
        # Deleted before the window: none read.
        code, output = self.sweep('--before', '2000-01-01T00:00:00Z')
        self.assertEqual((0, 0), (code, output['instances']))

    def test_port_reused_since_is_left_alone(self):
        server = self.boot(networks=[{'port': PORT_1}])
        self.delete_keeping_port_bound(server)

        def confirm(count, err):
            # While the operator reads the list, the port is reused.
            self.neutron.update_port(PORT_1, {'port': {'device_id': 'other'}})
            return True

        self.useFixture(fixtures.MockPatch(
            'nova_delete_ext.cmd.sweep._confirm', side_effect=confirm))
        code, output = self.sweep('--repair')
        self.assertEqual(4, code)
        self.assertIn('left alone', output['leaks'][0]['action'])
        self.assertEqual('other',
                         self.neutron.show_port(PORT_1)['port']['device_id'])


class TestAuditMigrationsAndPorts(SweepTestBase):

    def test_allocations_of_a_migration(self):
        server = self.server_active()
        migration = self.delete_during_resize(server)
        [rp] = self.allocations({'id': migration})
        with nova_context.target_cell(
                self.ctxt, self.cell_mappings['cell1']) as cctxt:
            # Read a uuid at a time: the query of every chunk finds its own.
            self.assertEqual({server['id']: [migration]},
                             novadb.deleted_migrations(
                                 cctxt, [server['id'], migration, rp],
                                 chunk=1))
        expected = [('allocations', server['id'], rp)]
        for kinds in ('allocations', ','.join(sorted(sweep.SWEPT))):
            # Indexed kinds only, and every deleted instance read.
            code, output = self.sweep('--kinds', kinds)
            self.assertEqual(3, code, output)
            self.assertEqual(expected, self.found(output))
            self.assertEqual(migration, output['leaks'][0]['consumer'])
        code, output = self.sweep('--repair', '--yes')
        self.assertEqual(4, code, output)
        self.assertEqual({}, self.allocations({'id': migration}))
        self.assertEqual([migration], [r['consumer'] for r in self.repairs()])
        self.assertEqual(0, self.sweep()[0])

    def test_port_of_unknown_origin_is_unbound_not_deleted(self):
        # Nova empties the info cache when it deallocates the network: the
        # deleted instance no longer tells who created the port.
        server = self.server_active()
        port_id = self.delete_keeping_nova_port(server)
        code, output = self.sweep('--repair', '--yes')
        self.assertEqual(4, code, output)
        self.assertEqual([('ports', server['id'], port_id)],
                         self.found(output))
        self.assertNotIn('created_by_nova', output['leaks'][0])
        self.assertIn('unbound port', output['leaks'][0]['action'])
        self.assertEqual('', self.neutron.show_port(port_id)['port'][
            'device_id'])

    def test_who_created_each_port_from_the_info_cache_kept(self):
        # When Nova could not deallocate the network, the deleted instance
        # keeps its info cache: it tells which port Nova created (deleted
        # on repair) and which the user brought (only unbound).
        mine, theirs = self.server_active(), self.server_active()
        ports = {}
        for server, preserve in ((mine, False), (theirs, True)):
            ports[server['id']] = self.delete_keeping_nova_port(server)
            self.keep_info_cache(server['id'], [{
                'id': ports[server['id']], 'preserve_on_delete': preserve}])
        code, output = self.sweep('--repair', '--yes')
        self.assertEqual(4, code, output)
        by_instance = {leak['instance_uuid']: leak
                       for leak in output['leaks']}
        self.assertEqual((True, False), tuple(
            by_instance[server['id']]['created_by_nova']
            for server in (mine, theirs)))
        self.assertIn('deleted port', by_instance[mine['id']]['action'])
        self.assertIn('unbound port', by_instance[theirs['id']]['action'])
        self.assertEqual([], self.neutron.list_ports(
            True, id=ports[mine['id']])['ports'])
        self.assertEqual('', self.neutron.show_port(
            ports[theirs['id']])['port']['device_id'])
        with nova_context.target_cell(
                self.ctxt, self.cell_mappings['cell1']) as cctxt:
            self.assertEqual(sorted([mine['id'], theirs['id']]), sorted(
                novadb.network_infos(cctxt, [mine['id'], theirs['id']],
                                     chunk=1)))

    def keep_info_cache(self, instance_uuid, network_info):
        """Set what the deleted instance's info cache says."""
        cache = models.InstanceInfoCache.__table__
        cell = self.cell_mappings['cell1']
        with nova_context.target_cell(self.ctxt, cell) as cctxt:
            writer = main_db.get_context_manager(cctxt).writer
            with writer.using(cctxt) as session:
                changed = session.execute(cache.update().where(
                    cache.c.instance_uuid == instance_uuid).values(
                        network_info=jsonutils.dumps(network_info)))
        self.assertEqual(1, changed.rowcount)


class TestAuditTimeout(SweepTestBase):

    def test_service_that_does_not_answer_stops_the_sweep(self):
        self.flags(timeout=1.0, group='delete_ext_verify')
        self.delete_keeping_allocations(self._create_server(networks='none'))
        release = threading.Event()
        self.addCleanup(release.set)
        get = report.SchedulerReportClient.get

        def hung(client, url, *args, **kwargs):
            if (url == '/resource_providers' and
                    base.called_by_the_leak_checks()):
                # Long enough for the sweep to give up, short enough for
                # a sweep that waits to end the test.
                release.wait(30)
            return get(client, url, *args, **kwargs)

        self.useFixture(fixtures.MockPatchObject(
            report.SchedulerReportClient, 'get', hung))
        err = io.StringIO()
        with contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(err):
            code = sweep_cmd.main(['--kinds', 'allocations'])
        self.assertEqual(1, code)
        self.assertIn('CallTimedOut: placement did not answer', err.getvalue())
        self.assertIn('within 1.0 s', err.getvalue())


class TestAuditCells(SweepTestBase):
    NUMBER_OF_CELLS = 2

    def setUp(self):
        super().setUp()
        self.compute2 = self._start_compute('host2', cell_name='cell2')

    def test_every_cell_and_one(self):
        one = self._create_server(host='compute', networks='none')
        two = self._create_server(host='host2', networks='none')
        self.delete_keeping_allocations(one)
        self.delete_keeping_allocations(two)

        code, output = self.sweep()
        self.assertEqual(3, code, output)
        self.assertEqual(3, output['cells'])  # cell0, cell1, cell2
        self.assertEqual(sorted([one['id'], two['id']]),
                         sorted(leak['instance_uuid']
                                for leak in output['leaks']))

        code, output = self.sweep('--cell', 'cell2', '--repair', '--yes')
        self.assertEqual(4, code, output)
        self.assertEqual([two['id']], [leak['instance_uuid']
                                       for leak in output['leaks']])
        self.assertEqual({}, self.allocations(two))
        self.assertNotEqual({}, self.allocations(one))

    def test_unknown_cell_is_a_usage_error(self):
        with contextlib.redirect_stderr(io.StringIO()):
            error = self.assertRaises(SystemExit, sweep_cmd.main,
                                      ['--cell', 'cell9'])
        self.assertEqual(2, error.code)

    def test_a_cell_that_cannot_be_read_is_left_out(self):
        one = self._create_server(host='compute', networks='none')
        two = self._create_server(host='host2', networks='none')
        self.delete_keeping_allocations(one)
        self.delete_keeping_allocations(two)
        cell2 = self.cell_mappings['cell2'].uuid

        def down(cell_context):
            if cell_context.cell_uuid == cell2:
                raise db_exc.DBConnectionError('cell2 is down')

        def migrations(cell_context, *args, **kwargs):
            down(cell_context)
            return read_migrations(cell_context, *args, **kwargs)

        def pages(cell_context, *args, **kwargs):
            down(cell_context)
            yield from read_pages(cell_context, *args, **kwargs)

        read_migrations = novadb.deleted_migrations
        read_pages = rows.candidate_pages
        # Before the cell's pages, and while reading them.
        for owner, name, fails in ((novadb, 'deleted_migrations', migrations),
                                   (rows, 'candidate_pages', pages)):
            with fixtures.MockPatchObject(owner, name, fails):
                code, output = self.sweep('--kinds', 'allocations')
            self.assertEqual(1, code, output)
            self.assertEqual([self.cell_mappings['cell2'].identity],
                             output['failed_cells'])
            self.assertEqual([one['id']], [leak['instance_uuid']
                                           for leak in output['leaks']])
            self.assertIn('Could not read the deleted instances of cell',
                          self.stdlog.logger.output)
