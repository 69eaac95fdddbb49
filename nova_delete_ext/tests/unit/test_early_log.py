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

"""The activation's lines reach the log of a real Nova program.

Nova's programs load the notification drivers before they set up logging
(:mod:`nova_delete_ext.early_log`). These tests run Nova's own start-up of
nova-compute and of nova-api's WSGI application in a fresh interpreter,
up to the point where the service would connect to the database, and read
the log file oslo.log writes.
"""

import logging
import os
import subprocess
import sys
import textwrap
from unittest import mock

import fixtures
from oslo_log import log as oslo_logging

from nova_delete_ext import early_log
from nova_delete_ext.tests.unit import base

# Runs Nova's start-up of the program named first, with the configuration
# file named second, and stops it where it would create its service.
_START = '''
import importlib.abc, importlib.util, os, sys
from unittest import mock

program, conf_file = sys.argv[1:3]


class Stop(Exception):
    pass


if program == 'nova-compute':
    sys.argv = ['nova-compute', '--config-file', conf_file]
    from nova.cmd import compute
    from nova import service
    with mock.patch.object(service.Service, 'create', side_effect=Stop):
        try:
            compute.main()
        except Stop:
            pass
else:
    # As a WSGI server loads nova-api: its own argv, the files from the
    # environment, Nova's WSGI module imported first (Nova 34 decides on
    # eventlet in its first line), wsgi_app's _setup_service stopping it.
    os.environ['OS_NOVA_CONFIG_DIR'] = os.path.dirname(conf_file)
    os.environ['OS_NOVA_CONFIG_FILES'] = os.path.basename(conf_file)
    sys.argv = ['gunicorn']

    class StopInSetupService(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name != 'nova.api.openstack.wsgi_app':
                return None
            sys.meta_path.remove(self)
            spec = importlib.util.find_spec(name)
            exec_module = spec.loader.exec_module

            def exec_and_patch(module):
                exec_module(module)
                module._setup_service = mock.Mock(side_effect=Stop)
            spec.loader.exec_module = exec_and_patch
            return spec

    sys.meta_path.insert(0, StopInSetupService())
    try:
        import nova.wsgi.osapi_compute  # noqa: F401
    except Stop:
        pass
'''

HOOKED = 'nova-delete-ext hooked into '
IN_FORCE = 'nova-delete-ext policies in force: protect'


class NovaStartTest(base.TestCase):
    """The lines are in the service's log file, once each."""

    def _start(self, program, policies='protect', extra=''):
        temp = self.useFixture(fixtures.TempDir()).path
        log_file = os.path.join(temp, 'service.log')
        conf_file = os.path.join(temp, 'nova.conf')
        with open(conf_file, 'w') as f:
            f.write(textwrap.dedent('''\
                [DEFAULT]
                transport_url = fake:/
                log_file = %s
                [oslo_messaging_notifications]
                driver = nova_delete_ext
                [delete_ext]
                policies = %s
                ''') % (log_file, policies) + extra)
        result = subprocess.run(
            [sys.executable, '-c', _START, program, conf_file],
            capture_output=True, text=True, timeout=150)
        text = ''
        if os.path.exists(log_file):
            with open(log_file) as f:
                text = f.read()
        return result, text

    def _assert_once(self, text, message, logger):
        lines = [line for line in text.splitlines() if message in line]
        self.assertEqual(1, len(lines), text)
        self.assertIn(' INFO %s [-] ' % logger, lines[0])

    def _assert_started(self, program, extra=''):
        result, text = self._start(program, extra=extra)
        self.assertEqual(0, result.returncode, result.stderr)
        self._assert_once(text, HOOKED, 'nova_delete_ext.hooks.installer')
        self._assert_once(text, IN_FORCE, 'nova_delete_ext.activation')
        # Nothing of it on stderr as well.
        self.assertNotIn('nova-delete-ext', result.stderr)

    def test_nova_compute(self):
        self._assert_started('nova-compute')

    def test_nova_api_wsgi(self):
        self._assert_started('nova-api')

    def test_nova_compute_with_two_notifiers(self):
        # Versioned and legacy notifications: Nova loads the driver twice.
        self._assert_started('nova-compute', extra=textwrap.dedent('''\
            [notifications]
            notification_format = both
            '''))

    def test_refused_start_says_why_on_stderr(self):
        # The service stops before it sets up logging: the line must not
        # stay held.
        result, text = self._start('nova-compute', policies='nosuch')
        self.assertNotEqual(0, result.returncode)
        lines = [line for line in result.stderr.splitlines()
                 if "[delete_ext]policies: unknown policy 'nosuch'" in line]
        self.assertEqual(2, len(lines), result.stderr)
        # The CRITICAL line, then SystemExit's message as Python prints it.
        self.assertEqual("nova-delete-ext: " + lines[0], lines[1])


class HoldTest(base.TestCase):
    """Holding and replaying, with the logging as before oslo.log's setup."""

    def setUp(self):
        super().setUp()
        self.addCleanup(early_log.release)
        logger = logging.getLogger(early_log.LOGGER)
        # Undo what the base class did to the extension's logger: records
        # go up to the root logger, which lets only warnings through.
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
            self.addCleanup(logger.addHandler, handler)
        self.addCleanup(setattr, logger, 'propagate', logger.propagate)
        self.addCleanup(logger.setLevel, logger.level)
        logger.propagate = True
        logger.setLevel(logging.NOTSET)
        self.addCleanup(logging.root.setLevel, logging.root.level)
        logging.root.setLevel(logging.WARNING)
        self.shown = []
        handler = base._ListHandler(self.shown)
        logging.root.addHandler(handler)
        self.addCleanup(logging.root.removeHandler, handler)

    def test_not_held_once_logging_is_set_up(self):
        logging.root.setLevel(logging.INFO)
        self.assertFalse(early_log.hold())

    def test_replayed_after_setup_at_its_level(self):
        setup = self.useFixture(fixtures.MockPatchObject(
            oslo_logging, 'setup', autospec=True)).mock
        # What oslo.log's setup does to the level, without debug.
        setup.side_effect = lambda *a: logging.root.setLevel(logging.INFO)
        self.assertTrue(early_log.hold())
        self.assertFalse(early_log.hold())
        log = logging.getLogger(early_log.LOGGER + '.x')
        log.debug('a debug line')
        log.info('an info line')
        log.warning('a warning')
        self.assertEqual([], self.shown)
        oslo_logging.setup(mock.sentinel.conf, 'nova')
        setup.assert_called_once_with(mock.sentinel.conf, 'nova')
        # Put back as it was; shown once, in order, at the levels set.
        self.assertIs(setup, oslo_logging.setup)
        self.assertEqual(['an info line', 'a warning'],
                         [r.getMessage() for r in self.shown])
        self.assertEqual(0, early_log.release())
        log.info('after')
        self.assertEqual('after', self.shown[-1].getMessage())

    def test_released_without_setup(self):
        self.assertTrue(early_log.hold())
        logging.getLogger(early_log.LOGGER).critical('stopping')
        self.assertEqual([], self.shown)
        self.assertEqual(1, early_log.release())
        self.assertEqual(['stopping'], [r.getMessage() for r in self.shown])
