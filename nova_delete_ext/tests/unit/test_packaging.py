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

"""What a production install registers, and what only the tests install.

The one-machine cloud's fake ML2 mechanism driver binds every port without
wiring anything: nova-delete-ext's own entry points must not offer it to
Neutron. The cloud registers it through a distribution of its own,
``tools/cloud/fakes``, which only the cloud's virtualenv installs.
"""

import ast
import configparser
import os

from nova_delete_ext.tests.unit import base

try:
    import tomllib
except ImportError:  # Python 3.10
    tomllib = None

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
FAKES = os.path.join(REPO, 'tools', 'cloud', 'fakes', 'pyproject.toml')
#: The entry point groups of the production package that may name test
#: code: Tempest finds a plugin's tests only through its own entry point.
TEST_GROUPS = ('tempest.test_plugins',)


def _entry_points():
    """``{group: {name: target}}`` of setup.cfg."""
    parser = configparser.ConfigParser()
    parser.read(os.path.join(REPO, 'setup.cfg'))
    found = {}
    for group, text in parser['entry_points'].items():
        found[group] = dict(
            (part.strip() for part in line.split('=', 1))
            for line in text.splitlines() if line.strip())
    return found


class ProductionEntryPointsTest(base.TestCase):

    def test_no_entry_point_names_test_code(self):
        wrong = ['%s: %s = %s' % (group, name, target)
                 for group, points in _entry_points().items()
                 if group not in TEST_GROUPS
                 for name, target in points.items()
                 if '.tests.' in target or target.startswith('tests.')]
        self.assertEqual([], wrong)

    def test_no_neutron_entry_points(self):
        self.assertEqual([], [group for group in _entry_points()
                              if group.startswith('neutron.')])


class CloudFakesTest(base.TestCase):
    """The test-only distribution names a driver class that exists."""

    def test_ml2_driver_entry_point(self):
        if tomllib is None:
            self.skipTest('tomllib is Python 3.11 and later')
        with open(FAKES, 'rb') as f:
            project = tomllib.load(f)['project']
        drivers = project['entry-points']['neutron.ml2.mechanism_drivers']
        self.assertEqual(['delete_ext_fake'], list(drivers))
        module, _, cls = drivers['delete_ext_fake'].partition(':')
        # By its source: the module imports neutron_lib, which only the
        # cloud's virtualenv has.
        path = os.path.join(REPO, *module.split('.')) + '.py'
        with open(path) as f:
            classes = {node.name for node in ast.walk(ast.parse(f.read()))
                       if isinstance(node, ast.ClassDef)}
        self.assertIn(cls, classes)
        self.assertEqual([], project.get('dependencies', []))
