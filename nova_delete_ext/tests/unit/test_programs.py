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

"""Which program is nova-api or nova-compute, under any name."""

import json
import logging
import os
import subprocess
import sys
import textwrap
from unittest import mock

import fixtures
from oslo_config import cfg

from nova_delete_ext import programs
from nova_delete_ext.tests.unit import base


def _run_as(module, code, **names):
    """Run ``code`` as if it were in ``module``'s own code."""
    scope = {'__name__': module}
    scope.update(names)
    exec(compile(textwrap.dedent(code), module, 'exec'), scope)
    return scope['found']


class ServiceTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.conf = cfg.ConfigOpts()
        self.conf(args=[], prog='-c', default_config_files=[])

    def service(self):
        return programs.service_of(self.conf)

    def test_unknown_name_and_no_nova_entry_module(self):
        self.assertIsNone(self.service())

    def test_nova_entry_modules_under_any_name(self):
        for module, service in (('nova.cmd.compute', 'nova-compute'),
                                ('nova.cmd.api', 'nova-api'),
                                ('nova.wsgi.osapi_compute', 'nova-api')):
            # Their main() or module code calls Nova's parse_args, which
            # builds the notifiers, which load the driver.
            self.assertEqual(service, _run_as(
                module, '''
                def main():
                    return service()
                found = main()
                ''', service=self.service), module)
        for module in ('nova.cmd.conductor', 'nova.cmd.manage',
                       'nova.wsgi.metadata'):
            self.assertIsNone(_run_as(module, 'found = service()',
                                      service=self.service), module)

    def test_python_dash_m(self):
        # __name__ is __main__; the spec names the module.
        spec = mock.Mock()
        spec.name = 'nova.cmd.compute'
        self.assertEqual('nova-compute', _run_as(
            '__main__', 'found = service()', service=self.service,
            __spec__=spec))

    def test_a_wsgi_file_of_its_own_that_builds_nova_compute_api(self):
        code = '''
            def init_application(name, prog):
                return service()
            found = init_application(app, 'my-api')
            '''
        self.assertEqual('nova-api', _run_as(
            'nova.api.openstack.wsgi_app', code, service=self.service,
            app='osapi_compute'))
        self.assertIsNone(_run_as(
            'nova.api.openstack.wsgi_app', code, service=self.service,
            app='metadata'))

    def test_programs_option(self):
        programs.configured(self.conf)
        self.conf.set_override('programs', {'-c': 'nova-compute'},
                               group='delete_ext')
        self.assertEqual('nova-compute', self.service())
        self.conf.set_override('programs', {'-c': 'nova-conductor'},
                               group='delete_ext')
        self.assertIsNone(self.service())
        self.assertIn('-c:nova-conductor ignored',
                      self.logs.at(logging.WARNING)[0].getMessage())

    def test_unreadable_programs_option_is_not_fatal(self):
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            'nova.conf')
        with open(path, 'w') as f:
            f.write('[delete_ext]\nprograms = no-colon\n')
        self.conf(args=[], prog='nova-manage', default_config_files=[path])
        self.assertIsNone(self.service())
        self.assertIn('[delete_ext]programs ignored',
                      self.logs.at(logging.WARNING)[0].getMessage())


class WatchTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.addCleanup(programs.stop_watching)
        self.module = 'nova_delete_ext_not_a_module'
        self.useFixture(fixtures.MockPatchObject(
            programs, 'WATCHED', {self.module: 'nova-compute'}))

    def load_watched(self):
        self.assertRaises(ImportError, __import__, self.module)

    def test_warns_when_policies_are_configured(self):
        self.flags(policies=['protect'], group='delete_ext')
        programs.watch(self.conf, 'my-compute')
        self.assertEqual([], self.logs.records)
        self.load_watched()
        warnings = [r.getMessage() for r in self.logs.at(logging.WARNING)]
        self.assertEqual([
            "nova-delete-ext is not active in this process, which loads "
            "Nova's compute manager: the program 'my-compute' is not one "
            "it knows as nova-compute, so the policies protect are not "
            "applied here and its deletes are not recorded. Start it with "
            "Nova's own command nova-compute, or add "
            "\"my-compute:nova-compute\" to [delete_ext]programs in a "
            "configuration file only this service reads."], warnings)
        # Once; and the watch is over.
        self.load_watched()
        self.assertEqual(1, len(self.logs.at(logging.WARNING)))
        self.assertFalse(any(isinstance(f, programs._Watch)
                             for f in sys.meta_path))

    def test_info_without_policies_nothing_when_disabled(self):
        programs.watch(self.conf, 'my-compute')
        self.load_watched()
        self.assertEqual([logging.INFO],
                         [r.levelno for r in self.logs.records])
        self.flags(enabled=False, group='delete_ext')
        programs.watch(self.conf, 'my-compute')
        self.load_watched()
        self.assertEqual(1, len(self.logs.records))

    def test_already_loaded(self):
        self.flags(policies=['protect'], group='delete_ext')
        with mock.patch.dict(sys.modules, {self.module: mock.Mock()}):
            programs.watch(self.conf, 'my-compute')
        self.assertEqual(1, len(self.logs.at(logging.WARNING)))

    def test_a_program_that_never_loads_them(self):
        self.flags(policies=['protect'], group='delete_ext')
        programs.watch(self.conf, 'nova-conductor')
        __import__('json')
        self.assertEqual([], self.logs.records)


# A nova-compute started by Nova's own main() under another name, and a
# program of its own that loads the compute manager: what each logs.
_NOVA_COMPUTE_MAIN = '''
import json, sys
from nova.cmd import compute

def stop(conf, product):
    # nova-compute's main() sets up logging right after parse_args().
    from nova_delete_ext import hooks, policies
    json.dump({'installed': hooks.installed(),
               'policies': policies.active().names}, sys.stdout)
    raise SystemExit(0)

compute.logging.setup = stop
sys.argv = ['-c'] + sys.argv[1:]
compute.main()
'''

_OWN_PROGRAM = '''
import sys
from nova import config
sys.argv = ['/opt/bin/my-compute'] + sys.argv[1:]
config.parse_args(sys.argv)
import nova.compute.manager
'''


class SubprocessTest(base.TestCase):

    def _run(self, code):
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            'nova.conf')
        with open(path, 'w') as f:
            f.write(textwrap.dedent('''\
                [DEFAULT]
                transport_url = fake:/
                [oslo_messaging_notifications]
                driver = nova_delete_ext
                [delete_ext]
                policies = protect
                '''))
        return subprocess.run(
            [sys.executable, '-c', code, '--config-file', path],
            capture_output=True, text=True, timeout=150)

    def test_nova_compute_main_under_another_name(self):
        result = self._run(_NOVA_COMPUTE_MAIN)
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertEqual({'installed': True, 'policies': ['protect']},
                         json.loads(result.stdout))

    def test_own_program_loading_the_compute_manager_warns(self):
        result = self._run(_OWN_PROGRAM)
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertIn("nova-delete-ext is not active in this process, which "
                      "loads Nova's compute manager: the program "
                      "'my-compute'", result.stderr)
        self.assertIn('"my-compute:nova-compute" to [delete_ext]programs',
                      result.stderr)
