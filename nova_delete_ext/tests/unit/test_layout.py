"""The package tree follows a delete's data, one way.

A delete enters through the hooks, the policies decide on it (and check
for leaks), the record says what happened, the sinks take it away:
hooks -> policies -> leaks -> record -> sinks. A package imports only
packages after it, and the shared modules (conf, states, exception,
compat, deadline). The entry points (activation, cmd) may import anything.
"""

import ast
import os

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
                count = sum(1 for _ in f)
            if count > MAX_LINES:
                long[relative] = count
        self.assertEqual({}, long)
