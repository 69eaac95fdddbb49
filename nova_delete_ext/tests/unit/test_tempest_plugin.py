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

"""The Tempest plugin's hooks, checked without a cloud."""

import os

import fixtures
from oslo_config import cfg
from tempest.test_discover import plugins

from nova_delete_ext.tests.tempest import plugin
from nova_delete_ext.tests.unit import base

FEATURE_GROUP = 'delete_ext_feature_enabled'
SETTINGS_GROUP = 'delete_ext'


class TestTempestPlugin(base.TestCase):

    def setUp(self):
        super().setUp()
        self.plugin = plugin.NovaDeleteExtTempestPlugin()

    def test_is_a_tempest_plugin(self):
        self.assertIsInstance(self.plugin, plugins.TempestPlugin)
        self.assertEqual([], self.plugin.get_service_clients())

    def test_load_tests(self):
        test_dir, top_level_dir = self.plugin.load_tests()
        self.assertEqual(os.path.dirname(os.path.abspath(plugin.__file__)),
                         test_dir)
        self.assertEqual(os.path.join('nova_delete_ext', 'tests', 'tempest'),
                         os.path.relpath(test_dir, top_level_dir))
        self.assertTrue(os.path.isfile(
            os.path.join(top_level_dir, 'nova_delete_ext', '__init__.py')))
        self.assertTrue(os.path.isfile(
            os.path.join(test_dir, 'scenario', '__init__.py')))

    def test_get_opt_lists(self):
        opt_lists = dict(self.plugin.get_opt_lists())
        self.assertEqual({FEATURE_GROUP, SETTINGS_GROUP}, set(opt_lists))
        features = opt_lists[FEATURE_GROUP]
        self.assertEqual(['protect', 'recycle', 'capture', 'verify'],
                         [opt.name for opt in features])
        for opt in features:
            self.assertIsInstance(opt, cfg.BoolOpt)
            self.assertIs(False, opt.default)
            self.assertTrue(opt.help)
        self.assertLessEqual(
            {'protect_metadata_key', 'protect_tag'},
            {opt.name for opt in opt_lists[SETTINGS_GROUP]})

    def test_register_opts(self):
        conf = cfg.ConfigOpts()
        self.plugin.register_opts(conf)
        conf([], project='tempest-plugin-unit-test', default_config_files=[],
             default_config_dirs=[])
        for name in ('protect', 'recycle', 'capture', 'verify'):
            self.assertIs(False, conf[FEATURE_GROUP][name])
        self.assertEqual('delete_protection',
                         conf.delete_ext.protect_metadata_key)
        self.assertEqual('delete-protected', conf.delete_ext.protect_tag)

    def test_register_opts_reads_config_file(self):
        conf_file = os.path.join(self.useFixture(fixtures.TempDir()).path,
                                 'tempest.conf')
        with open(conf_file, 'w') as f:
            f.write('[%s]\nprotect = true\nrecycle = true\n' % FEATURE_GROUP)
        conf = cfg.ConfigOpts()
        self.plugin.register_opts(conf)
        conf([], project='tempest-plugin-unit-test',
             default_config_files=[conf_file], default_config_dirs=[])
        self.assertTrue(conf.delete_ext_feature_enabled.protect)
        self.assertTrue(conf.delete_ext_feature_enabled.recycle)
        self.assertFalse(conf.delete_ext_feature_enabled.capture)
