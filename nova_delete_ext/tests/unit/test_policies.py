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

"""Tests of loading, validating and running policies."""

import datetime
import logging
import os
import stat
import threading
import time
from unittest import mock

from nova.compute import power_state
from nova.compute import vm_states
from nova import context as nova_context
from nova import objects
from oslo_serialization import jsonutils
from oslo_utils import timeutils
from oslo_utils import uuidutils

from nova_delete_ext import deadline
from nova_delete_ext import exception
from nova_delete_ext.hooks import decide
from nova_delete_ext import leaks
from nova_delete_ext import policies
from nova_delete_ext.policies import base as policy_base
from nova_delete_ext.policies import capture
from nova_delete_ext.policies import capture_files
from nova_delete_ext.policies import protect
from nova_delete_ext.policies import recycle
from nova_delete_ext.policies import verify
from nova_delete_ext import record as rec
from nova_delete_ext.record import attempt as attempt_mod
from nova_delete_ext.record import sysmeta
from nova_delete_ext import states
from nova_delete_ext.tests.unit import base
from nova_delete_ext.tests.unit import test_capture_mask


def make_event(instance, delete_type=rec.DELETE, trigger=rec.TRIGGER_API,
               context=None, api_policies=None):
    return policy_base.DeleteEvent(
        context=context or mock.Mock(), instance=instance,
        state=states.InstanceState.of(instance), delete_type=delete_type,
        trigger=trigger, record=base.make_record(),
        api_policies=api_policies)


class LoadTest(base.TestCase):

    def load(self, *names, **groups):
        self.flags(policies=list(names), group='delete_ext')
        for group, values in groups.items():
            self.flags(group=group, **values)
        return policies.load(self.conf)

    def assert_invalid(self, option, *fragments, **groups):
        names = groups.pop('names', ('protect',))
        exc = self.assertRaises(exception.ConfigInvalid, self.load, *names,
                                **groups)
        message = str(exc)
        self.assertTrue(message.startswith(
            'Invalid nova-delete-ext configuration: %s: ' % option), message)
        for fragment in fragments:
            self.assertIn(fragment, message)
        return message

    def test_no_policies(self):
        chain = self.load()
        self.assertEqual([], chain.names)
        self.assertFalse(chain.acts_after_delete)

    def test_builtins_in_configured_order(self):
        chain = self.load('recycle', 'protect', 'capture', delete_ext_recycle={
            'retention': {'active': 10}}, delete_ext_capture={
            'directory': self.useFixture(base.fixtures.TempDir()).path})
        self.assertEqual(['recycle', 'protect', 'capture'], chain.names)
        self.assertIsInstance(chain.policies[1], protect.Protect)
        self.assertTrue(chain.fails_closed)

    def test_unknown_name(self):
        self.assert_invalid('[delete_ext]policies', "unknown policy 'protekt'",
                            'installed policies: capture, protect, recycle',
                            names=('protect', 'protekt'))

    def test_repeated_name(self):
        self.assert_invalid('[delete_ext]policies',
                            'protect listed more than once',
                            names=('protect', 'protect'))

    def test_unknown_vm_state(self):
        # As read from nova.conf: oslo.config checks the value when read.
        self.conf_fixture.load_raw_values(group='delete_ext_protect',
                                          states='active,actve')
        self.assert_invalid('[delete_ext_protect]states', "found 'actve'",
                            'Valid values are [active, building')

    def test_protect_needs_a_state(self):
        self.assert_invalid('[delete_ext_protect]states', 'lists no vm_state',
                            'remove protect from [delete_ext]policies',
                            delete_ext_protect={'states': []})

    def test_protect_needs_a_key_or_tag(self):
        self.assert_invalid('[delete_ext_protect]metadata_key',
                            'both metadata_key and tag are empty',
                            delete_ext_protect={'metadata_key': '',
                                                'tag': ''})

    def test_recycle_retention_errors(self):
        for value, fragment in (
                ('active:-5', "'-5' for vm_state active is not a whole "
                              "number of seconds"),
                ('active:soon', "'soon' for vm_state active"),
                ('actve:60', "unknown vm_state 'actve'"),
                ('shelved_offloaded:60', 'a soft delete cannot keep a '
                                         'server in shelved_offloaded'),
                ('', 'lists no vm_state')):
            self.conf_fixture.load_raw_values(group='delete_ext_recycle',
                                              retention=value)
            self.assert_invalid('[delete_ext_recycle]retention', fragment,
                                names=('recycle',))

    def test_recycle_warns_without_reclaim_interval(self):
        self.flags(reclaim_instance_interval=0)
        self.load('recycle', delete_ext_recycle={'retention': {'active': 1}})
        warnings = self.logs.at(logging.WARNING)
        self.assertEqual(1, len(warnings))
        self.assertIn('will not reclaim', warnings[0].getMessage())

    def test_capture_directory_not_writable(self):
        parent = self.useFixture(base.fixtures.TempDir()).path
        blocker = os.path.join(parent, 'file')
        open(blocker, 'w').close()
        self.assert_invalid('[delete_ext_capture]directory',
                            repr(os.path.join(blocker, 'sub')),
                            'cannot be created', 'is not a directory',
                            names=('capture',),
                            delete_ext_capture={
                                'directory': os.path.join(blocker, 'sub')})

    def test_capture_directory_created_at_first_capture_only(self):
        # Validating changes nothing on disk: nova-delete-ext-status runs
        # it too, maybe as another user than the service.
        target = os.path.join(self.useFixture(base.fixtures.TempDir()).path,
                              'a', 'b')
        self.load('capture', delete_ext_capture={'directory': target})
        self.assertFalse(os.path.exists(target))

    def test_plugin_that_is_not_a_policy(self):
        fake = mock.Mock()
        fake.name, fake.obj = 'odd', object()
        with mock.patch.object(policies.named, 'NamedExtensionManager',
                               return_value=[fake]):
            self.assert_invalid('[delete_ext]policies',
                                'odd is not a nova_delete_ext DeletePolicy',
                                names=('odd',))


class Boom(policy_base.DeletePolicy):

    def validate(self):
        pass

    def on_request(self, event):
        raise RuntimeError('boom')

    def on_restore(self, event):
        raise RuntimeError('boom')


class Note(policy_base.DeletePolicy):

    def validate(self):
        pass

    def on_request(self, event):
        return self.decision('noted')


class Keep(policy_base.DeletePolicy):
    """Keeps soft-deleted servers ``seconds``; notes restores."""

    seconds = None

    def validate(self):
        pass

    def retention(self, instance):
        if self.seconds == 'boom':
            raise RuntimeError('boom')
        return self.seconds

    def on_restore(self, event):
        event.instance.system_metadata['restored_by'] = self.name
        return self.decision('restored')


class ChainTest(base.TestCase):

    def _keep(self, name, seconds):
        policy = Keep(self.conf, name)
        policy.seconds = seconds
        return policy

    def test_retention_is_the_first_answer(self):
        chain = policies.PolicyChain([
            Note(self.conf), self._keep('a', None), self._keep('b', 30),
            self._keep('c', 90)])
        self.assertEqual(30, chain.retention(base.make_instance()))
        self.assertIsNone(policies.PolicyChain([Note(self.conf)]).retention(
            base.make_instance()))

    def test_retention_skips_a_failing_policy(self):
        chain = policies.PolicyChain([self._keep('a', 'boom'),
                                      self._keep('b', 0)])
        self.assertEqual(0, chain.retention(base.make_instance()))
        self.assertIn('policy a failed to tell the retention',
                      self.logs.at(logging.ERROR)[0].getMessage())

    def test_on_restore_asks_every_policy(self):
        instance = base.make_instance()
        chain = policies.PolicyChain([self._keep('a', 1), Boom(self.conf),
                                      self._keep('b', 2)])
        decisions = chain.on_restore(make_event(instance,
                                                delete_type=rec.RESTORE))
        self.assertEqual(['a:restored', 'b:restored'],
                         [str(d) for d in decisions])
        self.assertEqual('b', instance.system_metadata['restored_by'])

    def test_base_class_is_abstract(self):
        self.assertRaises(TypeError, policy_base.DeletePolicy, self.conf)

    def test_error_of_a_policy_is_logged_and_skipped(self):
        chain = policies.PolicyChain([Boom(self.conf), Note(self.conf)])
        decisions = chain.on_request(make_event(base.make_instance()))
        self.assertEqual(['note:noted'], [str(d) for d in decisions])
        self.assertIn('policy boom failed',
                      self.logs.at(logging.ERROR)[0].getMessage())

    def test_fail_closed_policy_denies_on_error(self):
        boom = Boom(self.conf)
        boom.fail_closed = True
        chain = policies.PolicyChain([boom, Note(self.conf)])
        decisions = chain.on_request(make_event(base.make_instance()))
        self.assertEqual(['boom:denied(error)'], [str(d) for d in decisions])
        self.assertIsInstance(decisions[0].deny, exception.DeleteProtected)
        self.assertIn('RuntimeError: boom',
                      decisions[0].deny.format_message())

    def test_policy_that_hangs_is_skipped_after_the_timeout(self):
        release = threading.Event()
        self.addCleanup(release.set)
        hangs = Note(self.conf, 'hangs')
        hangs.on_request = lambda event: release.wait(30)
        chain = policies.PolicyChain([hangs, Note(self.conf)], timeout=0.2)
        decisions = chain.on_request(make_event(base.make_instance()))
        self.assertEqual(['note:noted'], [str(d) for d in decisions])
        self.assertIn('policy hangs failed',
                      self.logs.at(logging.ERROR)[0].getMessage())

    def test_fail_closed_policy_that_hangs_denies(self):
        release = threading.Event()
        self.addCleanup(release.set)
        hangs = Note(self.conf, 'hangs')
        hangs.fail_closed = True
        hangs.on_request = lambda event: release.wait(30)
        chain = policies.PolicyChain([hangs], timeout=0.2)
        decisions = chain.on_request(make_event(base.make_instance()))
        self.assertEqual(['hangs:denied(error)'], [str(d) for d in decisions])
        self.assertIn('could not decide whether this server may be '
                      'deleted (CallTimedOut: hangs did not answer '
                      'on_request within 0.2 s)',
                      decisions[0].deny.format_message())

    def test_loaded_chain_has_the_configured_timeout(self):
        self.flags(policies=['protect'], policy_timeout=2.5,
                   group='delete_ext')
        self.assertEqual(2.5, policies.load(self.conf).timeout)

    def test_after_delete_only_for_policies_that_define_it(self):
        self.assertFalse(policies.PolicyChain([Note(self.conf)])
                         .acts_after_delete)


class ProtectTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.policy = protect.Protect(self.conf, 'protect')
        self.useFixture(base.fixtures.MockPatch(
            'nova_delete_ext.policies.rules.may_bypass_protection',
            return_value=False))

    def instance(self, metadata=None, tags=(), **kwargs):
        instance = base.make_instance(metadata=metadata or {}, **kwargs)
        instance.tags = objects.TagList(objects=[
            objects.Tag(tag=t) for t in tags])
        return instance

    def decide(self, instance, **kwargs):
        return self.policy.on_request(make_event(instance, **kwargs))

    def test_values(self):
        for value, protected in (('true', True), ('Yes', True), ('1', True),
                                 ('on', True), ('false', False),
                                 ('no', False), ('0', False)):
            decision = self.decide(self.instance({'delete_protection': value}))
            self.assertEqual(protected, decision is not None, value)

    def test_value_not_understood_is_protected(self):
        for value in ('maybe', '', 'tru'):
            decision = self.decide(self.instance({'delete_protection': value}))
            self.assertEqual('denied', decision.action)
            self.assertIn('%r is neither true nor false' % value,
                          decision.deny.format_message())

    def test_unprotected(self):
        self.assertIsNone(self.decide(self.instance({'other': 'true'},
                                                    tags=['x'])))

    def test_tag_and_configured_names(self):
        self.flags(tag='keep', metadata_key='lock', group='delete_ext_protect')
        self.assertIsNone(self.decide(self.instance(
            {'delete_protection': 'true'}, tags=['delete-protected'])))
        decision = self.decide(self.instance(tags=['keep']))
        self.assertEqual('protect:denied(tag keep)', str(decision))
        self.assertIn('remove the tag keep', decision.deny.format_message())
        self.assertIsNotNone(self.decide(self.instance({'lock': 'y'})))

    def test_tags_not_loaded_one_lookup(self):
        # The servers controller loads no tags for a delete: nova-api looks
        # up its one tag in the cell database instead of loading them all.
        lookup = self.useFixture(base.fixtures.MockPatchObject(
            protect, '_tag_in_db', return_value=True)).mock
        instance = base.make_instance(metadata={})
        instance._context = mock.sentinel.cell_context
        decision = self.decide(instance)
        self.assertEqual('protect:denied(tag delete-protected)',
                         str(decision))
        lookup.assert_called_once_with(mock.sentinel.cell_context,
                                       instance.uuid, 'delete-protected')
        self.assertFalse(instance.obj_attr_is_set('tags'))
        lookup.return_value = False
        self.assertIsNone(self.decide(instance))
        # A false metadata value leaves the tag to decide.
        lookup.reset_mock()
        instance.metadata = {'delete_protection': 'false'}
        self.assertIsNone(self.decide(instance))
        lookup.assert_called_once_with(mock.sentinel.cell_context,
                                       instance.uuid, 'delete-protected')

    def test_tag_through_conductor_on_a_compute_host(self):
        self.useFixture(base.fixtures.MockPatchObject(
            objects.base.NovaObject, 'indirection_api', mock.Mock()))
        lookup = self.useFixture(base.fixtures.MockPatchObject(
            protect, '_tag_in_db')).mock
        exists = self.useFixture(base.fixtures.MockPatch(
            'nova.objects.Tag.exists', return_value=True)).mock
        instance = base.make_instance(metadata={})
        instance._context = mock.sentinel.cell_context
        self.assertEqual('denied', self.decide(instance).action)
        exists.assert_called_once_with(mock.sentinel.cell_context,
                                       instance.uuid, 'delete-protected')
        lookup.assert_not_called()

    def test_no_tag_query_when_metadata_decides(self):
        lookup = self.useFixture(base.fixtures.MockPatchObject(
            protect, '_tag_in_db')).mock
        for value in ('true', 'maybe'):
            instance = base.make_instance(
                metadata={'delete_protection': value})
            self.assertEqual('denied', self.decide(instance).action)
        # Nor on a deleted instance, which has no tags.
        self.assertIsNone(self.decide(base.make_instance(
            metadata={}, deleted=True)))
        lookup.assert_not_called()

    def test_states(self):
        self.flags(states=[vm_states.STOPPED], group='delete_ext_protect')
        meta = {'delete_protection': 'true'}
        self.assertIsNone(self.decide(self.instance(meta)))
        self.assertIsNotNone(self.decide(self.instance(
            meta, vm_state=vm_states.STOPPED)))

    def test_bypass(self):
        instance = self.instance({'delete_protection': '1'})
        context = mock.Mock(request_id='req-9')
        with mock.patch('nova_delete_ext.policies.rules.may_bypass_protection',
                        return_value=True):
            decision = self.decide(instance, context=context)
        self.assertEqual('protect:bypassed(metadata delete_protection=1)',
                         str(decision))
        self.assertIsNone(decision.deny)
        # Saved with the delete, so that a later reclaim completes it.
        self.assertEqual('req-9',
                         instance.system_metadata[sysmeta.BYPASS_KEY])
        self._last_delete_request('req-9')
        decision = self.policy.before_destroy(make_event(
            instance, trigger=rec.TRIGGER_RECLAIM))
        self.assertEqual('protect:bypassed(metadata delete_protection=1, '
                         'at the request)', str(decision))
        self.assertIsNone(decision.deny)
        self.policy.on_restore(make_event(instance,
                                          delete_type=rec.RESTORE))
        self.assertNotIn(sysmeta.BYPASS_KEY, instance.system_metadata)

    def _last_delete_request(self, *request_ids):
        """Newest first: a restore, then deletes of these requests."""
        actions = [mock.Mock(action='restore', request_id='req-r')] + [
            mock.Mock(action='delete', request_id=r) for r in request_ids]
        return self.useFixture(base.fixtures.MockPatch(
            'nova.objects.InstanceActionList.get_by_instance_uuid',
            autospec=True, return_value=actions)).mock

    def test_bypass_marker_of_a_failed_delete_counts_for_no_later_one(self):
        # req-9 bypassed, failed; the server was soft deleted since by
        # req-10, which bypassed nothing.
        instance = self.instance({'delete_protection': '1'}, system_metadata={
            sysmeta.BYPASS_KEY: 'req-9'})
        lookup = self._last_delete_request('req-10', 'req-9')
        for trigger in (rec.TRIGGER_RECLAIM, rec.TRIGGER_RESUME):
            decision = self.policy.before_destroy(make_event(
                instance, trigger=trigger))
            self.assertEqual('denied', decision.action, trigger)
        lookup.assert_called_with(mock.ANY, instance.uuid)
        # Nor for another API request.
        decision = self.policy.before_destroy(make_event(
            instance, context=mock.Mock(request_id='req-11')))
        self.assertEqual('denied', decision.action)
        decision = self.policy.before_destroy(make_event(
            instance, context=mock.Mock(request_id='req-9')))
        self.assertEqual('bypassed', decision.action)

    def test_api_delete_checked_on_compute_unless_nova_api_did(self):
        instance = self.instance({'delete_protection': 'true'})
        # nova-api applied protect: its decision stands.
        self.assertIsNone(self.policy.before_destroy(make_event(
            instance, api_policies=('recycle', 'protect'))))
        # nova-api did not carry anything, or ran without protect.
        for carried in (None, (), ('recycle',)):
            decision = self.policy.before_destroy(make_event(
                instance, api_policies=carried))
            self.assertEqual('denied', decision.action, carried)
            self.assertIn('nova-api did not check the protection',
                          decision.deny.format_message())

    def test_before_destroy_for_nova_own_deletes(self):
        instance = self.instance({'delete_protection': 'true'})
        for trigger in (rec.TRIGGER_RECLAIM, rec.TRIGGER_RESUME):
            decision = self.policy.before_destroy(make_event(
                instance, trigger=trigger))
            self.assertIsNotNone(decision.deny, trigger)
            self.assertIn('restore it and set delete_protection to false',
                          decision.deny.format_message())


class RecycleTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.flags(retention={'active': 60, 'error': 0},
                   group='delete_ext_recycle')
        self.policy = recycle.Recycle(self.conf, 'recycle')
        self.host_up = self.useFixture(base.fixtures.MockPatch(
            'nova_delete_ext.states.compute_host_up', autospec=True,
            return_value=True)).mock

    def test_listed_state_becomes_soft_delete_with_retention(self):
        instance = base.make_instance()
        decision = self.policy.on_request(make_event(instance))
        self.assertEqual(('recycle:soft_delete(60s)', rec.SOFT_DELETE),
                         (str(decision), decision.redirect))
        self.assertEqual('60', instance.system_metadata[
            sysmeta.RETENTION_KEY])

    def test_unlisted_state(self):
        instance = base.make_instance(vm_state=vm_states.STOPPED)
        self.assertIsNone(self.policy.on_request(make_event(instance)))
        decision = self.policy.on_request(make_event(
            instance, delete_type=rec.SOFT_DELETE))
        self.assertEqual(rec.DELETE, decision.redirect)
        self.assertNotIn(sysmeta.RETENTION_KEY, instance.system_metadata)

    def test_soft_deleted_server_stays_in_the_bin(self):
        instance = base.make_instance(vm_state=vm_states.SOFT_DELETED)
        for delete_type in (rec.DELETE, rec.SOFT_DELETE):
            decision = self.policy.on_request(make_event(
                instance, delete_type=delete_type))
            self.assertEqual(('recycle:kept(already in the bin)', rec.KEEP),
                             (str(decision), decision.redirect))
        self.assertIsNone(self.policy.on_request(make_event(
            instance, delete_type=rec.FORCE_DELETE)))

    def test_delete_under_way_is_left_alone(self):
        for task_state in ('deleting', 'soft-deleting'):
            instance = base.make_instance(task_state=task_state)
            decision = self.policy.on_request(make_event(instance))
            self.assertEqual(
                ('recycle:kept(%s under way)' % task_state, rec.KEEP),
                (str(decision), decision.redirect))
            self.assertNotIn(sysmeta.RETENTION_KEY, instance.system_metadata)

    def test_host_down_lets_nova_delete_it(self):
        # Nova deletes such a server in nova-api: its host would never
        # reclaim it, nor finish the delete under way.
        self.host_up.return_value = False
        context = mock.Mock()
        for instance in (
                base.make_instance(vm_state=vm_states.SOFT_DELETED),
                base.make_instance(task_state='deleting'),
                base.make_instance(task_state='soft-deleting')):
            for delete_type in (rec.DELETE, rec.SOFT_DELETE):
                decision = self.policy.on_request(make_event(
                    instance, delete_type=delete_type, context=context))
                self.assertEqual(
                    ('recycle:not_kept(compute host down)', rec.DELETE),
                    (str(decision), decision.redirect))
            self.host_up.assert_called_with(context, 'cmp1')
        # Only these: the others are decided as ever, without asking.
        self.host_up.reset_mock()
        decision = self.policy.on_request(make_event(base.make_instance()))
        self.assertEqual(rec.SOFT_DELETE, decision.redirect)
        self.host_up.assert_not_called()

    def test_force_delete_untouched(self):
        self.assertIsNone(self.policy.on_request(make_event(
            base.make_instance(), delete_type=rec.FORCE_DELETE)))

    def test_never_launched_is_deleted(self):
        instance = base.make_instance(launched_at=None)
        decision = self.policy.on_request(make_event(instance))
        self.assertEqual(('recycle:not_kept(never launched)', rec.DELETE),
                         (str(decision), decision.redirect))
        self.assertNotIn(sysmeta.RETENTION_KEY, instance.system_metadata)

    def test_retention(self):
        soft = base.make_instance(vm_state=vm_states.SOFT_DELETED,
                                  system_metadata={
                                      sysmeta.RETENTION_KEY: '90'})
        self.assertEqual(90, self.policy.retention(soft))
        soft.system_metadata[sysmeta.RETENTION_KEY] = 'x'
        self.assertIsNone(self.policy.retention(soft))
        self.assertIsNone(self.policy.retention(base.make_instance(
            system_metadata={sysmeta.RETENTION_KEY: '90'})))
        self.assertIsNone(self.policy.retention(base.make_instance(
            vm_state=vm_states.SOFT_DELETED, omit=['system_metadata'])))

    def test_on_restore_drops_the_retention(self):
        instance = base.make_instance(system_metadata={
            sysmeta.RETENTION_KEY: '90', 'other': 'kept'})
        self.assertIsNone(self.policy.on_restore(make_event(
            instance, delete_type=rec.RESTORE)))
        self.assertEqual({'other': 'kept'}, instance.system_metadata)


class CaptureTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.directory = self.useFixture(base.fixtures.TempDir()).path
        self.flags(directory=self.directory, max_bytes=4096,
                   group='delete_ext_capture')
        self.policy = capture.Capture(self.conf, 'capture')

    def event(self, **kwargs):
        event = make_event(base.make_instance(vm_state=vm_states.ERROR,
                                              **kwargs),
                           trigger=rec.TRIGGER_API)
        event.driver = mock.Mock()
        event.driver.get_console_output.return_value = b'\xff console'
        event.driver.get_instance_diagnostics.return_value = (
            objects.Diagnostics(state='running'))
        return event

    def test_not_on_nova_api(self):
        event = self.event()
        event.driver = None
        self.assertIsNone(self.policy.before_destroy(event))

    def test_writes_one_file(self):
        decision = self.policy.before_destroy(self.event())
        self.assertEqual('capture:saved', str(decision))
        path = decision.fields['capture']
        self.assertEqual([os.path.basename(path)], os.listdir(self.directory))
        with open(path, 'rb') as f:
            text = f.read().decode('utf-8')
        self.assertIn('"console_output": "\\ufffd console"', text)
        self.assertIn('"state": "running"', text)

    def test_directory_created_at_first_capture(self):
        self.flags(directory=os.path.join(self.directory, 'new'),
                   group='delete_ext_capture')
        decision = self.policy.before_destroy(self.event())
        self.assertTrue(os.path.isfile(decision.fields['capture']))

    def test_write_failure_is_a_decision_not_an_error(self):
        with mock.patch.object(capture_files, 'write', autospec=True,
                               side_effect=OSError('disk full')):
            decision = self.policy.before_destroy(self.event())
        self.assertEqual('capture:failed', str(decision))
        self.assertIn('disk full',
                      self.logs.at(logging.WARNING)[0].getMessage())

    def captured(self, event):
        decision = self.policy.before_destroy(event)
        self.assertEqual('capture:saved', str(decision))
        with open(decision.fields['capture'], 'rb') as f:
            return jsonutils.load(f)

    def hang(self, event, method):
        """Make the driver's ``method`` wait until the test ends."""
        release = threading.Event()
        self.addCleanup(release.set)
        getattr(event.driver, method).side_effect = (
            lambda *args: release.wait(30))

    # Bounded in time ------------------------------------------------------

    def test_hung_driver_call_is_abandoned(self):
        self.flags(driver_timeout=0.2, group='delete_ext_capture')
        event = self.event()
        self.hang(event, 'get_console_output')
        start = time.monotonic()
        data = self.captured(event)
        self.assertLess(time.monotonic() - start, 5)
        self.assertNotIn('console_output', data)
        error = data['errors']['console_output']
        # (The mock's name: the driver's method name on a real driver.)
        self.assertIn('CallTimedOut: virt driver did not answer ', error)
        self.assertIn('get_console_output', error)
        self.assertTrue(error.endswith(' within 0.2 s'), error)
        # The next call is still made.
        self.assertEqual('running', data['diagnostics']['state'])

    def test_driver_not_asked_while_too_many_calls_hang(self):
        self.flags(driver_timeout=0.2, group='delete_ext_capture')
        # One more call given up than now (other tests' may still run).
        self.useFixture(base.fixtures.MockPatchObject(
            deadline, 'MAX_ABANDONED',
            deadline.abandoned(capture.DRIVER) + 1))
        first = self.event()
        self.hang(first, 'get_console_output')
        self.captured(first)
        second = self.event()
        data = self.captured(second)
        second.driver.get_console_output.assert_not_called()
        second.driver.get_instance_diagnostics.assert_not_called()
        error = data['errors']['console_output']
        self.assertIn('TooManyCallsHanging: virt driver not called ', error)
        self.assertIn('1 earlier calls given up after 0.2 s', error)

    def test_hung_capture_directory_fails_the_capture_in_time(self):
        self.flags(write_timeout=0.2, group='delete_ext_capture')
        release = threading.Event()
        self.addCleanup(release.set)
        with mock.patch.object(capture_files, 'write', autospec=True,
                               side_effect=lambda *a: release.wait(30)):
            start = time.monotonic()
            decision = self.policy.before_destroy(self.event())
        self.assertLess(time.monotonic() - start, 5)
        self.assertEqual('capture:failed', str(decision))
        self.assertIn('capture directory did not answer write within 0.2 s',
                      self.logs.at(logging.WARNING)[-1].getMessage())

    # Diagnostics of running guests only -------------------------------

    def test_no_diagnostics_of_a_guest_not_running(self):
        event = self.event(power_state=power_state.SHUTDOWN)
        data = self.captured(event)
        event.driver.get_instance_diagnostics.assert_not_called()
        self.assertNotIn('diagnostics', data)
        self.assertEqual(
            {'diagnostics': 'the guest is not running (power_state '
                            'shutdown)'}, data['skipped'])
        self.assertIn('console_output', data)

    # Masked ---------------------------------------------------------------

    def test_console_and_errors_are_masked(self):
        event = self.event()
        event.driver.get_console_output.return_value = (
            'cloud-init: admin_password=hunter2 set\n')
        event.driver.get_instance_diagnostics.side_effect = ValueError(
            'bad reply {"auth_token": "s3cr3t"}')
        data = self.captured(event)
        self.assertIn('admin_password=***', data['console_output'])
        self.assertNotIn('hunter2', data['console_output'])
        self.assertNotIn('s3cr3t', data['errors']['diagnostics'])
        self.assertIn('ValueError: bad reply', data['errors']['diagnostics'])

    def test_cloud_init_console_is_masked_in_the_file(self):
        self.flags(max_bytes=1048576, group='delete_ext_capture')
        with open(os.path.join(test_capture_mask.DATA,
                               'console-cloud-init-noble.log'), 'rb') as f:
            console = f.read()
        event = self.event()
        event.driver.get_console_output.return_value = console
        data = self.captured(event)
        self.assertIn("Set the following 'random' passwords\r\n\r\n"
                      "root:***\r\nubuntu:***\r\n", data['console_output'])
        self.assertIn('PRIVATE KEY-----\r\n***\r\n',
                      data['console_output'])
        self.assertIn('ssh-ed25519 AAAAC3Nz', data['console_output'])

    def test_secret_whose_key_the_cut_leaves_out_is_masked(self):
        event = self.event()
        # The last 4096 bytes start in the middle of "password=".
        tail = 'word=hunter2 ' + 'y' * (4096 - 13)
        event.driver.get_console_output.return_value = (
            'x' * 100 + 'pass' + tail)
        data = self.captured(event)
        self.assertTrue(data['console_truncated'])
        self.assertLessEqual(len(data['console_output']), 4096)
        self.assertTrue(data['console_output'].endswith('y' * 100))
        self.assertNotIn('hunter2', data['console_output'])

    # Modes ----------------------------------------------------------------

    def umask(self, mask):
        self.addCleanup(os.umask, os.umask(mask))

    def test_modes_whatever_the_umask(self):
        for mask in (0o000, 0o777):
            self.umask(mask)
            directory = os.path.join(self.directory, 'umask%o' % mask)
            self.flags(directory=directory, group='delete_ext_capture')
            path = self.policy.before_destroy(self.event()).fields['capture']
            self.assertEqual(0o700, stat.S_IMODE(os.stat(directory).st_mode))
            self.assertEqual(0o600, stat.S_IMODE(os.stat(path).st_mode))

    def test_wide_existing_directory_left_alone_with_one_warning(self):
        self.useFixture(base.fixtures.MockPatchObject(
            capture_files, '_warned_directories', set()))
        os.chmod(self.directory, 0o755)
        self.policy.before_destroy(self.event())
        self.policy.before_destroy(self.event())
        self.assertEqual(0o755,
                         stat.S_IMODE(os.stat(self.directory).st_mode))
        warnings = [r.getMessage() for r in self.logs.at(logging.WARNING)]
        self.assertEqual(1, len(warnings), warnings)
        self.assertIn('has mode 0755', warnings[0])

    # Pruned ---------------------------------------------------------------

    def old_capture(self, days_ago):
        taken = timeutils.utcnow() - datetime.timedelta(days=days_ago)
        name = '%s-%s.json' % (uuidutils.generate_uuid(),
                               taken.strftime('%Y%m%dT%H%M%S.%fZ'))
        open(os.path.join(self.directory, name), 'w').close()
        return name

    def test_captures_older_than_max_age_are_removed(self):
        self.flags(max_age=10 * 86400, max_files=0,
                   group='delete_ext_capture')
        old = self.old_capture(11)
        recent = self.old_capture(9)
        other = os.path.join(self.directory, 'notes-20000101T000000.json')
        open(other, 'w').close()
        path = self.policy.before_destroy(self.event()).fields['capture']
        self.assertEqual(
            sorted([recent, os.path.basename(path), os.path.basename(other)]),
            sorted(os.listdir(self.directory)))
        self.assertNotIn(old, os.listdir(self.directory))

    def test_oldest_captures_beyond_max_files_are_removed(self):
        self.flags(max_age=0, max_files=2, group='delete_ext_capture')
        names = [self.old_capture(days) for days in (400, 3, 2, 1)]
        path = self.policy.before_destroy(self.event()).fields['capture']
        self.assertEqual(sorted([names[-1], os.path.basename(path)]),
                         sorted(os.listdir(self.directory)))

    def test_nothing_removed_when_unlimited(self):
        self.flags(max_age=0, max_files=0, group='delete_ext_capture')
        self.old_capture(4000)
        self.policy.before_destroy(self.event())
        self.assertEqual(2, len(os.listdir(self.directory)))

    def test_pruning_failure_never_fails_the_capture(self):
        with mock.patch.object(capture_files, 'prune', autospec=True,
                               side_effect=OSError('permission denied')):
            decision = self.policy.before_destroy(self.event())
        self.assertEqual('capture:saved', str(decision))
        self.assertIn('Could not remove old captures',
                      self.logs.at(logging.WARNING)[0].getMessage())


class VerifyTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.policy = verify.Verify(self.conf, 'verify')
        self.find = self.useFixture(base.fixtures.MockPatch(
            'nova_delete_ext.leaks.find', autospec=True, return_value=[]
        )).mock
        self.repair = self.useFixture(base.fixtures.MockPatch(
            'nova_delete_ext.leaks.repair.repair', autospec=True,
            return_value='done')).mock
        self.clients = self.useFixture(base.fixtures.MockPatch(
            'nova_delete_ext.leaks.services.Clients', autospec=True)).mock

    def event(self, released, driver=None, vm_state=vm_states.ACTIVE):
        event = make_event(base.make_instance(vm_state=vm_state))
        event.record.released = list(released)
        event.driver = driver
        return event

    def kinds_checked(self):
        return self.find.call_args[0][2]

    def test_checks_only_what_was_released(self):
        decision = self.policy.after_delete(self.event(
            ['allocations', 'disks', 'domain', 'ports'], driver=mock.Mock()))
        self.assertEqual('verify:clean', str(decision))
        self.assertEqual({'allocations', 'domain', 'ports'},
                         self.kinds_checked())

    def test_no_hypervisor_check_without_driver(self):
        self.policy.after_delete(self.event(['domain', 'shelve_image']))
        self.assertEqual({'shelve_image'}, self.kinds_checked())

    def test_nothing_to_check(self):
        self.assertIsNone(self.policy.after_delete(self.event(['disks'])))
        self.find.assert_not_called()

    def test_states(self):
        self.flags(states=[vm_states.ERROR], group='delete_ext_verify')
        self.assertIsNone(self.policy.after_delete(self.event(['ports'])))
        self.find.assert_not_called()

    def test_report(self):
        self.find.return_value = [leaks.Leak('ports', base.UUID, 'p1')]
        decision = self.policy.after_delete(self.event(['ports']))
        self.assertEqual('verify:leaks(1)', str(decision))
        self.assertEqual({'leaks': [{'kind': 'ports', 'resource_id': 'p1',
                                     'detail': ''}]}, decision.fields)
        self.clients.assert_called_once_with(timeout=30.0)
        self.repair.assert_not_called()
        self.assertEqual(1, len(self.logs.at(logging.WARNING)))

    def test_repair_skips_what_it_cannot_repair_and_survives_errors(self):
        self.flags(mode='repair', group='delete_ext_verify')
        self.find.return_value = [
            leaks.Leak('ports', base.UUID, 'p1'),
            leaks.Leak('allocations', base.UUID, 'rp1'),
            leaks.Leak('domain', base.UUID, base.UUID)]
        self.repair.side_effect = ['unbound p1', RuntimeError('away')]
        decision = self.policy.after_delete(self.event(
            ['ports', 'allocations', 'domain'], driver=mock.Mock()))
        self.assertEqual('verify:repaired(1/3)', str(decision))
        self.assertEqual(['unbound p1'], decision.fields['repaired'])
        self.assertEqual(2, self.repair.call_count)

    def errors(self, errors, found=()):
        def find(*args, **kwargs):
            kwargs['errors'].update(errors)
            return list(found)
        self.find.side_effect = find

    def test_check_that_cannot_be_made_is_not_clean(self):
        self.errors({'allocations': RuntimeError('placement is away')})
        decision = self.policy.after_delete(self.event(['allocations']))
        self.assertEqual('verify:unverified(RuntimeError)', str(decision))
        self.assertEqual(
            {'error': 'allocations: RuntimeError: placement is away'},
            decision.fields)

    def test_timed_out_check_is_unverified_with_the_reason(self):
        self.flags(timeout=5, group='delete_ext_verify')
        self.errors({'ports': deadline.CallTimedOut(
            service='neutron', call='list_ports', timeout=5.0)})
        decision = self.policy.after_delete(self.event(['ports']))
        self.assertEqual('verify:unverified(timeout)', str(decision))
        self.assertEqual(
            'ports: CallTimedOut: neutron did not answer list_ports within '
            '5.0 s', decision.fields['error'])
        self.clients.assert_called_once_with(timeout=5.0)

    def test_what_other_kinds_found_is_kept_and_repaired(self):
        self.flags(mode='repair', group='delete_ext_verify')
        self.errors({'shelve_image': RuntimeError('glance is away'),
                     'ports': deadline.CallTimedOut(
                         service='neutron', call='list_ports', timeout=5)},
                    [leaks.Leak('allocations', base.UUID, 'rp1')])
        decision = self.policy.after_delete(self.event(
            ['allocations', 'ports', 'shelve_image']))
        self.assertEqual('verify:unverified(RuntimeError,timeout)',
                         str(decision))
        self.assertEqual(['done'], decision.fields['repaired'])
        self.assertEqual(1, len(decision.fields['leaks']))
        self.assertEqual('ports: CallTimedOut: neutron did not answer '
                         'list_ports within 5 s; shelve_image: RuntimeError: '
                         'glance is away', decision.fields['error'])

    def test_network_info_from_before_the_delete(self):
        checking = mock.Mock(network_info=['vif'])
        with mock.patch.object(attempt_mod, 'checking', autospec=True,
                               return_value=checking):
            self.policy.after_delete(self.event(['ports']))
        self.assertEqual(['vif'], self.find.call_args[1]['network_info'])
        self.policy.after_delete(self.event(['ports']))
        self.assertIsNone(self.find.call_args[1]['network_info'])


class Refuse(policy_base.DeletePolicy):
    """Denies with an exception Nova does not map to 409."""

    def validate(self):
        pass

    def on_request(self, event):
        return self.decision('denied', deny=RuntimeError('not today'),
                             fields={'colour': 'red'})


class DecideTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.flags(host='test-host')
        policies.set_active(policies.PolicyChain([Refuse(self.conf)]))
        self.emit = self.useFixture(base.fixtures.MockPatch(
            'nova_delete_ext.sinks.emit', autospec=True)).mock

    def attempt(self, request_id='req-1', instance=None):
        context = nova_context.RequestContext('u', 'p', is_admin=False,
                                              request_id=request_id)
        return attempt_mod.Attempt(context, instance or base.make_instance(),
                                   rec.DELETE, rec.TRIGGER_API, 'api')

    def test_any_denial_becomes_409(self):
        attempt = self.attempt()
        exc = self.assertRaises(exception.DeleteProtected, decide.on_request,
                                attempt)
        self.assertEqual('not today', exc.format_message())
        self.assertEqual(rec.DENIED, attempt.record.outcome)
        self.assertEqual(['refuse:denied'], attempt.record.decisions)

    def test_unknown_record_field_ignored_with_a_warning(self):
        attempt = self.attempt()
        self.assertRaises(exception.DeleteProtected, decide.on_request,
                          attempt)
        self.assertNotIn('colour', attempt.record.as_dict())
        self.assertIn("set 'colour'",
                      self.logs.at(logging.WARNING)[0].getMessage())

    def test_same_request_refused_twice_is_recorded_once(self):
        # The servers controller retries a refused soft delete as a delete.
        instance = base.make_instance()
        for _ in range(2):
            self.assertRaises(exception.DeleteProtected, decide.on_request,
                              self.attempt(instance=instance))
        self.assertEqual(1, self.emit.call_count)
        self.assertRaises(exception.DeleteProtected, decide.on_request,
                          self.attempt(request_id='req-2', instance=instance))
        self.assertEqual(2, self.emit.call_count)
