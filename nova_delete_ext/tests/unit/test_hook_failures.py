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

"""A hook that fails itself never changes what Nova's method does."""

import json

from nova import exception as nova_exception

from nova_delete_ext.hooks import installer
from nova_delete_ext.tests.unit import base

HERE = __name__


class Nova:
    """Stands for a Nova class; counts the calls of its method."""

    calls = 0

    def act(self, context, instance):
        Nova.calls += 1
        if instance == 'missing':
            raise nova_exception.InstanceNotFound(instance_id=instance)
        return ('done', instance)


class HookFailureTest(base.TestCase):

    def setUp(self):
        super().setUp()
        Nova.calls = 0
        self.fall_back = True

    def _install(self, hook, fallback=None):
        point = installer.HookPoint(
            HERE + '.Nova', 'act', '(self, context, instance)', hook,
            may_fall_back=lambda: self.fall_back, fallback=fallback)
        inst = installer.Installer([point])
        self.addCleanup(inst.uninstall)
        inst.install()
        return Nova()

    def test_failure_before_nova_runs_nova_unhooked(self):
        def hook(original, self_, context, instance):
            raise KeyError('a bug')
        self.assertEqual(('done', 'i'), self._install(hook).act('c', 'i'))
        self.assertEqual(1, Nova.calls)

    def test_failure_after_nova_keeps_its_result_and_runs_it_once(self):
        def hook(original, *args):
            original(*args)
            raise KeyError('a bug')
        self.assertEqual(('done', 'i'), self._install(hook).act('c', 'i'))
        self.assertEqual(1, Nova.calls)

    def test_nova_error_propagates_once(self):
        def hook(original, *args):
            try:
                return original(*args)
            except Exception:
                raise KeyError('a bug while handling it')
        nova = self._install(hook)
        self.assertRaises(nova_exception.InstanceNotFound, nova.act, 'c',
                          'missing')
        self.assertEqual(1, Nova.calls)

    def test_error_raised_outside_the_extension_propagates(self):
        # As from another of Nova's methods a hook calls (a redirect), or
        # a library under it: not the extension's to hide.
        def hook(original, *args):
            return json.loads('not JSON')
        self.assertRaises(ValueError, self._install(hook).act, 'c', 'i')
        self.assertEqual(0, Nova.calls)

    def test_refusal_propagates(self):
        def hook(original, *args):
            raise nova_exception.InstanceIsLocked(instance_uuid='i')
        self.assertRaises(nova_exception.InstanceIsLocked,
                          self._install(hook).act, 'c', 'i')
        self.assertEqual(0, Nova.calls)

    def test_fails_closed_where_it_may_not_fall_back(self):
        self.fall_back = False

        def hook(original, *args):
            raise KeyError('a bug')
        self.assertRaises(KeyError, self._install(hook).act, 'c', 'i')
        self.assertEqual(0, Nova.calls)


def _failing(original, *args):
    raise KeyError('a bug')


class FallbackTest(base.TestCase):
    """A failed hook's point falls back to its ``fallback``, safely."""

    def setUp(self):
        super().setUp()
        Nova.calls = 0
        self.seen = []

    def _install(self, fallback):
        point = installer.HookPoint(
            HERE + '.Nova', 'act', '(self, context, instance)', _failing,
            fallback=fallback)
        inst = installer.Installer([point])
        self.addCleanup(inst.uninstall)
        inst.install()
        return Nova()

    def test_fallback_runs_nova_in_place_of_the_hook(self):
        def fallback(original, *args):
            self.seen.append(args[1:])
            return original(*args)
        self.assertEqual(('done', 'i'), self._install(fallback).act('c', 'i'))
        self.assertEqual([('c', 'i')], self.seen)
        self.assertEqual(1, Nova.calls)

    def test_fallback_failing_first_runs_nova_alone(self):
        self.assertEqual(('done', 'i'), self._install(_failing).act('c', 'i'))
        self.assertEqual(1, Nova.calls)

    def test_fallback_failing_after_nova_keeps_its_result(self):
        def fallback(original, *args):
            original(*args)
            raise KeyError('another bug')
        self.assertEqual(('done', 'i'), self._install(fallback).act('c', 'i'))
        self.assertEqual(1, Nova.calls)

    def test_nova_error_through_the_fallback_propagates_once(self):
        def fallback(original, *args):
            try:
                return original(*args)
            except Exception:
                raise KeyError('a bug while handling it')
        self.assertRaises(nova_exception.InstanceNotFound,
                          self._install(fallback).act, 'c', 'missing')
        self.assertEqual(1, Nova.calls)
