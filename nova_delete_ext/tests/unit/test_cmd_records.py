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

"""Tests of ``nova-delete-ext records`` and ``nova-delete-ext db``.

The same records are read from a database and from record files (one of
them rotated and gzip-compressed): every filter must give the same answer
from both.
"""

import gzip
import io
import json
import os
from unittest import mock

import ddt
import fixtures

from nova_delete_ext import cmd
from nova_delete_ext.cmd import common
from nova_delete_ext.collector import totals
from nova_delete_ext.db import api as db_api
from nova_delete_ext.db import migration
from nova_delete_ext.tests.unit import base
from nova_delete_ext.tests.unit import store_fixtures as sf

S1 = '11111111-1111-4111-8111-111111111111'
S2 = '22222222-2222-4222-8222-222222222222'
S3 = '33333333-3333-4333-8333-333333333333'


def _records():
    d1 = sf.delete_record(id='d1', instance_uuid=S1, project_id='p1',
                          user_id='u1', host='h1',
                          requested_at='2026-03-12T10:00:00+00:00',
                          decisions=['protect:allow'])
    d2 = sf.delete_record(id='d2', instance_uuid=S2, project_id='p1',
                          user_id='u2', host='h2', vm_state='error',
                          path='local', recorded_by='api@ctl1',
                          requested_at='2026-03-12T11:05:00+01:00',
                          decisions=['capture:saved', 'verify:queued'])
    c1 = sf.check_record(d2, id='c1',
                         checked_at='2026-03-12T10:06:00+00:00')
    d3 = sf.delete_record(id='d3', instance_uuid=S1, project_id='p2',
                          vm_state='stopped', outcome='denied',
                          requested_at='2026-03-12T10:10:00+00:00',
                          decisions=['protect:deny(tag)'])
    d4 = sf.delete_record(id='d4', instance_uuid=S3, project_id='p2',
                          outcome='soft_deleted',
                          requested_at='2026-03-12T11:00:00+00:00',
                          decisions=['recycle:soft_delete(60s)'])
    return [d1, d2, c1, d3, d4]


def _line(record):
    """The record as the file sink writes it: no schema_version."""
    data = {k: v for k, v in record.items() if k != 'schema_version'}
    return json.dumps(data, sort_keys=True) + '\n'


class _CommandTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.records = _records()
        self.db = self.useFixture(sf.Database())
        self.db.store.add(self.records)
        folder = self.useFixture(fixtures.TempDir()).path
        self.config = os.path.join(folder, 'collector.conf')
        self.write_config()
        # The older records, rotated and compressed by logrotate.
        self.rotated = os.path.join(folder, 'records.jsonl.1.gz')
        with gzip.open(self.rotated, 'wt') as f:
            f.writelines(_line(r) for r in self.records[:2])
        self.current = os.path.join(folder, 'records.jsonl')
        with open(self.current, 'w') as f:
            f.write(_line(self.records[0]))  # also in the rotated file
            f.write('\n{"event": "leak_repair", "kind": "ports"}\n')
            f.writelines(_line(r) for r in self.records[2:])
        self.useFixture(fixtures.MockPatchObject(
            common.logging, 'setup', autospec=True))

    def write_config(self, **options):
        options.setdefault('connection', self.db.url)
        with open(self.config, 'w') as f:
            f.write('[delete_ext_collector]\n')
            for name, value in options.items():
                f.write('%s = %s\n' % (name, value))

    def run_cmd(self, *argv):
        out, err = io.StringIO(), io.StringIO()
        with fixtures.MonkeyPatch('sys.stdout', out), \
                fixtures.MonkeyPatch('sys.stderr', err):
            try:
                code = cmd.main(list(argv))
            except SystemExit as exc:
                code = exc.code
        self.out, self.err = out.getvalue(), err.getvalue()
        return code

    def ids(self, source, *argv):
        if source == 'db':
            argv += ('--config-file', self.config)
        else:
            argv += ('--file', self.current, self.rotated)
        self.assertEqual(0, self.run_cmd('records', 'list', '-f', 'json',
                                         *argv), self.err)
        return [record['id'] for record in json.loads(self.out)]


@ddt.ddt
class ListTest(_CommandTest):

    @ddt.data(
        ((), ['d4', 'd3', 'c1', 'd2', 'd1']),
        (('--server', S1), ['d3', 'd1']),
        (('--project', 'p1'), ['c1', 'd2', 'd1']),
        (('--user', 'u2'), ['c1', 'd2']),
        (('--host', 'h2'), ['d2']),
        (('--vm-state', 'error'), ['d2']),
        (('--path', 'local'), ['c1', 'd2']),
        (('--outcome', 'denied'), ['d3']),
        (('--policy', 'verify'), ['c1', 'd2']),
        (('--policy', 'protect'), ['d3', 'd1']),
        (('--policy', 'recycle', '--project', 'p1'), []),
        (('--since', '2026-03-12T10:05:00Z'), ['d4', 'd3', 'c1', 'd2']),
        (('--until', '2026-03-12T11:06:00+01:00'), ['d2', 'd1']),
        (('--since', '2026-03-12T10:05', '--until', '2026-03-12T11:00'),
         ['d3', 'c1', 'd2']),
        (('--policy', 'verify', '--since', '2026-03-12T10:06'), ['c1']),
        (('--limit', '2'), ['d4', 'd3']),
        (('--limit', '0'), ['d4', 'd3', 'c1', 'd2', 'd1']),
    )
    @ddt.unpack
    def test_filters_same_answer_from_db_and_files(self, argv, expected):
        self.assertEqual(expected, self.ids('db', *argv))
        self.assertEqual(expected, self.ids('file', *argv))

    def test_records_as_stored_without_schema_version(self):
        self.ids('db')
        from_db = json.loads(self.out)
        self.ids('file')
        self.assertEqual(from_db, json.loads(self.out))
        expected = [{k: v for k, v in r.items() if k != 'schema_version'}
                    for r in self.records]
        self.assertEqual(sorted(expected, key=lambda r: r['id']),
                         sorted(from_db, key=lambda r: r['id']))

    def test_file_lines_that_are_not_records(self):
        with open(self.current, 'a') as f:
            f.write('not json\n{"kind": "delete"}\n')
        self.ids('file')
        self.assertEqual(
            'Skipped 2 line(s) that are not records; the first: %s:7: not '
            'JSON (Expecting value: line 1 column 1 (char 0))\n'
            % self.current, self.err)

    def test_more_than_the_limit(self):
        self.ids('db', '--limit', '4')
        self.assertIn('The newest 4 records are shown; more match',
                      self.err)
        self.ids('db', '--limit', '5')
        self.assertEqual('', self.err)

    def test_table(self):
        self.assertEqual(0, self.run_cmd('records', 'list', '--config-file',
                                         self.config, '--server', S1))
        lines = self.out.splitlines()
        self.assertIn('| Time', lines[1])
        self.assertEqual(2 + 4, len(lines))
        self.assertIn('protect:deny(tag)', lines[3])
        self.assertIn('2026-03-12T10:10:00+00:00', lines[3])

    def test_csv(self):
        self.assertEqual(0, self.run_cmd('records', 'list', '--config-file',
                                         self.config, '-f', 'csv',
                                         '--policy', 'verify'))
        lines = self.out.splitlines()
        self.assertTrue(lines[0].startswith('id,kind,delete_id,time,'))
        self.assertEqual(3, len(lines))
        self.assertIn('c1,check,d2,2026-03-12T10:06:00+00:00', lines[1])
        self.assertIn('ports:port-1', lines[1])
        self.assertIn('capture:saved;verify:queued', lines[2])


class ShowTest(_CommandTest):

    def test_delete_and_its_checks(self):
        for source in (('--config-file', self.config),
                       ('--file', self.current, self.rotated)):
            self.assertEqual(0, self.run_cmd('records', 'show', 'd2',
                                             '-f', 'json', *source))
            self.assertEqual(['d2', 'c1'],
                             [r['id'] for r in json.loads(self.out)])

    def test_table_shows_leaks_and_repairs(self):
        self.assertEqual(0, self.run_cmd('records', 'show', 'd2',
                                         '--config-file', self.config))
        self.assertIn('Check record 1 of 1', self.out)
        self.assertRegex(self.out, r'\| leaks +\| ports:port-1 bound')
        self.assertRegex(self.out, r'\| repaired +\| ports:port-1')

    def test_unknown_id(self):
        self.assertEqual(1, self.run_cmd('records', 'show', 'nope',
                                         '--config-file', self.config))
        self.assertEqual('No record has the id nope.\n', self.err)


@ddt.ddt
class BadInputTest(_CommandTest):

    @ddt.data(
        ('list', '--vm-state', 'actve'),
        ('list', '--outcome', 'gone'),
        ('list', '--path', 'far'),
        ('list', '--since', 'yesterday'),
        ('list', '--until', '2026-13-01'),
        ('list', '--limit', '-1'),
        ('list', '--since', '2026-03-12T11:00', '--until', '2026-03-12'),
        ('list', '--format', 'xml'),
        ('list', '--file', '/nonexistent/records.jsonl'),
        ('show', 'd1', '--file', '/nonexistent/records.jsonl'),
        ('list', '--config-file', '/nonexistent/collector.conf'),
        ('purge', '--config-file', '/nonexistent/collector.conf'),
        ('purge', '--batch-size', '0'),
        ('list', '--no-such-option'),
        (),
    )
    def test_one_line_and_status_2(self, argv):
        self.assertEqual(2, self.run_cmd('records', *argv))
        self.assertEqual(1, len(self.err.splitlines()), self.err)
        self.assertIn('error: ', self.err)
        self.assertEqual('', self.out)

    def test_bad_configuration_value(self):
        self.write_config(retention_days='many')
        self.assertEqual(2, self.run_cmd('records', 'purge', '--config-file',
                                         self.config))
        self.assertEqual(1, len(self.err.splitlines()), self.err)

    def test_purge_needs_a_date_or_a_retention(self):
        self.assertEqual(2, self.run_cmd('records', 'purge', '--config-file',
                                         self.config))
        self.assertEqual(
            'nova-delete-ext records purge: error: give --before, or set '
            '[delete_ext_collector]retention_days\n', self.err)

    def test_database_not_synced(self):
        self.write_config(connection=self.useFixture(
            sf.Database(sync=False)).url)
        self.assertEqual(1, self.run_cmd('records', 'list', '--config-file',
                                         self.config))
        self.assertIn('run "nova-delete-ext db sync"', self.err)


class PurgeTest(_CommandTest):

    def test_purge_in_batches_keeps_totals(self):
        before = self.db.store.totals()
        calls = []
        result = self.db.store.purge(
            common.utc_time('2026-03-12T10:30'), batch_size=2,
            progress=lambda r: calls.append(r.deleted))
        self.assertEqual((4, 2), (result.deleted, result.transactions))
        self.assertEqual([2, 4], calls)
        self.assertGreater(result.longest, 0)
        self.assertEqual(['d4'], self.ids('db'))
        self.assertEqual([], self.ids('db', '--policy', 'verify'))
        self.assertEqual(before, self.db.store.totals())
        self.assertEqual(4.0, sum(
            v for (m, _), v in self.db.store.totals().items()
            if m == totals.DELETES_TOTAL))

    def test_batches_shrink_when_slow_and_grow_when_quick(self):
        self.db.store.add([sf.delete_record(
            requested_at='2026-01-01T00:00:%02d+00:00' % second)
            for second in range(10)])
        real = db_api.Store._purge_batch
        # Seconds each batch takes: slow, quick, in between, then none left.
        clock = [0, 0.5, 1, 1.01, 2, 2.1, 3, 3.0, 4, 4.0]
        with mock.patch.object(db_api, '_clock', autospec=True,
                               side_effect=clock), \
                mock.patch.object(db_api.Store, '_purge_batch',
                                  autospec=True, side_effect=real) as batch:
            result = self.db.store.purge(common.utc_time('2026-02-01'),
                                         batch_size=4)
        self.assertEqual([4, 2, 4, 4],
                         [c.args[2] for c in batch.call_args_list])
        self.assertEqual((10, 3, 0.5), (result.deleted, result.transactions,
                                        result.longest))

    def test_command_with_retention_days(self):
        self.write_config(retention_days=30)
        recent = sf.delete_record(id='recent', requested_at=(
            common.utc_time('1d').isoformat() + '+00:00'))
        self.db.store.add([recent])
        self.assertEqual(0, self.run_cmd('records', 'purge', '--config-file',
                                         self.config, '--batch-size', '3'))
        self.assertRegex(self.out, r'^Purged 5 record\(s\) older than \S+ '
                                   r'\S+ UTC in 2 transaction\(s\); the '
                                   r'longest took \d+\.\d{3} s\.\n$')
        self.assertEqual(['recent'], self.ids('db'))

    def test_command_with_before(self):
        self.assertEqual(0, self.run_cmd(
            'records', 'purge', '--config-file', self.config, '--before',
            '2026-03-12T10:06:00Z'))
        self.assertEqual(['d4', 'd3', 'c1'], self.ids('db'))


class DbCommandTest(_CommandTest):

    def test_sync_and_version(self):
        self.write_config(connection=self.useFixture(
            sf.Database(sync=False)).url)
        self.assertEqual(0, self.run_cmd('db', 'version', '--config-file',
                                         self.config))
        self.assertEqual('None\n', self.out)
        self.assertEqual(0, self.run_cmd('db', 'sync', '--config-file',
                                         self.config))
        self.assertEqual(0, self.run_cmd('db', 'version', '--config-file',
                                         self.config))
        self.assertEqual(migration.head_version() + '\n', self.out)

    def test_unknown_revision(self):
        self.assertEqual(2, self.run_cmd('db', 'sync', '--revision', 'abc',
                                         '--config-file', self.config))
        self.assertEqual(1, len(self.err.splitlines()), self.err)

    def test_database_down(self):
        self.write_config(connection='sqlite:////nonexistent/dir/r.sqlite')
        self.assertEqual(1, self.run_cmd('db', 'version', '--config-file',
                                         self.config))
        self.assertIn('Error: the record database: ', self.err)


class CommandDispatchTest(base.TestCase):

    @mock.patch('nova_delete_ext.cmd.records.run', autospec=True,
                return_value=0)
    def test_records_dispatched(self, run):
        self.assertEqual(0, cmd.main(['records', 'list']))
        self.assertEqual('list', run.call_args.args[0].action)
