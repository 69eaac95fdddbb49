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

"""Tests of ``nova-delete-ext sweep``: arguments, output, repair, exit codes.

The sweep itself is replaced by a fake that yields given leaks; the
functional tests run the real one on an in-process Nova.
"""

import datetime
import io
import os
import subprocess
import sys
from unittest import mock

import fixtures
from keystoneauth1 import exceptions as ks_exceptions
from oslo_serialization import jsonutils

from nova_delete_ext import cmd
from nova_delete_ext.cmd import sweep as sweep_cmd
from nova_delete_ext import leaks
from nova_delete_ext.leaks import repair
from nova_delete_ext.leaks import sweep
from nova_delete_ext import states
from nova_delete_ext.tests.unit import base

UUID = base.UUID
LEAKS = [leaks.Leak(states.PORTS, UUID, 'port-1', 'device_owner=compute:x'),
         leaks.Leak(states.ALLOCATIONS, UUID, 'rp-1', 'VCPU=1')]


class _Out(io.StringIO):

    def __init__(self, tty=False):
        super().__init__()
        self.tty = tty

    def isatty(self):
        return self.tty


class AuditCommandTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.load = self.useFixture(fixtures.MockPatchObject(
            sweep_cmd, '_load_config', autospec=True)).mock
        self.useFixture(fixtures.MockPatch(
            'nova.objects.register_all', autospec=True))
        self.repair = self.useFixture(fixtures.MockPatchObject(
            repair, 'repair', autospec=True,
            side_effect=lambda ctxt, leak, clients: 'fixed ' +
            leak.resource_id)).mock
        self.found = list(LEAKS)
        self.failed_cells = []
        self.sweep_cls = self.useFixture(fixtures.MockPatchObject(
            sweep, 'Sweep', autospec=True, side_effect=self._sweep)).mock
        self.log_path = os.path.join(
            self.useFixture(fixtures.TempDir()).path, 'records.jsonl')
        self.flags(record_file=self.log_path, group='delete_ext')
        # Glance is called as Nova's service user (a plugin without options
        # here).
        self.flags(auth_type='none', group='service_user')
        self.out, self.err = _Out(), _Out()

    def _sweep(self, context, clients, filters, kinds, batch_size,
               progress, placement_concurrency):
        fake = mock.Mock(spec=['leaks', 'counts'])
        fake.counts = sweep.Counts(instances=10, restorable=2, cells=2,
                                   failed_cells=self.failed_cells)

        def gen():
            if progress:
                progress(fake.counts, 0)
            yield from self.found
        fake.leaks.side_effect = gen
        return fake

    def run_cmd(self, *argv):
        args = self._parse(list(argv))
        args.parser = sweep_cmd.argparse.ArgumentParser()
        return sweep_cmd.run(args, out=self.out, err=self.err)

    def _parse(self, argv):
        parser = sweep_cmd.argparse.ArgumentParser()
        sweep_cmd.add_arguments(parser)
        return parser.parse_args(argv)

    def json_out(self):
        return jsonutils.loads(self.out.getvalue())

    def record_lines(self):
        if not os.path.exists(self.log_path):
            return []
        with open(self.log_path) as f:
            return [jsonutils.loads(line) for line in f]

    # Exit codes -------------------------------------------------------------

    def test_nothing_found_exits_0(self):
        self.found = []
        self.assertEqual(0, self.run_cmd())
        self.assertIn('0 leak(s) in 10 deleted instance(s) of 2 cell(s); 2 '
                      'soft-deleted', self.out.getvalue())

    def test_leaks_found_exits_3_and_repairs_nothing(self):
        self.assertEqual(3, self.run_cmd())
        self.repair.assert_not_called()
        self.assertEqual([], self.record_lines())
        table = self.out.getvalue()
        self.assertIn('port-1', table)
        self.assertIn('device_owner=compute:x', table)
        self.assertNotIn('Repair', table)

    def test_repair_yes_exits_4_and_logs_each(self):
        self.assertEqual(4, self.run_cmd('--repair', '--yes'))
        self.assertEqual(2, self.repair.call_count)
        lines = self.record_lines()
        self.assertEqual(['port-1', 'rp-1'],
                         [line['resource_id'] for line in lines])
        self.assertEqual({'repaired'}, {line['outcome'] for line in lines})
        self.assertEqual('fixed port-1', lines[0]['action'])
        self.assertEqual('leak_repair', lines[0]['event'])
        self.assertIn('fixed rp-1', self.out.getvalue())

    def test_a_failed_repair_exits_1_and_is_logged(self):
        self.repair.side_effect = [RuntimeError('neutron down'), 'fixed']
        self.assertEqual(1, self.run_cmd('--repair', '--yes',
                                         '--format', 'json'))
        lines = self.record_lines()
        self.assertEqual(['failed', 'repaired'],
                         [line['outcome'] for line in lines])
        self.assertIn('neutron down', lines[0]['error'])
        self.assertIn('neutron down',
                      self.json_out()['leaks'][0]['error'])

    def test_glance_is_called_as_novas_service_user(self):
        with mock.patch.object(sweep_cmd.ks_loading,
                               'load_auth_from_conf_options',
                               autospec=True) as load:
            self.assertEqual(sweep_cmd.FOUND, self.run_cmd())
        load.assert_called_once_with(sweep_cmd.CONF, 'service_user')
        context = self.sweep_cls.call_args[0][0]
        self.assertIs(load.return_value, context.user_auth_plugin)

    def test_shelve_images_need_the_service_users_credentials(self):
        self.flags(auth_type=None, group='service_user')
        with mock.patch('sys.stderr', new_callable=io.StringIO) as stderr:
            error = self.assertRaises(SystemExit, self.run_cmd)
        self.assertEqual(2, error.code)
        self.assertIn('[service_user] in nova.conf names no credentials',
                      stderr.getvalue())
        self.sweep_cls.assert_not_called()
        # Without shelve_image, Glance is not called.
        self.assertEqual(sweep_cmd.FOUND,
                         self.run_cmd('--kinds', 'ports,allocations'))

    def test_service_user_credentials_that_do_not_load(self):
        # Mocked: loading a real plugin would register its options (a
        # required auth_url) on the process's configuration for good.
        with mock.patch.object(
                sweep_cmd.ks_loading, 'load_auth_from_conf_options',
                autospec=True, side_effect=ks_exceptions.AuthPluginException(
                    'auth_url missing')), \
                mock.patch('sys.stderr', new_callable=io.StringIO) as stderr:
            error = self.assertRaises(SystemExit, self.run_cmd)
        self.assertEqual(2, error.code)
        self.assertIn('configuration: [service_user]: auth_url missing',
                      stderr.getvalue())
        self.sweep_cls.assert_not_called()

    def test_an_unreadable_cell_exits_1(self):
        self.failed_cells = ['cell2']
        self.assertEqual(1, self.run_cmd())
        self.assertIn('Cell cell2 could not be read', self.out.getvalue())

    def test_sweep_error_exits_1(self):
        self.sweep_cls.side_effect = RuntimeError('db down')
        self.assertEqual(1, self.run_cmd())
        self.assertIn('RuntimeError: db down', self.err.getvalue())

    # Confirmation ------------------------------------------------------------

    @mock.patch('sys.stdin', new_callable=lambda: _Out(tty=True))
    def test_confirmed_on_a_terminal(self, stdin):
        stdin.write('y\n')
        stdin.seek(0)
        self.assertEqual(4, self.run_cmd('--repair'))
        self.assertIn('Repair 2 leak(s)?', self.err.getvalue())

    @mock.patch('sys.stdin', new_callable=lambda: _Out(tty=True))
    def test_declined_on_a_terminal(self, stdin):
        stdin.write('\n')
        stdin.seek(0)
        self.assertEqual(3, self.run_cmd('--repair'))
        self.repair.assert_not_called()

    @mock.patch('sys.stdin', new_callable=_Out)
    def test_no_terminal_no_yes_repairs_nothing(self, stdin):
        self.assertEqual(3, self.run_cmd('--repair'))
        self.repair.assert_not_called()
        self.assertIn('add --yes', self.err.getvalue())

    # Arguments -------------------------------------------------------------

    def test_filters_and_options_reach_the_sweep(self):
        self.run_cmd('--since', '2025-01-02T03:00:00+01:00',
                     '--before', '2025-02-01', '--project', 'p1',
                     '--cell', 'cell1', '--kinds', 'ports,volumes',
                     '--batch-size', '7', '--placement-concurrency', '2')
        kwargs = self.sweep_cls.call_args
        filters = kwargs.args[2]
        self.assertEqual(sweep.Filters(
            since=datetime.datetime(2025, 1, 2, 2, 0),
            before=datetime.datetime(2025, 2, 1), project_id='p1',
            cell='cell1'), filters)
        self.assertEqual({states.PORTS, states.VOLUMES},
                         kwargs.kwargs['kinds'])
        self.assertEqual(7, kwargs.kwargs['batch_size'])
        self.assertEqual(2, kwargs.kwargs['placement_concurrency'])

    def test_progress_only_on_a_terminal(self):
        self.run_cmd()
        self.assertIsNone(self.sweep_cls.call_args.kwargs['progress'])
        self.err = _Out(tty=True)
        self.run_cmd()
        self.assertIn('\rCell 2, 10 deleted instances read, 0 leak(s) so far',
                      self.err.getvalue())

    def _usage_error(self, *argv):
        with fixtures.MonkeyPatch('sys.stderr', io.StringIO()):
            error = self.assertRaises(SystemExit, sweep_cmd.main, list(argv))
        self.assertEqual(2, error.code)

    def test_bad_arguments_exit_2(self):
        self._usage_error('--since', 'yesterday')
        self._usage_error('--kinds', 'domain')
        self._usage_error('--batch-size', '0')
        self._usage_error('--placement-concurrency', '0')
        self._usage_error('--format', 'xml')
        self._usage_error('--since', '2025-02-01', '--before', '2025-01-01')
        self.sweep_cls.assert_not_called()

    def test_repair_needs_the_record_file(self):
        self.flags(record_file=None, group='delete_ext')
        self._usage_error('--repair', '--yes')
        self.sweep_cls.assert_not_called()

    def test_unknown_cell_exits_2(self):
        self.sweep_cls.side_effect = sweep.UnknownCell(cell='c9')
        self._usage_error('--cell', 'c9')

    def test_json(self):
        self.assertEqual(3, self.run_cmd('--format', 'json'))
        data = self.json_out()
        self.assertEqual((10, 2, 2, []),
                         (data['instances'], data['restorable_skipped'],
                          data['cells'], data['failed_cells']))
        self.assertEqual([leak.as_dict() for leak in LEAKS], data['leaks'])

    def test_console_script_dispatches_to_sweep(self):
        self.found = []
        err = io.StringIO()
        with fixtures.MonkeyPatch('sys.stdout', io.StringIO()), \
                fixtures.MonkeyPatch('sys.stderr', err):
            self.assertEqual(0, cmd.main(['sweep', '--project', 'p1']))
        self.assertEqual('p1', self.sweep_cls.call_args.args[2].project_id)
        self.assertEqual('', err.getvalue())

    def test_audit_is_a_deprecated_alias_of_sweep(self):
        self.found = []
        err = io.StringIO()
        with fixtures.MonkeyPatch('sys.stdout', io.StringIO()), \
                fixtures.MonkeyPatch('sys.stderr', err):
            self.assertEqual(0, cmd.main(['audit', '--project', 'p1']))
        self.assertEqual('p1', self.sweep_cls.call_args.args[2].project_id)
        self.assertIn('"nova-delete-ext audit" is deprecated',
                      err.getvalue())
        self.assertIn('use "nova-delete-ext sweep"', err.getvalue())


class LoadConfigTest(base.TestCase):

    @mock.patch.object(sweep_cmd.logging, 'setup', autospec=True)
    @mock.patch.object(sweep_cmd.nova_config, 'parse_args', autospec=True)
    def test_like_nova_manage(self, parse_args, setup):
        parser = sweep_cmd.argparse.ArgumentParser()
        sweep_cmd.add_arguments(parser)
        args = parser.parse_args(['--config-file', 'a.conf',
                                  '--config-file', 'b.conf',
                                  '--config-dir', 'd', '--debug'])
        sweep_cmd._load_config(args)
        parse_args.assert_called_once_with(
            ['nova-delete-ext', '--config-file', 'a.conf', '--config-file',
             'b.conf', '--config-dir', 'd', '--debug'])
        setup.assert_called_once_with(sweep_cmd.CONF, 'nova-delete-ext')

    def test_cell_mappings_can_be_read_afterwards(self):
        # In a fresh interpreter, as the command runs: in this one other
        # tests have registered the messaging options already.
        temp = self.useFixture(fixtures.TempDir()).path
        conf_file = os.path.join(temp, 'nova.conf')
        with open(conf_file, 'w') as f:
            f.write('[DEFAULT]\ntransport_url = rabbit://u:p@mq:5672/\n')
        result = subprocess.run(
            [sys.executable, '-c', _READ_CELL_URL, conf_file],
            capture_output=True, text=True, timeout=150)
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertEqual('rabbit://u:p@mq:5672/cell1',
                         result.stdout.strip().splitlines()[-1])


# What reading a cell mapping from the database does to its URL, after the
# sweep has read its configuration.
_READ_CELL_URL = '''
import argparse, sys
from nova.objects import cell_mapping
from nova_delete_ext.cmd import sweep
parser = argparse.ArgumentParser()
sweep.add_arguments(parser)
sweep._load_config(parser.parse_args(['--config-file', sys.argv[1]]))
print(cell_mapping.CellMapping.format_mq_url(
    '{scheme}://{username}:{password}@{hostname}:{port}/cell1'))
'''
