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

"""Tests of :mod:`nova_delete_ext.activation`: the notification driver."""

import ast
import importlib.metadata
import importlib.util
import json
import logging
import os
import subprocess
import sys
import textwrap
from unittest import mock

import fixtures
import nova.conf
from nova import rpc as nova_rpc
from oslo_config import cfg
from oslo_config import fixture as config_fixture
import oslo_messaging
from oslo_messaging import conffixture as messaging_fixture
from oslo_messaging.notify import _impl_test as test_driver
from stevedore import driver as stevedore_driver

from nova_delete_ext import activation
from nova_delete_ext import conf as ext_conf
from nova_delete_ext import early_log
from nova_delete_ext import exception
from nova_delete_ext import hooks
from nova_delete_ext.hooks import installer
from nova_delete_ext import policies
from nova_delete_ext import programs
from nova_delete_ext.tests.unit import base

DELETE = 'nova.compute.api.API._delete'


def _as_program(conf, prog):
    """Make ``conf`` look parsed by the program ``prog`` (``conf.prog``)."""
    return fixtures.MockPatchObject(conf, 'prog', prog, create=True)


def _bad_installer():
    """The real hook points plus one that matches no method of Nova."""
    bad = installer.HookPoint('nova.compute.api.API', '_delete',
                              '(self, context)', lambda original, *a: None)
    return installer.Installer(hooks.HOOK_POINTS + (bad,))


class ActivateTest(base.TestCase):

    def test_installs_when_enabled(self):
        self.assertTrue(cfg.CONF.delete_ext.enabled)
        self.assertTrue(activation.activate(cfg.CONF))
        self.assertTrue(hooks.installed())
        self.assertEqual([], self.logs.at(logging.ERROR))

    def test_second_activation_is_a_no_op(self):
        self.assertTrue(activation.activate(cfg.CONF))
        self.assertFalse(activation.activate(cfg.CONF))
        self.assertTrue(hooks.installed())

    def test_fresh_conf_registers_options(self):
        conf = cfg.ConfigOpts()
        self.assertTrue(activation.activate(conf))
        self.assertTrue(conf.delete_ext.enabled)
        self.assertIsNone(conf.delete_ext.record_file)
        self.assertTrue(hooks.installed())

    def test_disabled_does_nothing(self):
        self.flags(enabled=False, group='delete_ext')
        with mock.patch.object(hooks, 'install', autospec=True) as install:
            self.assertFalse(activation.activate(cfg.CONF))
        install.assert_not_called()
        self.assertFalse(hooks.installed())
        infos = self.logs.at(logging.INFO)
        self.assertEqual(1, len(infos))
        self.assertIn('[delete_ext]enabled is false', infos[0].getMessage())

    def test_disabled_really_leaves_nova_alone(self):
        from nova.compute import api as compute_api
        original = compute_api.API.__dict__['_delete']
        self.flags(enabled=False, group='delete_ext')
        self.assertFalse(activation.activate(cfg.CONF))
        self.assertIs(original, compute_api.API.__dict__['_delete'])

    def test_mismatch_logs_one_error_and_does_not_raise(self):
        from nova.compute import api as compute_api
        original = compute_api.API.__dict__['_delete']
        self.useFixture(fixtures.MockPatchObject(hooks, '_INSTALLER',
                                                 _bad_installer()))
        self.assertFalse(activation.activate(cfg.CONF))
        errors = self.logs.at(logging.ERROR)
        self.assertEqual(1, len(errors))
        self.assertIn('nothing was installed', errors[0].getMessage())
        self.assertIn(DELETE + ': expected signature (self, context)',
                      errors[0].getMessage())
        self.assertFalse(hooks.installed())
        self.assertIs(original, compute_api.API.__dict__['_delete'])

    def test_mismatch_from_install_mocked(self):
        error = exception.HookMismatch(problems='x.Y.z: method not found')
        with mock.patch.object(hooks, 'install', autospec=True,
                               side_effect=error) as install:
            self.assertFalse(activation.activate(cfg.CONF))
        install.assert_called_once_with()
        errors = self.logs.at(logging.ERROR)
        self.assertEqual([str(error)], [r.getMessage() for r in errors])

    def test_never_raises(self):
        # The docstring promises "never raise"; only HookMismatch is caught,
        # so e.g. the TypeError an Installer re-raises after rolling back a
        # failed setattr escapes.
        with mock.patch.object(hooks, 'install', autospec=True,
                               side_effect=TypeError('setattr failed')):
            self.assertFalse(activation.activate(cfg.CONF))


class DriverTestBase(base.TestCase):
    """A notifier of its own, built as nova-compute would."""

    def setUp(self):
        super().setUp()
        self.msg_conf = cfg.ConfigOpts()
        self.useFixture(config_fixture.Config(self.msg_conf))
        self.transport = oslo_messaging.get_notification_transport(
            self.msg_conf, url='fake:')
        self.addCleanup(self.transport.cleanup)
        self.useFixture(_as_program(self.msg_conf, 'nova-compute'))
        test_driver.reset()
        self.addCleanup(test_driver.reset)

    def _notifier(self, *drivers):
        self.msg_conf.set_override('driver', list(drivers),
                                   group='oslo_messaging_notifications')
        return oslo_messaging.Notifier(self.transport, publisher_id='test')


class DriverTest(DriverTestBase):
    """``[oslo_messaging_notifications]driver = nova_delete_ext``."""

    def test_entry_point(self):
        mgr = stevedore_driver.DriverManager(
            'oslo.messaging.notify.drivers', 'nova_delete_ext')
        self.assertIs(activation.HookInstallerDriver, mgr.driver)
        self.assertTrue(issubclass(
            activation.HookInstallerDriver,
            oslo_messaging.notify.notifier.Driver))

    def test_notifier_installs_hooks(self):
        self.assertFalse(hooks.installed())
        notifier = self._notifier('nova_delete_ext')
        self.assertTrue(hooks.installed())
        self.assertEqual(['nova_delete_ext'],
                         notifier._driver_mgr.names())
        self.assertTrue(hooks.uninstall())

    def test_notifier_respects_enabled_false(self):
        activation.activate(self.msg_conf)  # registers [delete_ext]
        hooks.uninstall()
        self.msg_conf.set_override('enabled', False, group='delete_ext')
        self._notifier('nova_delete_ext')
        self.assertFalse(hooks.installed())

    def test_other_drivers_keep_working(self):
        notifier = self._notifier('nova_delete_ext', 'test')
        self.assertTrue(hooks.installed())
        notifier.info({}, 'compute.instance.delete.end', {'k': 'v'})
        sent = test_driver.NOTIFICATIONS
        self.assertEqual(1, len(sent))
        self.assertEqual('compute.instance.delete.end',
                         sent[0][1]['event_type'])

    def test_notify_sends_nothing(self):
        driver = activation.HookInstallerDriver(self.msg_conf, ['topic'],
                                                self.transport)
        self.assertTrue(hooks.installed())
        self.assertIsNone(driver.notify({}, {'x': 1}, 'INFO', None))

    def test_driver_on_mismatch_loads_and_logs(self):
        self.useFixture(fixtures.MockPatchObject(hooks, '_INSTALLER',
                                                 _bad_installer()))
        notifier = self._notifier('nova_delete_ext')
        self.assertEqual(['nova_delete_ext'], notifier._driver_mgr.names())
        self.assertFalse(hooks.installed())
        self.assertEqual(1, len(self.logs.at(logging.ERROR)))

    def test_unexpected_install_error_does_not_stop_the_notifier(self):
        # activate() logs the unexpected error itself and lets the driver
        # load: the service keeps every notification driver it asked for.
        with mock.patch.object(hooks, 'install', autospec=True,
                               side_effect=TypeError('setattr failed')):
            notifier = self._notifier('nova_delete_ext', 'test')
        self.assertEqual(['nova_delete_ext', 'test'],
                         sorted(notifier._driver_mgr.names()))
        self.assertFalse(hooks.installed())


class RpcInitTestBase(base.TestCase):
    """The way every Nova service builds its notifiers, on ``nova.conf``."""

    def setUp(self):
        super().setUp()
        self.assertIs(cfg.CONF, nova.conf.CONF)
        self.useFixture(messaging_fixture.ConfFixture(nova.conf.CONF,
                                                      transport_url='fake:'))
        self.flags(driver=['nova_delete_ext'],
                   group='oslo_messaging_notifications')
        self.useFixture(_as_program(nova.conf.CONF, 'nova-compute'))
        # An init that fails half way leaves some of them set.
        for name in ('TRANSPORT', 'NOTIFICATION_TRANSPORT',
                     'LEGACY_NOTIFIER', 'NOTIFIER'):
            self.useFixture(fixtures.MonkeyPatch('nova.rpc.' + name, None))

    def _init(self):
        self.assertIsNone(nova_rpc.NOTIFIER)
        nova_rpc.init(nova.conf.CONF)
        self.addCleanup(nova_rpc.cleanup)


class NovaRpcInitTest(RpcInitTestBase):
    """``nova.rpc.init`` in nova-compute."""

    def test_rpc_init_installs_hooks(self):
        from nova.compute import manager
        original = manager.ComputeManager.__dict__['_delete_instance']
        self._init()
        self.assertTrue(hooks.installed())
        wrapper = manager.ComputeManager.__dict__['_delete_instance']
        self.assertIs(original,
                      getattr(wrapper, installer.ORIGINAL_ATTR))
        self.assertTrue(hooks.uninstall())
        self.assertIs(original,
                      manager.ComputeManager.__dict__['_delete_instance'])

    def test_rpc_init_disabled(self):
        self.flags(enabled=False, group='delete_ext')
        self._init()
        self.assertFalse(hooks.installed())

    def test_bad_policy_configuration_stops_the_service(self):
        # stevedore skips a driver that raises an Exception; the service
        # must not start without the protection it was configured with.
        self.flags(policies=['protect', 'nosuch'], group='delete_ext')
        exc = self.assertRaises(activation.RefuseToStart, self._init)
        self.assertIn("[delete_ext]policies: unknown policy 'nosuch'",
                      str(exc))
        self.assertFalse(hooks.installed())
        critical = self.logs.at(logging.CRITICAL)
        self.assertEqual(1, len(critical))

    def test_policies_are_put_in_force(self):
        self.flags(policies=['protect'], group='delete_ext')
        self._init()
        self.assertEqual(['protect'], policies.active().names)
        self.assertTrue(hooks.uninstall())


class ActivatePoliciesTest(base.TestCase):

    def test_invalid_value_names_option_and_value(self):
        self.flags(policies=['recycle'], group='delete_ext')
        self.conf_fixture.load_raw_values(group='delete_ext_recycle',
                                          retention='active:-1')
        exc = self.assertRaises(activation.RefuseToStart,
                                activation.activate, cfg.CONF)
        self.assertEqual(
            "nova-delete-ext: Invalid nova-delete-ext configuration: "
            "[delete_ext_recycle]retention: '-1' for vm_state active is not "
            "a whole number of seconds >= 0", str(exc))
        self.assertEqual([], policies.active().names)

    def test_mismatch_with_policies_stops_the_service(self):
        self.flags(policies=['protect'], group='delete_ext')
        self.useFixture(fixtures.MockPatchObject(hooks, '_INSTALLER',
                                                 _bad_installer()))
        exc = self.assertRaises(activation.RefuseToStart,
                                activation.activate, cfg.CONF)
        self.assertIn('nothing was installed', str(exc))
        self.assertIn('the policies protect cannot be applied', str(exc))
        self.assertEqual([], policies.active().names)

    def test_unexpected_install_error_with_policies_stops_the_service(self):
        self.flags(policies=['protect'], group='delete_ext')
        with mock.patch.object(hooks, 'install', autospec=True,
                               side_effect=TypeError('setattr failed')):
            self.assertRaises(activation.RefuseToStart, activation.activate,
                              cfg.CONF)

    def test_disabled_applies_no_policy(self):
        self.flags(enabled=False, policies=['nosuch'], group='delete_ext')
        self.assertFalse(activation.activate(cfg.CONF))
        self.assertEqual([], policies.active().names)


def _nova_wsgi_prog(module):
    """``PROG`` of one of Nova's WSGI entry points, read without running it.

    Importing the module would build the application.
    """
    tree = ast.parse(open(importlib.util.find_spec(module).origin).read())
    for node in tree.body:
        if (isinstance(node, ast.Assign)
                and [t.id for t in node.targets] == ['PROG']):
            return node.value.value
    return None


class ProgramTest(base.TestCase):
    """Only nova-api and nova-compute are touched."""

    def _service(self, prog):
        conf = cfg.ConfigOpts()
        self.useFixture(_as_program(conf, prog))
        return activation.nova_service(conf)

    def test_nova_console_scripts(self):
        scripts = {ep.name for ep in importlib.metadata.distribution(
            'nova').entry_points if ep.group == 'console_scripts'}
        self.assertIn('nova-manage', scripts)
        self.assertIn('nova-compute', scripts)
        for name in sorted(scripts):
            expected = {'nova-compute': 'nova-compute',
                        'nova-api': 'nova-api',
                        'nova-api-os-compute': 'nova-api'}.get(name)
            self.assertEqual(expected, self._service(name), name)

    def test_nova_wsgi_entry_points(self):
        if _nova_wsgi_prog('nova.wsgi.osapi_compute') is None:
            self.skipTest('this Nova names no program in its WSGI entry '
                          'points (before 2026.1): nova-api is recognised '
                          'by the module being imported instead')
        self.assertEqual('nova-api', self._service(
            _nova_wsgi_prog('nova.wsgi.osapi_compute')))
        self.assertIsNone(self._service(
            _nova_wsgi_prog('nova.wsgi.metadata')))

    def test_other_programs(self):
        for prog in ('nova-conductor', 'nova-scheduler', 'nova-manage',
                     'nova-status', 'nova-novncproxy', 'nova-api-metadata',
                     'nova-delete-ext-status', 'uwsgi', 'gunicorn',
                     'mod_wsgi', 'python', '', None):
            self.assertIsNone(self._service(prog), prog)

    def test_wsgi_server_importing_nova_compute_api(self):
        # A Nova that passes no program name from its WSGI entry point:
        # the name is the server's; the entry point is being imported.
        for module in activation.API_WSGI_MODULES:
            with mock.patch.dict(sys.modules, {module: mock.Mock()}):
                self.assertEqual('nova-api', self._service('uwsgi'))
                self.assertEqual('nova-compute',
                                 self._service('nova-compute'))

    def test_program_name_of_a_conf_never_called(self):
        conf = cfg.ConfigOpts()
        for argv0, prog in (('/usr/bin/nova-compute', 'nova-compute'),
                            ('nova-api-wsgi', 'nova-api-wsgi'),
                            ('/opt/nova/bin/nova-manage.py', 'nova-manage'),
                            ('', '')):
            with mock.patch.object(sys, 'argv', [argv0, '--debug']):
                self.assertEqual(prog, activation.program_name(conf))
        with mock.patch.object(sys, 'argv', []):
            self.assertEqual('', activation.program_name(conf))

    def test_program_name_given_to_conf(self):
        conf = cfg.ConfigOpts()
        conf(args=[], prog='nova-api-os-compute', default_config_files=[])
        with mock.patch.object(sys, 'argv', ['uwsgi']):
            self.assertEqual('nova-api-os-compute',
                             activation.program_name(conf))
            self.assertEqual('nova-api', activation.nova_service(conf))


class OtherProgramsTest(RpcInitTestBase):
    """``nova.rpc.init`` in a program that is neither API nor compute."""

    def setUp(self):
        super().setUp()
        self.useFixture(_as_program(nova.conf.CONF, 'nova-manage'))
        # This test process has loaded Nova's compute manager and API,
        # which these programs never do.
        self.useFixture(fixtures.MockPatchObject(programs, 'WATCHED', {}))
        self.addCleanup(programs.stop_watching)

    def _init(self):
        # A SystemExit would end the test run rather than fail the test.
        try:
            super()._init()
        except activation.RefuseToStart as exc:
            self.fail('refused to start: %s' % exc)

    def _assert_nothing_done(self):
        self.assertFalse(hooks.installed())
        self.assertEqual([], policies.active().names)
        self.assertEqual([logging.DEBUG],
                         [r.levelno for r in self.logs.records])
        self.assertIn('does nothing in nova-manage',
                      self.logs.records[0].getMessage())

    def test_nothing_installed(self):
        self._init()
        self._assert_nothing_done()
        self.assertIn('nova_delete_ext',
                      nova_rpc.LEGACY_NOTIFIER._driver_mgr.names()
                      + nova_rpc.NOTIFIER._driver_mgr.names())

    def test_bad_option_does_not_stop_it(self):
        self.flags(policies=['protect', 'nosuch'], group='delete_ext')
        self._init()
        self._assert_nothing_done()

    def test_mismatch_does_not_stop_it(self):
        self.flags(policies=['protect'], group='delete_ext')
        self.useFixture(fixtures.MockPatchObject(hooks, '_INSTALLER',
                                                 _bad_installer()))
        self._init()
        self._assert_nothing_done()

    def test_broken_install_does_not_stop_it(self):
        self.flags(policies=['protect'], group='delete_ext')
        with mock.patch.dict(sys.modules, {'nova_delete_ext.startup': None}):
            self._init()
        self._assert_nothing_done()

    def test_each_program(self):
        self.flags(policies=['nosuch'], group='delete_ext')
        for prog in ('nova-conductor', 'nova-scheduler', 'nova-status',
                     'nova-novncproxy', 'nova-api-metadata'):
            self.useFixture(_as_program(nova.conf.CONF, prog))
            try:
                nova_rpc.init(nova.conf.CONF)
            except activation.RefuseToStart as exc:
                self.fail('%s refused to start: %s' % (prog, exc))
            nova_rpc.cleanup()
            self.assertFalse(hooks.installed(), prog)
        self.assertEqual([], self.logs.at(logging.CRITICAL))
        self.assertEqual([], self.logs.at(logging.ERROR))

    def test_api_program_does_refuse(self):
        # The same configuration does stop nova-api.
        self.flags(policies=['protect', 'nosuch'], group='delete_ext')
        self.useFixture(_as_program(nova.conf.CONF, 'nova-api-os-compute'))
        self.assertRaises(activation.RefuseToStart, super()._init)


class NovaManageTest(base.TestCase):
    """Nova's own ``nova-manage version``, with the driver configured."""

    def test_bad_option_does_not_stop_nova_manage(self):
        script = os.path.join(os.path.dirname(sys.executable), 'nova-manage')
        if not os.path.exists(script):
            self.skipTest('nova-manage is not installed next to %s'
                          % sys.executable)
        temp = self.useFixture(fixtures.TempDir()).path
        conf_file = os.path.join(temp, 'nova.conf')
        with open(conf_file, 'w') as f:
            f.write(textwrap.dedent('''\
                [DEFAULT]
                transport_url = fake:/
                [oslo_messaging_notifications]
                driver = nova_delete_ext
                [delete_ext]
                policies = protect,nosuch
                '''))
        result = subprocess.run(
            [script, '--config-file', conf_file, 'version'],
            capture_output=True, text=True, timeout=150)
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertEqual(importlib.metadata.version('nova'),
                         result.stdout.strip())
        self.assertNotIn('nova-delete-ext', result.stderr)


class ImportFailureTest(DriverTestBase):
    """Nova or the extension cannot be imported when the driver is built."""

    def _broken(self, module='nova_delete_ext.startup'):
        # ``None`` in sys.modules: the next import of it raises
        # ModuleNotFoundError, as for a module that moved or is missing.
        self.useFixture(fixtures.MockPatchObject(activation, '_STARTUP',
                                                 module))
        patcher = mock.patch.dict(sys.modules, {module: None})
        patcher.start()
        self.addCleanup(patcher.stop)

    def _assert_nova_unchanged(self):
        from nova.compute import api as compute_api
        self.assertFalse(hooks.installed())
        self.assertFalse(hasattr(compute_api.API.__dict__['_delete'],
                                 installer.ORIGINAL_ATTR))
        self.assertEqual([], policies.active().names)

    def test_with_policies_refuses_to_start(self):
        ext_conf.register_opts(self.msg_conf)
        self.msg_conf.set_override('policies', ['protect'],
                                   group='delete_ext')
        self._broken()
        exc = self.assertRaises(activation.RefuseToStart, self._notifier,
                                'nova_delete_ext', 'test')
        critical = self.logs.at(logging.CRITICAL)
        self.assertEqual(1, len(critical))
        self.assertEqual(
            'nova-delete-ext could not be loaded (ModuleNotFoundError: '
            'import of nova_delete_ext.startup halted; None in '
            'sys.modules); the policies protect cannot be applied.',
            critical[0].getMessage())
        self.assertEqual('nova-delete-ext: ' + critical[0].getMessage(),
                         str(exc))
        self.assertEqual([], self.logs.at(logging.ERROR))
        self._assert_nova_unchanged()

    def test_without_policies_logs_one_error(self):
        self._broken()
        notifier = self._notifier('nova_delete_ext', 'test')
        self.assertEqual(['nova_delete_ext', 'test'],
                         sorted(notifier._driver_mgr.names()))
        errors = self.logs.at(logging.ERROR)
        self.assertEqual(1, len(errors))
        self.assertEqual(
            'nova-delete-ext could not be loaded (ModuleNotFoundError: '
            'import of nova_delete_ext.startup halted; None in '
            'sys.modules); Nova runs on unchanged and deletes are not '
            'recorded.', errors[0].getMessage())
        self.assertEqual([], self.logs.at(logging.CRITICAL))
        self._assert_nova_unchanged()

    def test_a_nova_module_that_moved(self):
        self.msg_conf.register_opts(
            [cfg.ListOpt('policies', default=['protect'])], 'delete_ext')
        # As if the extension's import of it failed.
        self._broken('nova.compute.api')
        exc = self.assertRaises(activation.RefuseToStart,
                                activation.activate, self.msg_conf)
        self.assertIn('could not be loaded (ModuleNotFoundError: import of '
                      'nova.compute.api halted', str(exc))

    def test_disabled_does_not_refuse(self):
        ext_conf.register_opts(self.msg_conf)
        self.msg_conf.set_override('enabled', False, group='delete_ext')
        self.msg_conf.set_override('policies', ['protect'],
                                   group='delete_ext')
        self._broken()
        self._notifier('nova_delete_ext')
        self.assertEqual(1, len(self.logs.at(logging.ERROR)))
        self.assertEqual([], self.logs.at(logging.CRITICAL))

    def _conf_file(self, text):
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            'nova.conf')
        with open(path, 'w') as f:
            f.write(textwrap.dedent(text))
        conf = cfg.ConfigOpts()
        conf(args=[], prog='nova-compute', default_config_files=[path])
        return conf

    def test_options_never_registered(self):
        # The extension's conf module is what failed to import: the two
        # options are read from the files all the same.
        self._broken()
        conf = self._conf_file('''\
            [delete_ext]
            policies = protect, recycle
            ''')
        self.assertRaises(cfg.NoSuchOptError, getattr, conf, 'delete_ext')
        exc = self.assertRaises(activation.RefuseToStart,
                                activation.HookInstallerDriver, conf, [],
                                self.transport)
        self.assertIn('the policies protect, recycle cannot be applied',
                      str(exc))
        self.assertEqual(1, len(self.logs.at(logging.CRITICAL)))

    def test_options_never_registered_no_policies(self):
        self._broken()
        conf = self._conf_file('''\
            [delete_ext]
            record_file = /nonexistent
            ''')
        activation.HookInstallerDriver(conf, [], self.transport)
        self.assertEqual(1, len(self.logs.at(logging.ERROR)))
        self.assertEqual([], conf.delete_ext.policies)

    def test_options_unreadable_refuses(self):
        self._broken()
        conf = self._conf_file('''\
            [delete_ext]
            enabled = maybe
            ''')
        exc = self.assertRaises(activation.RefuseToStart,
                                activation.HookInstallerDriver, conf, [],
                                self.transport)
        self.assertIn('could not be loaded (ModuleNotFoundError', str(exc))
        self.assertIn('[delete_ext] cannot be read', str(exc))

    def test_unexpected_failure_at_start(self):
        # Not an import, but the same rule: stevedore must never be left
        # to swallow it.
        ext_conf.register_opts(self.msg_conf)
        with mock.patch('nova_delete_ext.sinks.load', autospec=True,
                        side_effect=RuntimeError('boom')):
            self._notifier('nova_delete_ext')
            self.assertEqual(
                ['nova-delete-ext failed to start (RuntimeError: boom); '
                 'Nova runs on unchanged and deletes are not recorded.'],
                [r.getMessage() for r in self.logs.at(logging.ERROR)])
            self.msg_conf.set_override('policies', ['protect'],
                                       group='delete_ext')
            exc = self.assertRaises(activation.RefuseToStart,
                                    self._notifier, 'nova_delete_ext')
        self.assertIn('failed to start (RuntimeError: boom); the policies '
                      'protect cannot be applied', str(exc))
        self.assertFalse(hooks.installed())


# Run in a fresh interpreter in which Nova cannot be imported at all.
_WITHOUT_NOVA = '''
import json, logging, sys
sys.modules['nova'] = None
records = []
class Handler(logging.Handler):
    def emit(self, record):
        records.append((record.levelname, record.getMessage()))
logging.getLogger('nova_delete_ext').addHandler(Handler())
logging.getLogger('nova_delete_ext').setLevel(logging.DEBUG)
from oslo_config import cfg
from nova_delete_ext import activation
imported = sorted(m for m in sys.modules if m.startswith('nova'))
conf = cfg.ConfigOpts()
conf(args=sys.argv[1:], prog='nova-compute', default_config_files=[])
try:
    activation.HookInstallerDriver(conf, [], None)
    outcome = 'started'
except SystemExit as exc:
    outcome = 'refused: %s' % exc
json.dump({'imported': imported, 'outcome': outcome,
           'records': [r for r in records if r[0] != 'DEBUG']}, sys.stdout)
'''


class WithoutNovaTest(base.TestCase):
    """The entry point loads, and decides, with Nova not importable."""

    def _run(self, *args):
        result = subprocess.run(
            [sys.executable, '-c', _WITHOUT_NOVA] + list(args),
            capture_output=True, text=True, timeout=150)
        self.assertEqual(0, result.returncode, result.stderr)
        return json.loads(result.stdout)

    def _conf_file(self, text):
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            'nova.conf')
        with open(path, 'w') as f:
            f.write(text)
        return path

    def test_module_imports_only_stdlib_and_oslo(self):
        # The entry point and the one module of the extension it imports.
        for module in (activation, early_log, programs):
            tree = ast.parse(open(module.__file__).read())
            for node in tree.body:
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom):
                    names = ['%s.%s' % (node.module, a.name)
                             for a in node.names]
                else:
                    continue
                for name in names:
                    top = name.partition('.')[0]
                    self.assertTrue(top in sys.stdlib_module_names
                                    or top.startswith('oslo_')
                                    or name in ('nova_delete_ext.early_log',
                                                'nova_delete_ext.programs')
                                    and module is activation,
                                    '%s imports %s' % (module.__name__,
                                                       name))

    def test_refuses_with_policies(self):
        found = self._run('--config-file', self._conf_file(
            '[delete_ext]\npolicies = protect\n'))
        self.assertEqual(1, len(found['records']))
        level, message = found['records'][0]
        self.assertEqual('CRITICAL', level)
        self.assertTrue(message.startswith(
            "nova-delete-ext could not be loaded (ModuleNotFoundError: No "
            "module named 'nova"), message)
        self.assertTrue(message.endswith(
            "); the policies protect cannot be applied."), message)
        self.assertEqual('refused: nova-delete-ext: ' + message,
                         found['outcome'])

    def test_one_error_without_policies(self):
        found = self._run()
        # The entry point itself needs nothing of Nova nor of the rest of
        # the extension: it was imported, and decided.
        self.assertEqual(['nova', 'nova_delete_ext',
                          'nova_delete_ext.activation',
                          'nova_delete_ext.early_log',
                          'nova_delete_ext.programs'], found['imported'])
        self.assertEqual('started', found['outcome'])
        self.assertEqual(1, len(found['records']))
        level, message = found['records'][0]
        self.assertEqual('ERROR', level)
        self.assertTrue(message.startswith(
            "nova-delete-ext could not be loaded (ModuleNotFoundError: No "
            "module named 'nova"), message)
        self.assertTrue(message.endswith(
            "); Nova runs on unchanged and deletes are not recorded."),
            message)
