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

"""Refusals of a destroy: who asks which policy, what a refusal names."""

import logging
from unittest import mock

from nova.compute import task_states
from nova.compute import vm_states
from nova import context as nova_context
from nova import objects

from nova_delete_ext import exception
from nova_delete_ext.hooks import decide
from nova_delete_ext.hooks import mapping
from nova_delete_ext.hooks import mixed
from nova_delete_ext.hooks import refusal
from nova_delete_ext import policies
from nova_delete_ext.policies import base as policy_base
from nova_delete_ext import record as rec
from nova_delete_ext.record import attempt as attempt_mod
from nova_delete_ext.record import sysmeta
from nova_delete_ext.tests.unit import base
from nova_delete_ext.tests.unit import test_policies


class Asked(policy_base.DeletePolicy):
    """Notes each before_destroy; refuses if ``deny``."""

    deny = False

    def validate(self):
        pass

    def before_destroy(self, event):
        if self.deny:
            return self.decision('denied', deny=RuntimeError('no'))
        return self.decision('asked')


class InApi(Asked):
    before_destroy_in_api = True


class ChainTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.chain = policies.PolicyChain(
            [InApi(self.conf, 'in_api'), Asked(self.conf, 'on_host')])

    def names(self, decisions):
        return [str(d) for d in decisions]

    def test_nova_api_asks_only_the_policies_that_can_decide_there(self):
        self.assertTrue(self.chain.destroys_checked_in_api)
        self.assertFalse(policies.PolicyChain(
            [Asked(self.conf)]).destroys_checked_in_api)
        event = test_policies.make_event(base.make_instance())
        self.assertEqual(['in_api:asked'], self.names(
            self.chain.before_destroy_in_api(event)))

    def test_host_does_not_ask_again_what_nova_api_asked(self):
        instance = base.make_instance()
        for trigger, api_policies, expected in (
                (rec.TRIGGER_API, ('in_api', 'on_host'), ['on_host:asked']),
                # nova-api without it, or without the extension.
                (rec.TRIGGER_API, ('on_host',),
                 ['in_api:asked', 'on_host:asked']),
                (rec.TRIGGER_API, None, ['in_api:asked', 'on_host:asked']),
                # No API request before a reclaim.
                (rec.TRIGGER_RECLAIM, ('in_api', 'on_host'),
                 ['in_api:asked', 'on_host:asked'])):
            event = test_policies.make_event(instance, trigger=trigger,
                                             api_policies=api_policies)
            self.assertEqual(expected, self.names(
                self.chain.before_destroy(event)), (trigger, api_policies))


class DecideInApiTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.flags(host='api-host')
        self.policy = InApi(self.conf, 'in_api')
        self.policy.deny = True
        self.addCleanup(policies.set_active, policies.set_active(
            policies.PolicyChain([self.policy])))
        self.emit = self.useFixture(base.fixtures.MockPatch(
            'nova_delete_ext.sinks.emit', autospec=True)).mock

    def attempt(self, delete_type=rec.DELETE):
        context = nova_context.RequestContext('u', 'p', is_admin=False,
                                              request_id='req-1')
        return attempt_mod.Attempt(context, base.make_instance(),
                                   delete_type, rec.TRIGGER_API, 'api')

    def test_refusal_is_a_409_recorded_by_nova_api(self):
        attempt = self.attempt()
        exc = self.assertRaises(exception.DeleteProtected,
                                decide.before_destroy_in_api, attempt)
        self.assertEqual('no', exc.format_message())
        self.assertEqual((rec.DENIED, ['in_api:denied']), (
            attempt.record.outcome, attempt.record.decisions))
        self.emit.assert_called_once_with(attempt.record)

    def test_not_for_a_soft_delete(self):
        # It destroys nothing; the reclaim asks on the host later.
        attempt = self.attempt(rec.SOFT_DELETE)
        decide.before_destroy_in_api(attempt)
        self.assertEqual([], attempt.record.decisions)

    def test_event_says_nova_api_applies_its_policies(self):
        self.policy.deny = False
        seen = []
        self.policy.before_destroy = lambda event: seen.append(
            (event.driver, event.api_policies))
        decide.before_destroy_in_api(self.attempt())
        self.assertEqual([(None, ('in_api',))], seen)


class LossesTest(base.TestCase):

    def attempt(self, steps, image='img-1'):
        attempt = mock.Mock(shelve_image_id=image)
        attempt.record = base.make_record(steps=steps)
        return attempt

    def test_nothing_lost_leaves_the_error_alone(self):
        error = RuntimeError('no')
        self.assertIs(error, refusal.with_losses(self.attempt([]), error))

    def test_losses_come_first(self):
        error = exception.DeleteProtected(reason='Protected.')
        found = refusal.with_losses(self.attempt(
            [rec.STEP_DELETE_SHELVE_IMAGE]), error)
        self.assertEqual(
            'Not deleted, but its shelve snapshot img-1 is gone: unshelve '
            'it before it is offloaded, or it cannot be unshelved. '
            'Protected.', found.format_message())
        found = refusal.with_losses(self.attempt(
            [rec.STEP_CONFIRM_RESIZE]), RuntimeError('no'))
        self.assertEqual(
            'Not deleted, but its pending resize was confirmed already and '
            'cannot be reverted. RuntimeError: no', found.format_message())


class MappingTest(base.TestCase):

    def setUp(self):
        super().setUp()
        objects.register_all()

    def instance(self, **updates):
        values = {'deleted': False,
                  'system_metadata': {sysmeta.REFUSED_KEY: 'req-1'}}
        values.update(updates)
        return base.make_instance(**values)

    def test_refused_alive(self):
        self.assertTrue(mapping.refused_alive(self.instance()))
        for updates in ({'system_metadata': {}},
                        {'task_state': task_states.DELETING},
                        {'vm_state': vm_states.SOFT_DELETED},
                        {'deleted': True}):
            self.assertFalse(mapping.refused_alive(self.instance(**updates)),
                             updates)
        # A partial instance of a cell that is down.
        self.assertFalse(mapping.refused_alive(
            self.instance(omit=('vm_state',))))

    def test_conductor_unreachable_is_logged_not_raised(self):
        with mock.patch.object(
                objects.InstanceMapping, 'get_by_instance_uuid',
                autospec=True, side_effect=RuntimeError('no API database')):
            self.assertFalse(mapping.unqueue_from_compute(
                mock.sentinel.context, self.instance()))
        self.assertIn('conductor could not update its instance mapping '
                      '(RuntimeError: no API database)',
                      self.logs.records[-1].getMessage())

    def test_unmarked_mapping_is_not_written(self):
        found = objects.InstanceMapping(queued_for_delete=False)
        with mock.patch.object(
                objects.InstanceMapping, 'get_by_instance_uuid',
                autospec=True, return_value=found), mock.patch.object(
                objects.InstanceMapping, 'save', autospec=True) as save:
            self.assertTrue(mapping.unqueue_from_compute(
                mock.sentinel.context, self.instance()))
        save.assert_not_called()


class Requests(policy_base.DeletePolicy):
    """Decides at the request, in nova-api."""

    def validate(self):
        pass

    def on_request(self, event):
        return None


class MixedTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(base.fixtures.MockPatchObject(mixed, '_warned', {}))
        self.addCleanup(policies.set_active, policies.set_active(
            policies.PolicyChain([Requests(self.conf, 'protect'),
                                  InApi(self.conf, 'in_api'),
                                  Asked(self.conf, 'capture')])))

    def note(self, api_policies):
        attempt = mock.Mock(instance=base.make_instance())
        attempt.record = base.make_record()
        mixed.note(attempt, api_policies)
        return attempt.record.decisions

    def test_only_policies_that_decide_in_nova_api_count(self):
        # capture acts on the host only: nova-api has nothing to apply.
        self.assertEqual(['protect', 'in_api'],
                         policies.active().api_names)
        self.assertEqual([], self.note(('protect', 'in_api')))
        self.assertEqual([], self.logs.at(logging.WARNING))

    def test_each_missing_policy_is_a_decision(self):
        self.assertEqual(['nova-api:without(in_api)'],
                         self.note(('protect', 'recycle')))
        self.assertEqual(['nova-api:without(protect)',
                          'nova-api:without(in_api)'], self.note(None))

    def test_warned_once_per_interval(self):
        for _ in range(3):
            self.note(())
        self.note(None)
        warnings = [r.getMessage() for r in self.logs.at(logging.WARNING)]
        self.assertEqual(2, len(warnings), warnings)
        self.assertIn('nova-api did not apply the policies protect, in_api, '
                      'which this nova-compute applies (nova-api applied '
                      'none)', warnings[0])
        self.assertIn('does it run nova-delete-ext?', warnings[1])
        with mock.patch.object(mixed.time, 'monotonic', autospec=True,
                               return_value=mixed.time.monotonic() + 601):
            self.note(())
        self.assertEqual(3, len(self.logs.at(logging.WARNING)))
