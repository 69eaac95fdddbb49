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

"""The package tree follows a delete's data, one way.

A delete enters through the hooks, the policies decide on it (and check
for leaks), the record says what happened, the sinks take it away:
hooks -> policies -> leaks -> record -> sinks. A package imports only
packages after it, and the shared modules (conf, states, exception,
compat, deadline). The entry points (activation, cmd) may import anything.

The collector and its record store (collector/, db/) stand beside that
flow: they read the record's documented schema, never the hooks or the
policies, and ``nova-delete-ext records`` and ``db`` import neither Nova
nor the collector's listener.
"""

import ast
import os
import subprocess
import sys
import textwrap

import fixtures

from nova_delete_ext.tests.unit import base

PACKAGE = 'nova_delete_ext'
FLOW = ('hooks', 'policies', 'leaks', 'record', 'sinks')
SHARED = ('conf', 'states', 'exception', 'compat', 'deadline')
ENTRY_POINTS = ('activation', 'early_log', 'startup', 'cmd')
#: Lines a module of the package may have, about.
MAX_LINES = 300


def _modules():
    root = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != 'tests']
        for name in files:
            if name.endswith('.py'):
                path = os.path.join(folder, name)
                yield os.path.relpath(path, root), path


#: Beside the flow: may import only these packages of the extension.
BESIDE = {'collector': {'collector', 'db', 'conf'},
          'db': {'collector', 'db', 'conf'}}


def _imported_modules(path):
    """Every module ``path`` imports, as dotted names."""
    tree = ast.parse(open(path).read())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                yield '%s.%s' % (node.module, alias.name)


def _imported_packages(path):
    tree = ast.parse(open(path).read())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and (
                node.module.startswith(PACKAGE)):
            for alias in node.names:
                yield ('%s.%s' % (node.module, alias.name)).split('.')[1]


class LayoutTest(base.TestCase):

    def test_imports_follow_the_flow(self):
        wrong = []
        for relative, path in _modules():
            package = relative.split(os.sep)[0].rsplit('.py', 1)[0]
            if package not in FLOW:
                continue
            allowed = set(FLOW[FLOW.index(package):]) | set(SHARED)
            for imported in _imported_packages(path):
                if imported not in allowed:
                    wrong.append('%s imports %s' % (relative, imported))
        self.assertEqual([], wrong)

    def test_shared_modules_import_no_package_of_the_flow(self):
        for relative, path in _modules():
            package = relative.split(os.sep)[0].rsplit('.py', 1)[0]
            if package in SHARED:
                self.assertEqual(
                    set(), set(_imported_packages(path)) & set(FLOW),
                    relative)

    def test_modules_are_short(self):
        long = {}
        for relative, path in _modules():
            with open(path) as f:
                lines = f.readlines()
            # The licence header is not the module's own.
            header = next((n for n, line in enumerate(lines)
                           if line.strip() and not line.startswith('#')),
                          len(lines))
            count = len(lines) - header
            if count > MAX_LINES:
                long[relative] = count
        self.assertEqual({}, long)

    def test_collector_and_store_beside_the_flow(self):
        wrong = []
        for relative, path in _modules():
            package = relative.split(os.sep)[0]
            if package not in BESIDE:
                continue
            for module in _imported_modules(path):
                parts = module.split('.')
                if parts[0] == 'nova' or (
                        parts[0] == PACKAGE and
                        parts[1] not in BESIDE[package]):
                    wrong.append('%s imports %s' % (relative, module))
        self.assertEqual([], wrong)


_NOT_LOADED = textwrap.dedent("""
    import sys
    from nova_delete_ext import cmd
    try:
        code = cmd.main(sys.argv[1:])
    except SystemExit as exc:
        code = exc.code
    loaded = sorted(name for name in sys.modules
                    if name.split('.')[0] in ('nova', 'oslo_messaging') or
                    name.startswith(('nova_delete_ext.hooks',
                                     'nova_delete_ext.policies',
                                     'nova_delete_ext.collector.listener',
                                     'nova_delete_ext.collector.service')))
    print('LOADED', code, loaded)
""")


class CommandImportsTest(base.TestCase):
    """``records`` and ``db`` run without importing Nova (about 4 s)."""

    def _loaded(self, *argv):
        result = subprocess.run(
            [sys.executable, '-c', _NOT_LOADED] + list(argv),
            capture_output=True, text=True, timeout=120)
        line = [line for line in result.stdout.splitlines()
                if line.startswith('LOADED ')]
        self.assertEqual(1, len(line), result.stdout + result.stderr)
        return line[0]

    def test_records_and_db_import_no_nova(self):
        folder = self.useFixture(fixtures.TempDir()).path
        config = os.path.join(folder, 'collector.conf')
        with open(config, 'w') as f:
            f.write('[delete_ext_collector]\nconnection = sqlite:///%s\n'
                    % os.path.join(folder, 'r.sqlite'))
        records = os.path.join(folder, 'records.jsonl')
        with open(records, 'w') as f:
            f.write('{"kind": "delete", "id": "a", "instance_uuid": "u", '
                    '"requested_at": "2026-03-12T10:00:00+00:00"}\n')
        self.assertEqual('LOADED 0 []', self._loaded(
            'db', 'sync', '--config-file', config))
        self.assertEqual('LOADED 0 []', self._loaded(
            'records', 'list', '--config-file', config, '--server', 'u'))
        self.assertEqual('LOADED 0 []', self._loaded(
            'records', 'show', 'a', '--file', records))
        self.assertEqual('LOADED 0 []', self._loaded(
            'records', 'purge', '--config-file', config, '--before', '1d'))

    def test_the_check_sees_nova(self):
        # The sweep imports Nova: the check above would see it.
        self.assertIn("'nova'", self._loaded('sweep', '--format', 'xml'))
