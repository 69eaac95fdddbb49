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

"""The demo: a server deleted from every state, on an in-process Nova.

Run it with ``tox -e demo`` (or ``python -m
nova_delete_ext.tests.functional.demo [AUDIT_FILE]``). It boots Nova's
functional harness with the extension installed, takes one server into each
state, deletes it the way that state calls for, then does a few deletes
with the four built-in policies in force, prints a table of the records
and the path of the JSON-lines record file they were written to.

The records also go out as notifications (``sinks = file,notification``)
on the in-process Nova's ``fake://`` bus, where a
``nova-delete-ext-collector`` of the demo's own stores them in an SQLite
database beside the record file; the demo ends with what
``nova-delete-ext records list`` answers from it.
"""

import os
import subprocess
import sys
import time
import unittest

from nova_delete_ext import policies
from nova_delete_ext.tests.functional import base
from nova_delete_ext.tests.functional import collecting
from nova_delete_ext.tests.functional import scenarios

# Set by main(): the terminal, while everything the services print goes to
# the demo's log file.
OUT = sys.__stdout__

# (label, the state to reach, what to do then)
STEPS = (
    ('active', 'active', 'delete'),
    ('stopped', 'stopped', 'delete'),
    ('paused', 'paused', 'delete'),
    ('suspended', 'suspended', 'delete'),
    ('rescued', 'rescued', 'delete'),
    ('resized', 'resized', 'delete'),
    ('shelved', 'shelved', 'delete'),
    ('shelved_offloaded', 'shelved_offloaded', 'delete'),
    ('error', 'error', 'delete'),
    ('error, no host', 'error_no_host', 'delete'),
    ('soft-delete', 'active', 'soft_delete'),
    ('soft-delete, restore', 'soft_delete', 'restore'),
    ('soft-delete, forceDelete', 'soft_delete', 'force_delete'),
    ('soft-delete, reclaim', 'soft_delete', 'reclaim'),
    ('active, restart mid-delete', 'active', 'restart'),
    # With protect, recycle, capture and verify in force (see POLICIES).
    ('active, protected', 'active', 'protected_delete'),
    ('active, recycled', 'active', 'recycled_delete'),
    ('paused, not recycled', 'paused', 'delete'),
    ('error, captured', 'error', 'delete'),
    ('stopped, placement fails', 'stopped', 'leaky_delete'),
    # Without policies again.
    ('active, host down', 'active', 'host_down'),
    # Last: no server builds after this one.
    ('building', 'building', 'delete'),
)


_POLICY_LABELS = ('active, protected', 'active, recycled',
                  'paused, not recycled', 'error, captured',
                  'stopped, placement fails')


class Demo(scenarios.ServerStates, scenarios.LeakyDeletes,
           base.DeleteExtTestBase):

    record_path = None

    def setUp(self):
        super().setUp()
        if self.record_path:
            self.flags(record_file=self.record_path, group='delete_ext')
            self.record_file = self.record_path
        base_name = os.path.splitext(self.record_file)[0]
        self.database = base_name + '-collector.sqlite'
        self.collector_conf = base_name + '-collector.conf'
        for path in (self.database, self.collector_conf):
            if os.path.exists(path):
                os.unlink(path)
        self.useFixture(collecting.OnTheBus(self))
        self.collecting = self.useFixture(
            collecting.Collecting(self.database))
        self.capture_dir = os.path.splitext(self.record_file)[0] + '-captures'
        self.policies = self.use_policies(
            'protect', 'recycle', 'capture', 'verify',
            delete_ext_recycle={'retention': {'active': 86400}},
            delete_ext_capture={'directory': self.capture_dir},
            delete_ext_verify={'mode': 'repair'})
        self.no_policies = policies.PolicyChain()

    def act(self, server, action):
        if action == 'protected_delete':
            self.api.post_server_metadata(server['id'],
                                          {'delete_protection': 'true'})
            self.assert_conflict(self.api.delete_server, server['id'])
            return
        if action == 'recycled_delete':
            self.api.delete_server(server['id'])
            self._wait_for_state_change(server, 'SOFT_DELETED')
            return
        if action == 'leaky_delete':
            self.delete_keeping_allocations(server)
            return
        if action in ('delete', 'host_down'):
            if action == 'host_down':
                self.compute_host_down()
            self._delete_server(server)
        elif action == 'soft_delete':
            self.flags(reclaim_instance_interval=3600)
            self.api.delete_server(server['id'])
            self._wait_for_state_change(server, 'SOFT_DELETED')
            self.flags(reclaim_instance_interval=0)
        elif action == 'restore':
            self.api.post_server_action(server['id'], {'restore': None})
            self._wait_for_state_change(server, 'ACTIVE')
        elif action == 'force_delete':
            self.api.post_server_action(server['id'], {'forceDelete': None})
            self._wait_until_deleted(server)
        elif action == 'reclaim':
            self.reclaim_now()
            self._wait_until_deleted(server)
        elif action == 'restart':
            self.delete_interrupted_then_restart(server)
            self._wait_until_deleted(server)

    def test_demo(self):
        rows = []
        for number, (label, state, action) in enumerate(STEPS, 1):
            OUT.write('[%2d/%d] %-28s' % (number, len(STEPS), label))
            OUT.flush()
            started = time.monotonic()
            policies.set_active(self.policies if label in _POLICY_LABELS
                                else self.no_policies)
            server = self.server_in(state)
            seen = len(self.records(server['id'], kind='delete'))
            self.act(server, action)
            record = self.wait_for_record(server, seen + 1)
            if label in _POLICY_LABELS and record['outcome'] == 'deleted':
                # verify writes its check record once it has checked, off
                # the delete's path.
                check = self.check_record(server)
                record = dict(record, decisions=record['decisions'] +
                              check['decisions'])
            rows.append((label, record))
            OUT.write('%s (%.1fs)\n' % (record['outcome'],
                                        time.monotonic() - started))
        print_table(rows)
        OUT.write('\nJSON-lines record file: %s\n' % self.record_file)
        OUT.write('Capture files: %s\n' % self.capture_dir)
        self.print_collected()

    def print_collected(self):
        """``records list`` of what the collector stored, once it has all."""
        written = len(self.records())
        self.collecting.wait_for(lambda health: health.stored >= written)
        with open(self.collector_conf, 'w') as f:
            f.write('[delete_ext_collector]\nconnection = %s\n'
                    % self.collecting.connection)
        command = ['nova-delete-ext', 'records', 'list', '--config-file',
                   self.collector_conf]
        listing = subprocess.run(
            [sys.executable, '-c', 'import sys; from nova_delete_ext '
             'import cmd; sys.exit(cmd.main())'] + command[1:],
            capture_output=True, text=True)
        OUT.write('\nThe collector stored the %d records from the bus in '
                  '%s.\n$ %s\n%s%s' % (
                      written, self.database, ' '.join(command),
                      listing.stdout, listing.stderr))


def print_table(rows):
    headers = ('state at request', 'type', 'trigger', 'path', 'released',
               'retained', 'outcome', 'ms', 'policy decisions')
    table = [headers] + [
        (label, r['delete_type'], r['trigger'], r['path'] or '-',
         ','.join(r['released']) or '-', ','.join(r['retained']) or '-',
         r['outcome'], '%.0f' % r['duration_ms'],
         ' '.join(r['decisions']) or '-')
        for label, r in rows]
    widths = [max(len(str(row[i])) for row in table)
              for i in range(len(headers))]
    OUT.write('\n')
    for index, row in enumerate(table):
        OUT.write('  '.join(str(cell).ljust(width)
                            for cell, width in zip(row, widths)).rstrip())
        OUT.write('\n')
        if index == 0:
            OUT.write('  '.join('-' * width for width in widths) + '\n')


def _send_output_to(log_path):
    """Keep the terminal for the demo; the services' output goes to a file."""
    global OUT
    sys.stdout.flush()
    sys.stderr.flush()
    OUT = os.fdopen(os.dup(1), 'w', buffering=1)
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.close(log_fd)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    Demo.record_path = os.path.abspath(
        argv[0] if argv else 'nova-delete-ext-demo-records.jsonl')
    log_path = os.path.splitext(Demo.record_path)[0] + '.log'
    if os.path.exists(Demo.record_path):
        os.unlink(Demo.record_path)
    _send_output_to(log_path)
    OUT.write('Booting an in-process Nova (API, conductor, scheduler, fake '
              'compute, placement) with nova-delete-ext installed...\n')
    result = unittest.TextTestRunner(stream=open(os.devnull, 'w'),
                                     verbosity=0).run(Demo('test_demo'))
    for _, trace in result.errors + result.failures:
        OUT.write('\nThe demo failed:\n%s\n'
                  % '\n'.join(trace.splitlines()[-12:]))
    OUT.write('Service log: %s\n' % log_path)
    return 0 if result.wasSuccessful() else 1


if __name__ == '__main__':
    sys.exit(main())
