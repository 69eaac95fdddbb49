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

"""requirements.txt covers what the package imports, and installs as said.

A module the extension imports that no line of requirements.txt provides
works in the test environments (something else pulls it in) and breaks a
deployment whose Nova does not. Nova itself is the exception: the
extension is installed into the environment that runs it (the install
guide says so), and listing it could make pip upgrade Nova.
"""

import ast
import glob
import importlib.metadata
import os
import re
import sys

from packaging import requirements
from packaging import utils as packaging_utils

from nova_delete_ext.tests.unit import base

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
PACKAGE = 'nova_delete_ext'
#: Imported, never required: the deployment provides them.
PROVIDED_BY_THE_DEPLOYMENT = {'nova'}


def _requirements(name='requirements.txt'):
    """``{normalized distribution name: Requirement}`` of a file."""
    found = {}
    with open(os.path.join(ROOT, name)) as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if line and not line.startswith('-'):
                req = requirements.Requirement(line)
                found[packaging_utils.canonicalize_name(req.name)] = req
    return found


def _package_sources():
    """``{path: source}`` of every module but the tests."""
    sources = {}
    for folder, dirs, files in os.walk(os.path.join(ROOT, PACKAGE)):
        dirs[:] = [d for d in dirs if d != 'tests']
        for name in files:
            if name.endswith('.py'):
                path = os.path.join(folder, name)
                with open(path) as f:
                    sources[os.path.relpath(path, ROOT)] = f.read()
    return sources


def _imported(source):
    """The top-level names of the modules ``source`` imports, anywhere."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name.partition('.')[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module.partition('.')[0]


def uncovered(sources, required):
    """``[(path, module, distributions)]`` that ``required`` misses."""
    distributions = importlib.metadata.packages_distributions()
    missing = []
    for path, source in sorted(sources.items()):
        for module in sorted(set(_imported(source))):
            if (module in sys.stdlib_module_names or module == PACKAGE or
                    module in PROVIDED_BY_THE_DEPLOYMENT):
                continue
            names = distributions.get(module, [])
            if not any(packaging_utils.canonicalize_name(name) in required
                       for name in names):
                missing.append((path, module, names))
    return missing


class RequirementsTest(base.TestCase):

    def test_every_import_is_required(self):
        self.assertEqual([], uncovered(_package_sources(), _requirements()))

    def test_an_import_not_required_is_found(self):
        # The check above is only as good as the mapping it relies on.
        sources = {'a.py': 'import yaml\n'
                           'def f():\n    from oslo_log import log\n'
                           '    import json, nova.compute.api\n'
                           'from nova_delete_ext import states\n'}
        self.assertEqual([('a.py', 'yaml', ['PyYAML'])],
                         uncovered(sources, _requirements()))
        self.assertEqual(
            [('a.py', 'oslo_log', ['oslo.log']),
             ('a.py', 'yaml', ['PyYAML'])],
            uncovered(sources, {}))

    def test_nova_is_not_required(self):
        for name in PROVIDED_BY_THE_DEPLOYMENT:
            self.assertNotIn(name, _requirements())
        with open(os.path.join(ROOT, 'doc', 'source', 'install',
                               'index.rst')) as f:
            self.assertIn('Nova itself is not a dependency', f.read())

    def test_lower_bounds_install_nothing_newer_than_nova_has(self):
        # Installed into the environment of any maintained Nova, the
        # package upgrades none of its libraries.
        wrong = []
        for path in sorted(glob.glob(os.path.join(ROOT, 'constraints',
                                                  'nova-*.txt'))):
            pins = {}
            with open(path) as f:
                for line in f:
                    match = re.match(r'^([^=#\s]+)==(\S+)', line)
                    if match:
                        pins[packaging_utils.canonicalize_name(
                            match.group(1))] = match.group(2)
            for name, req in _requirements().items():
                if name not in pins:
                    wrong.append('%s: %s is not pinned' % (path, name))
                elif not req.specifier.contains(pins[name],
                                                prereleases=True):
                    wrong.append('%s: %s==%s does not satisfy %s'
                                 % (os.path.basename(path), name, pins[name],
                                    req))
        self.assertEqual([], wrong)
