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

"""Tests of :mod:`nova_delete_ext.conf`."""

from oslo_config import cfg
from stevedore import driver as stevedore_driver

from nova_delete_ext import conf as ext_conf
from nova_delete_ext.tests.unit import base


class ListOptsTest(base.TestCase):

    def _opts(self, name='delete_ext'):
        groups = {group.name: (group, opts)
                  for group, opts in ext_conf.list_opts()}
        group, opts = groups[name]
        return group, {opt.name: opt for opt in opts}

    def test_groups(self):
        self.assertEqual(
            ['delete_ext', 'delete_ext_protect', 'delete_ext_recycle',
             'delete_ext_capture', 'delete_ext_verify',
             'delete_ext_collector'],
            [group.name for group, _ in ext_conf.list_opts()])
        for group, opts in ext_conf.list_opts():
            self.assertIsInstance(group, cfg.OptGroup)
            self.assertTrue(group.help, group.name)
            for opt in opts:
                self.assertTrue(opt.help, '%s.%s' % (group.name, opt.name))

    def test_delete_ext_group(self):
        group, opts = self._opts()
        self.assertEqual({'enabled', 'record_file', 'sinks', 'policies',
                          'policy_timeout', 'sink_queue_size',
                          'sink_stop_timeout', 'sink_retry_age',
                          'after_delete_workers', 'after_delete_queue_size',
                          'programs'},
                         set(opts))

    def test_after_delete_workers_and_queue_small_and_bounded(self):
        opts = self._opts()[1]
        self.assertEqual((2, 1), (opts['after_delete_workers'].default,
                                  opts['after_delete_workers'].type.min))
        self.assertEqual((100, 1), (opts['after_delete_queue_size'].default,
                                    opts['after_delete_queue_size'].type.min))

    def test_collector_group(self):
        opts = self._opts('delete_ext_collector')[1]
        self.assertEqual(
            {'connection': 'sqlite:////var/lib/nova-delete-ext/records.sqlite',
             'pool': 'nova-delete-ext', 'topics': [], 'batch_size': 500,
             'batch_timeout': 1.0, 'retry_interval': 1.0,
             'max_retry_interval': 60.0, 'retention_days': 0,
             'metrics_host': '127.0.0.1', 'metrics_port': 9781,
             'poll_interval': 60.0},
            {name: opt.default for name, opt in opts.items()})
        # A URL carries the database password.
        self.assertTrue(opts['connection'].secret)
        self.assertEqual(0, opts['metrics_port'].type.min)

    def test_verify_timeout(self):
        opt = self._opts('delete_ext_verify')[1]['timeout']
        self.assertIsInstance(opt, cfg.FloatOpt)
        self.assertEqual((30.0, 1.0), (opt.default, opt.type.min))
        for name in ('[placement]timeout', '[neutron]timeout',
                     '[cinder]timeout', '[glance]timeout'):
            self.assertIn(name, opt.help)

    def test_policies(self):
        opt = self._opts()[1]['policies']
        self.assertIsInstance(opt, cfg.ListOpt)
        self.assertEqual([], opt.default)

    def test_enabled(self):
        opt = self._opts()[1]['enabled']
        self.assertIsInstance(opt, cfg.BoolOpt)
        self.assertIs(True, opt.default)
        self.assertTrue(opt.help)

    def test_record_file(self):
        opt = self._opts()[1]['record_file']
        self.assertIsInstance(opt, cfg.StrOpt)
        self.assertIsNone(opt.default)
        self.assertTrue(opt.help)
        # Renamed: the old name works for one release, with a warning.
        self.assertEqual(['audit_log'],
                         [d.name for d in opt.deprecated_opts])

    def test_sinks(self):
        opt = self._opts()[1]['sinks']
        self.assertIsInstance(opt, cfg.ListOpt)
        self.assertEqual(['file'], opt.default)

    def test_entry_point(self):
        mgr = stevedore_driver.DriverManager('oslo.config.opts',
                                             'nova_delete_ext')
        self.assertIs(ext_conf.list_opts, mgr.driver)


class RegisterOptsTest(base.TestCase):

    def test_on_global_conf(self):
        self.assertIs(cfg.CONF, ext_conf.CONF)
        self.assertTrue(cfg.CONF.delete_ext.enabled)
        self.assertIsNone(cfg.CONF.delete_ext.record_file)

    def test_flags(self):
        self.flags(enabled=False, record_file='/x', group='delete_ext')
        self.assertFalse(cfg.CONF.delete_ext.enabled)
        self.assertEqual('/x', cfg.CONF.delete_ext.record_file)

    def test_fresh_conf_idempotent(self):
        conf = cfg.ConfigOpts()
        ext_conf.register_opts(conf)
        ext_conf.register_opts(conf)
        conf([], default_config_files=[])
        self.assertTrue(conf.delete_ext.enabled)
        self.assertIsNone(conf.delete_ext.record_file)

    def test_read_from_config_file(self):
        path = self.create_tempfiles(
            [('nova', '[delete_ext]\nenabled = false\n'
                      'audit_log = /var/log/nova/delete-audit.jsonl\n')])[0]
        conf = cfg.ConfigOpts()
        ext_conf.register_opts(conf)
        conf([], default_config_files=[path])
        self.assertFalse(conf.delete_ext.enabled)
        self.assertEqual('/var/log/nova/delete-audit.jsonl',
                         conf.delete_ext.record_file)
