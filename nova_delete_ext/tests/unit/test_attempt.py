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

"""Tests of :mod:`nova_delete_ext.record.attempt`."""

import datetime
import logging
import os
import threading
import time
from unittest import mock

import fixtures
from nova.compute import power_state
from nova.compute import task_states
from nova.compute import vm_states
from nova import context as nova_context
from nova.network import model as network_model
from nova import objects
from oslo_context import context as common_context
from oslo_serialization import jsonutils
from oslo_utils import fixture as utils_fixture

from nova_delete_ext import record as rec
from nova_delete_ext.record import after
from nova_delete_ext.record import attempt as attempt_mod
from nova_delete_ext import sinks
from nova_delete_ext import states
from nova_delete_ext.tests import nova_spawn
from nova_delete_ext.tests.unit import base


class _Boom(Exception):
    pass


class _NotAnError(BaseException):
    pass


class AttemptTestBase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.flags(host='test-host')
        self.context = nova_context.RequestContext(
            'user-a', 'project-a', is_admin=False)
        self.instance = base.make_instance(
            uuid=base.UUID, vm_state=vm_states.STOPPED,
            task_state=task_states.DELETING,
            power_state=power_state.SHUTDOWN, host='cmp1')

    def _attempt(self, **kwargs):
        return attempt_mod.Attempt(self.context, self.instance, rec.DELETE,
                                   rec.TRIGGER_API, 'api', **kwargs)

    def _assert_one_error_logged(self):
        errors = self.logs.at(logging.ERROR)
        self.assertEqual(1, len(errors), [r.getMessage() for r in errors])
        self.assertIs(self.instance, errors[0].instance)
        self.assertIn('nova-delete-ext failed', errors[0].getMessage())
        self.assertIsNotNone(errors[0].exc_info)
        return errors[0]


class AttemptTest(AttemptTestBase):

    def test_record_from_instance_and_context(self):
        now = datetime.datetime(2025, 1, 2, 3, 4, 5,
                                tzinfo=datetime.timezone.utc)
        self.useFixture(utils_fixture.TimeFixture(now))
        attempt = self._attempt()
        self.assertIs(self.instance, attempt.instance)
        self.assertEqual(
            states.InstanceState(vm_states.STOPPED, task_states.DELETING,
                                 'shutdown', 'cmp1'),
            attempt.state)
        self.assertEqual(base.make_record(
            request_id=self.context.request_id, vm_state='stopped',
            task_state='deleting', power_state='shutdown',
            requested_at='2025-01-02T03:04:05+00:00',
            recorded_by='api@test-host', id=attempt.record.id),
            attempt.record)
        self.assertEqual('delete', attempt.record.kind)

    def test_given_state_and_requested_at(self):
        state = states.InstanceState(vm_states.ACTIVE, None, 'running',
                                     'other-host')
        attempt = self._attempt(state=state, requested_at='earlier')
        self.assertIs(state, attempt.state)
        self.assertEqual('active', attempt.record.vm_state)
        self.assertIsNone(attempt.record.task_state)
        self.assertEqual('other-host', attempt.record.host)
        self.assertEqual('earlier', attempt.record.requested_at)

    def test_context_without_request_id(self):
        attempt = attempt_mod.Attempt(object(), self.instance,
                                      rec.SOFT_DELETE, rec.TRIGGER_RECLAIM,
                                      'compute')
        self.assertIsNone(attempt.record.request_id)
        self.assertEqual('compute@test-host', attempt.record.recorded_by)
        self.assertEqual(rec.SOFT_DELETE, attempt.record.delete_type)
        self.assertEqual(rec.TRIGGER_RECLAIM, attempt.record.trigger)


class FinishTest(AttemptTestBase):

    def setUp(self):
        super().setUp()
        self.emit = self.useFixture(fixtures.MockPatchObject(
            sinks, 'emit', autospec=True)).mock

    def test_writes_exactly_once(self):
        attempt = self._attempt()
        attempt.finish(rec.DELETED, path=rec.PATH_COMPUTE)
        attempt.finish(rec.FAILED, path=rec.PATH_LOCAL, error=_Boom('x'))
        attempt.finish(rec.IGNORED)
        self.emit.assert_called_once_with(attempt.record)
        self.assertEqual(rec.DELETED, attempt.record.outcome)
        self.assertEqual(rec.PATH_COMPUTE, attempt.record.path)
        self.assertNotIn('error', attempt.record.as_dict())

    def test_fills_the_record(self):
        attempt = self._attempt()
        attempt.finish(rec.DELETED, path=rec.PATH_LOCAL,
                       released=frozenset({'ports', 'allocations'}),
                       retained={'domain', 'disks'})
        record = attempt.record
        self.assertEqual(rec.DELETED, record.outcome)
        self.assertEqual(rec.PATH_LOCAL, record.path)
        self.assertEqual(['allocations', 'ports'], record.released)
        self.assertEqual(['disks', 'domain'], record.retained)
        self.assertIsNone(record.error)

    def test_keeps_path_already_set(self):
        attempt = self._attempt()
        attempt.record.path = rec.PATH_BUILD_REQUEST
        attempt.finish(rec.DELETED)
        self.assertEqual(rec.PATH_BUILD_REQUEST, attempt.record.path)

    def test_error_described_and_masked(self):
        attempt = self._attempt()
        attempt.finish(rec.FAILED, error=_Boom('password=Secr3t'))
        self.assertEqual('_Boom: password=***', attempt.record.error)

    def test_unhooked_says_no_policy_was_applied(self):
        attempt = self._attempt(unhooked=True)
        attempt.finish(rec.DELETED)
        self.assertEqual(rec.DELETED, attempt.record.outcome)
        self.assertIn('nova-delete-ext failed in its hook',
                      attempt.record.error)
        self.assertIn('no policy was applied', attempt.record.error)

    def test_unhooked_keeps_novas_error(self):
        attempt = self._attempt(unhooked=True)
        attempt.finish(rec.FAILED, error=_Boom('nova failed'))
        self.assertTrue(attempt.record.error.startswith(
            'nova-delete-ext failed in its hook'), attempt.record.error)
        self.assertTrue(attempt.record.error.endswith('_Boom: nova failed'),
                        attempt.record.error)

    def test_duration(self):
        with mock.patch.object(attempt_mod.time, 'monotonic', autospec=True,
                               side_effect=[100.0, 100.25]):
            attempt = self._attempt()
            attempt.finish(rec.DELETED)
        self.assertEqual(250.0, attempt.record.duration_ms)

    def test_duration_non_negative(self):
        attempt = self._attempt()
        attempt.finish(rec.DELETED)
        self.assertIsInstance(attempt.record.duration_ms, float)
        self.assertGreaterEqual(attempt.record.duration_ms, 0.0)

    def test_emit_failure_logged_once_and_swallowed(self):
        self.emit.side_effect = OSError('disk full')
        attempt = self._attempt()
        attempt.finish(rec.DELETED)
        attempt.finish(rec.DELETED)
        self.emit.assert_called_once_with(attempt.record)
        error = self._assert_one_error_logged()
        self.assertIsInstance(error.exc_info[1], OSError)


class FinishThenTest(AttemptTestBase):
    """Work after the delete: the extension's workers, a check record."""

    def setUp(self):
        super().setUp()
        self.emitted = []
        self.emit = self.useFixture(fixtures.MockPatchObject(
            sinks, 'emit', autospec=True,
            side_effect=self.emitted.append)).mock
        self.release = threading.Event()
        self.addCleanup(self.release.set)

    def flush(self):
        self.assertTrue(after.flush(10), 'after-delete work not done')

    def test_delete_record_written_at_once_check_record_when_done(self):
        attempt = self._attempt()
        seen = []

        def then(checked):
            seen.append((checked.instance, checked.context,
                         attempt_mod.checking(),
                         threading.current_thread().name,
                         common_context.get_current()))
            self.release.wait(10)
            checked.record.decisions.append('late:one')
            checked.record.leaks = [{'kind': 'ports', 'resource_id': 'p1'}]

        attempt.finish(rec.DELETED, path=rec.PATH_COMPUTE, then=then)
        # The delete record is out while the check still runs.
        self.assertEqual([attempt.record], self.emitted)
        self.release.set()
        self.flush()
        record, check = self.emitted
        self.assertEqual([], record.decisions)
        self.assertIsNone(record.leaks)
        self.assertIsInstance(check, rec.CheckRecord)
        self.assertEqual(
            ('check', record.id, base.UUID, record.request_id, 'checked',
             ['late:one'], [{'kind': 'ports', 'resource_id': 'p1'}],
             rec.PATH_COMPUTE),
            (check.kind, check.delete_id, check.instance_uuid,
             check.request_id, check.outcome, check.decisions, check.leaks,
             check.path))
        self.assertIsNotNone(check.checked_at)
        self.assertIsNotNone(check.duration_ms)
        [(instance, context, checking, thread, current)] = seen
        self.assertEqual((self.instance, self.context, attempt),
                         (instance, context, checking))
        # Logged with the request's context, as on Nova's own threads.
        self.assertIs(self.context, current)
        self.assertTrue(thread.startswith('nova-delete-ext-after-'), thread)
        self.assertIsNone(attempt_mod.checking())

    def test_decisions_made_before_the_delete_stay_in_its_record(self):
        attempt = self._attempt()
        attempt.record.decisions.append('protect:allowed')
        attempt.finish(rec.DELETED, then=lambda checked: checked.record.
                       decisions.append('verify:clean'))
        self.flush()
        record, check = self.emitted
        self.assertEqual(['protect:allowed'], record.decisions)
        self.assertEqual(['verify:clean'], check.decisions)

    def test_check_record_says_when_then_fails(self):
        attempt = self._attempt()
        attempt.finish(rec.DELETED, then=mock.Mock(side_effect=_Boom('x')))
        self.flush()
        record, check = self.emitted
        self.assertEqual(rec.DELETED, record.outcome)
        self.assertEqual(('failed', '_Boom: x'), (check.outcome, check.error))
        self.assertEqual(1, len(self.logs.at(logging.ERROR)))

    def test_skipped_when_no_worker_is_free(self):
        self.flags(after_delete_workers=1, after_delete_queue_size=1,
                   group='delete_ext')
        ran = []

        def then(checked):
            ran.append(checked.record.instance_uuid)
            self.release.wait(10)

        busy, queued, skipped = (self._attempt() for _ in range(3))
        busy.finish(rec.DELETED, then=then)
        for _ in range(100):
            if ran:
                break
            time.sleep(0.01)
        queued.finish(rec.DELETED, then=then)
        started = time.monotonic()
        skipped.finish(rec.DELETED, then=then)
        self.assertLess(time.monotonic() - started, 1.0)
        # The skip is written right away, with why.
        [check] = [r for r in self.emitted if r.kind == 'check']
        self.assertEqual((skipped.record.id, 'skipped'),
                         (check.delete_id, check.outcome))
        self.assertIn('after_delete_queue_size', check.error)
        self.assertEqual(1, len(self.logs.at(logging.WARNING)))
        self.release.set()
        self.flush()
        self.assertEqual(2, len(ran))
        self.assertEqual(
            {busy.record.id: 'checked', queued.record.id: 'checked',
             skipped.record.id: 'skipped'},
            {r.delete_id: r.outcome for r in self.emitted
             if r.kind == 'check'})

    def test_never_on_novas_thread_pools(self):
        # Nova 34: nova.thread_pool_factory; 31 to 33: nova.utils.spawn.
        spawners = [self.useFixture(fixtures.MockPatchObject(
            nova_spawn._spawner, name, autospec=True)).mock
            for name in ('spawn', 'spawn_on')
            if hasattr(nova_spawn._spawner, name)]
        attempt = self._attempt()
        attempt.finish(rec.DELETED, then=lambda checked: None)
        self.flush()
        for spawner in spawners:
            spawner.assert_not_called()
        self.assertEqual(['delete', 'check'],
                         [r.kind for r in self.emitted])

    def test_no_check_record_without_work_after(self):
        self._attempt().finish(rec.DELETED)
        self.flush()
        self.assertEqual(['delete'], [r.kind for r in self.emitted])

    def test_abandon_writes_nothing(self):
        attempt = self._attempt()
        attempt.abandon()
        attempt.finish(rec.DELETED)
        self.emit.assert_not_called()


class NetworkInfoTest(AttemptTestBase):
    """The network info kept from before Nova deallocates it."""

    def vifs(self):
        return network_model.NetworkInfo([
            network_model.VIF(id='p1', preserve_on_delete=False)])

    def test_kept_when_loaded(self):
        self.instance.info_cache = objects.InstanceInfoCache(
            network_info=self.vifs())
        attempt = self._attempt()
        self.assertEqual(self.vifs(), attempt.network_info)
        self.assertIsNot(self.instance.info_cache.network_info,
                         attempt.network_info)

    def test_not_loaded_in_the_api(self):
        with mock.patch.object(objects.Instance, 'obj_load_attr',
                               autospec=True) as load:
            self.assertIsNone(self._attempt().network_info)
        load.assert_not_called()

    def test_loaded_for_a_delete_on_the_compute_host(self):
        def load(instance, name):
            instance.info_cache = objects.InstanceInfoCache(
                network_info=self.vifs())

        with mock.patch.object(objects.Instance, 'obj_load_attr',
                               autospec=True, side_effect=load) as loaded:
            for delete_type in (rec.SOFT_DELETE, rec.RESTORE):
                attempt = attempt_mod.Attempt(
                    self.context, self.instance, delete_type,
                    rec.TRIGGER_API, 'compute')
                self.assertIsNone(attempt.network_info)
            loaded.assert_not_called()
            attempt = attempt_mod.Attempt(self.context, self.instance,
                                          rec.DELETE, rec.TRIGGER_API,
                                          'compute')
        self.assertEqual(self.vifs(), attempt.network_info)

    def test_unknown_when_it_cannot_be_loaded(self):
        # No context to lazy-load with: unknown, and the attempt is made.
        attempt = attempt_mod.begin(self.context, self.instance, rec.DELETE,
                                    rec.TRIGGER_RECLAIM, 'compute')
        self.assertIsNone(attempt.network_info)
        self.assertEqual([], self.logs.at(logging.ERROR))


class FinishToFileTest(AttemptTestBase):

    def test_one_line_in_the_record_file(self):
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            'records.jsonl')
        self.flags(record_file=path, group='delete_ext')
        attempt = self._attempt()
        attempt.finish(rec.DELETED, path=rec.PATH_COMPUTE,
                       released={'ports'})
        attempt.finish(rec.DELETED, path=rec.PATH_COMPUTE)
        self.assertTrue(sinks.flush(10))
        with open(path) as f:
            lines = [jsonutils.loads(line) for line in f]
        self.assertEqual([attempt.record.as_dict()], lines)
        self.assertEqual(['ports'], lines[0]['released'])
        self.assertEqual(base.UUID, lines[0]['instance_uuid'])
        self.assertEqual(1, len(self.logs.at(logging.INFO)))

    def test_unwritable_record_file(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        # A directory; lost at the first failure, not tried again.
        self.flags(record_file=tmp, sink_retry_age=0, group='delete_ext')
        attempt = self._attempt()
        attempt.finish(rec.DELETED)  # does not raise
        self.assertEqual(rec.DELETED, attempt.record.outcome)
        self.assertTrue(sinks.flush(10))
        # The file sink's writer lost the record and said so, once.
        errors = self.logs.at(logging.ERROR)
        self.assertEqual(1, len(errors), [r.getMessage() for r in errors])
        self.assertIn('lost 1 delete record(s) for the file sink',
                      errors[0].getMessage())


class GuardTest(AttemptTestBase):

    def test_no_error(self):
        attempt = self._attempt()
        ran = []
        with attempt.guard():
            ran.append(1)
        self.assertEqual([1], ran)
        self.assertEqual([], self.logs.at(logging.ERROR))

    def test_swallows_and_logs_first_error_once(self):
        attempt = self._attempt()
        ran = []
        with attempt.guard():
            ran.append('before')
            raise _Boom('first')
        with attempt.guard():
            raise ValueError('second')
        self.assertEqual(['before'], ran)
        error = self._assert_one_error_logged()
        self.assertIsInstance(error.exc_info[1], _Boom)

    def test_each_attempt_logs_its_own(self):
        first, second = self._attempt(), self._attempt()
        with first.guard():
            raise _Boom()
        with second.guard():
            raise _Boom()
        self.assertEqual(2, len(self.logs.at(logging.ERROR)))

    def test_base_exceptions_pass(self):
        attempt = self._attempt()

        def run():
            with attempt.guard():
                raise _NotAnError()

        self.assertRaises(_NotAnError, run)
        self.assertEqual([], self.logs.at(logging.ERROR))


class BeginTest(AttemptTestBase):

    def test_returns_an_attempt(self):
        attempt = attempt_mod.begin(self.context, self.instance, rec.DELETE,
                                    rec.TRIGGER_API, 'api',
                                    requested_at='then')
        self.assertIsInstance(attempt, attempt_mod.Attempt)
        self.assertEqual('then', attempt.record.requested_at)
        self.assertEqual('api@test-host', attempt.record.recorded_by)
        self.assertEqual([], self.logs.records)

    def test_none_and_logged_when_construction_fails(self):
        # An instance loaded without vm_state: reading it tries a lazy-load,
        # which fails for an instance that has no context.
        self.instance = base.make_instance(omit=('vm_state',))
        attempt = attempt_mod.begin(self.context, self.instance, rec.DELETE,
                                    rec.TRIGGER_API, 'api')
        self.assertIsNone(attempt)
        self._assert_one_error_logged()

    def test_none_when_state_reading_raises(self):
        with mock.patch.object(states.InstanceState, 'of', autospec=True,
                               side_effect=_Boom('bad')):
            attempt = attempt_mod.begin(self.context, self.instance,
                                        rec.DELETE, rec.TRIGGER_API, 'api')
        self.assertIsNone(attempt)
        error = self._assert_one_error_logged()
        self.assertIsInstance(error.exc_info[1], _Boom)

    def test_base_exceptions_pass(self):
        with mock.patch.object(states.InstanceState, 'of', autospec=True,
                               side_effect=_NotAnError()):
            self.assertRaises(_NotAnError, attempt_mod.begin, self.context,
                              self.instance, rec.DELETE, rec.TRIGGER_API,
                              'api')


class ContextVarsTest(base.TestCase):

    def test_defaults(self):
        self.assertIsNone(attempt_mod.API_ATTEMPT.get())
        self.assertIsNone(attempt_mod.COMPUTE_TRIGGER.get())
