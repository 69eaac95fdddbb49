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

"""Base class and fixtures of the unit tests.

The unit tests import Nova's modules but never Nova's test packages nor
``nova_delete_ext.tests.functional`` (which monkey patch eventlet).
"""

import logging
import sys

import fixtures
from nova.compute import power_state
from nova.compute import vm_states
from nova import objects
from nova import policy as nova_policy
from oslo_config import cfg
from oslo_config import fixture as config_fixture
from oslo_utils import timeutils
from oslo_utils import uuidutils
from oslotest import base

from nova_delete_ext import compat
from nova_delete_ext import conf as ext_conf  # noqa: F401 registers opts
from nova_delete_ext import hooks
from nova_delete_ext.hooks import installer
from nova_delete_ext import policies
from nova_delete_ext import record as rec
from nova_delete_ext.tests import fixtures as ext_fixtures

UUID = '5f6d1b3a-3c1e-4c85-9f3a-1e2b8a1d2c3e'


class HooksUninstalled(fixtures.Fixture):
    """Start without the hooks and take them out again after the test.

    Whatever a test does to Nova's classes through :mod:`.hooks`, the next
    test finds them exactly as Nova defines them.
    """

    def _setUp(self):
        hooks.uninstall()
        self.addCleanup(self._check_nova_untouched)
        self.addCleanup(hooks.uninstall)

    @staticmethod
    def _check_nova_untouched():
        """Fail the test that left any wrapper on a Nova class.

        The wrappers are taken out first, so that the following tests do
        not fail as well.
        """
        left = []
        for point in hooks.HOOK_POINTS:
            module_name = point.owner.rpartition('.')[0]
            if module_name not in sys.modules:
                continue  # never imported, so never wrapped
            cls = point.owner_class()
            func = cls.__dict__.get(point.name)
            if hasattr(func, installer.ORIGINAL_ATTR):
                left.append(point.qualname)
                while hasattr(func, installer.ORIGINAL_ATTR):
                    func = getattr(func, installer.ORIGINAL_ATTR)
                setattr(cls, point.name, func)
        if left:
            raise AssertionError('hooks left installed: %s' % left)


class LogRecords(fixtures.Fixture):
    """Capture the :class:`logging.LogRecord` objects of one logger.

    Unlike ``fixtures.FakeLogger`` it keeps the records themselves, so a
    test can check the level and the ``instance`` oslo.log puts into them.
    The records do not go further up (to the root logger) meanwhile.
    """

    def __init__(self, name='nova_delete_ext', level=logging.DEBUG):
        super().__init__()
        self.name = name
        self.level = level
        self.records = []

    def _setUp(self):
        logger = logging.getLogger(self.name)
        handler = _ListHandler(self.records)
        old_level, old_propagate = logger.level, logger.propagate
        logger.addHandler(handler)
        logger.setLevel(self.level)
        logger.propagate = False
        self.addCleanup(setattr, logger, 'propagate', old_propagate)
        self.addCleanup(logger.setLevel, old_level)
        self.addCleanup(logger.removeHandler, handler)

    def at(self, levelno):
        return [r for r in self.records if r.levelno == levelno]


class _ListHandler(logging.Handler):

    def __init__(self, records):
        super().__init__(level=logging.DEBUG)
        self._records = records

    def emit(self, record):
        self._records.append(record)


def skip_if_eventlet_patched(test):
    """Skip ``test``, a real server on a thread, where eventlet patched us.

    On the older Nova series the unit tests run with eventlet's monkey
    patching in force, under which a server thread of the standard library
    never answers a client of the same process. What such a test serves
    (the collector's metrics, the dashboard check) runs in a process of its
    own that never uses eventlet; the newest series runs these tests.
    """
    if compat._eventlet_patched():
        test.skipTest('a threaded server of the standard library under '
                      "eventlet's monkey patching")


class TestCase(base.BaseTestCase):
    """Base class of every unit test of nova-delete-ext."""

    def setUp(self):
        super().setUp()
        self.conf = cfg.CONF
        self.conf_fixture = self.useFixture(config_fixture.Config(cfg.CONF))
        self.useFixture(HooksUninstalled())
        # Activation replaces the active policies; the next test starts
        # with what this one found.
        self.addCleanup(policies.set_active, policies.active())
        self.addCleanup(nova_policy.reset)
        self.useFixture(ext_fixtures.Sinks())
        self.useFixture(ext_fixtures.AfterDelete())
        # What Nova and the libraries log goes into the test's details, not
        # to the console; what the extension logs is kept as records.
        self.useFixture(fixtures.FakeLogger(level=logging.DEBUG))
        self.logs = self.useFixture(LogRecords('nova_delete_ext'))

    def flags(self, group=None, **kw):
        """Override options of ``cfg.CONF`` for the duration of the test."""
        self.conf_fixture.config(group=group, **kw)


def make_instance(omit=(), **updates):
    """A real ``nova.objects.Instance``, in memory only (no context, no DB).

    :param omit: fields to leave unset, as on an instance loaded without
        them (reading one then tries a lazy-load, which fails: the instance
        has no context).
    """
    objects.register_all()
    values = {
        'uuid': uuidutils.generate_uuid(),
        'project_id': 'project-a',
        'user_id': 'user-a',
        'vm_state': vm_states.ACTIVE,
        'task_state': None,
        'power_state': power_state.RUNNING,
        'host': 'cmp1',
        'disable_terminate': False,
        'launched_at': timeutils.utcnow(with_timezone=True),
        'system_metadata': {},
    }
    values.update(updates)
    for name in omit:
        values.pop(name, None)
    return objects.Instance(**values)


def make_record(**updates):
    """A :class:`~nova_delete_ext.record.DeleteRecord` with test values."""
    values = dict(
        instance_uuid=UUID, project_id='project-a', user_id='user-a',
        request_id='req-1', vm_state='active', task_state=None,
        power_state='running', host='cmp1', delete_type=rec.DELETE,
        trigger=rec.TRIGGER_API, requested_at='2025-01-02T03:04:05+00:00')
    values.update(updates)
    return rec.DeleteRecord(**values)
