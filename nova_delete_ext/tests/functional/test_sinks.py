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

"""Where records go, on the real in-process Nova."""

import os
import time

import fixtures
from oslo_serialization import jsonutils

from nova_delete_ext import conf as ext_conf
from nova_delete_ext import sinks
from nova_delete_ext.sinks import file as file_sink
from nova_delete_ext.sinks import notification
from nova_delete_ext.tests.functional import base
from nova_delete_ext.tests.functional import hung as hung_mod
from nova_delete_ext.tests.functional import scenarios


class TestNotificationSink(scenarios.ServerStates, base.DeleteExtTestBase):

    def setUp(self):
        super().setUp()
        self.flags(sinks=['file', 'notification'], group='delete_ext')
        sinks.set_active(sinks.load(ext_conf.CONF))

    def delete_records(self, server):
        """The notifications of ``server``'s records, once all are sent."""
        self.assertTrue(sinks.flush(10))
        return [n for n in self.notifier.notifications
                if n.event_type.startswith('delete_ext.') and
                n.payload['instance_uuid'] == server['id']]

    def test_each_record_is_a_notification_on_nova_notifier(self):
        server = self.server_active()
        self._delete_server(server)
        self.assert_gone(server)
        record = self.only_record(server)
        sent = self.delete_records(server)
        self.assertEqual(1, len(sent), sent)
        message = sent[0]
        self.assertEqual('delete_ext.delete.end', message.event_type)
        self.assertEqual('INFO', message.priority)
        self.assertEqual('nova-compute:compute', message.publisher_id)
        payload = dict(message.payload)
        self.assertEqual(notification.SCHEMA_VERSION,
                         payload.pop('schema_version'))
        # The payload is the record, as the file has it, and it went
        # through Nova's serializer as a real broker message would.
        self.assertEqual(record, payload)
        jsonutils.dumps(message.payload)
        self.assertEqual(record['request_id'],
                         message.context.request_id)

    def test_denied_delete_on_nova_api(self):
        self.use_policies('protect')
        server = self.server_active()
        self.api.post_server_metadata(server['id'],
                                      {'delete_protection': 'true'})
        self.assert_conflict(self.api.delete_server, server['id'])
        sent = self.delete_records(server)
        self.assertEqual(['denied'], [m.payload['outcome'] for m in sent])
        self.assertTrue(sent[0].publisher_id.startswith('nova-api:'))

    def test_restore_has_its_own_event_type(self):
        self.flags(reclaim_instance_interval=3600)
        server = self.server_active()
        self.api.delete_server(server['id'])
        server = self._wait_for_state_change(server, 'SOFT_DELETED')
        self.api.post_server_action(server['id'], {'restore': None})
        self._wait_for_state_change(server, 'ACTIVE')
        self.assertEqual(
            ['delete_ext.delete.end', 'delete_ext.restore.end'],
            [m.event_type for m in self.delete_records(server)])


class TestHungRecordFile(scenarios.ServerStates, base.DeleteExtTestBase):

    def test_hung_file_system_never_holds_a_delete(self):
        hung = hung_mod.HungCall(file_sink.write_line)
        self.addCleanup(setattr, hung, 'released', True)
        self.useFixture(fixtures.MockPatchObject(
            file_sink, 'write_line', autospec=True, side_effect=hung))
        first, second = self.server_active(), self.server_active()
        self._delete_server(first)
        self.assert_gone(first)
        # The writer now holds first's record, stuck in the "kernel".
        for _ in range(200):
            if hung.entered:
                break
            time.sleep(0.05)
        self.assertEqual(1, hung.entered)
        self._delete_server(second)
        self.assert_gone(second)
        self.assertFalse(hung.given_up,
                         'the delete waited for the hung write')
        hung.released = True
        self.assertEqual('deleted', self.only_record(first)['outcome'])
        self.assertEqual('deleted', self.only_record(second)['outcome'])


class TestRecordFileReaderLate(scenarios.ServerStates,
                               base.DeleteExtTestBase):

    def test_a_fifo_whose_reader_comes_late_gets_the_record(self):
        fifo = os.path.join(self.temp_dir, 'records.fifo')
        os.mkfifo(fifo)
        self.flags(record_file=fifo, group='delete_ext')
        server = self.server_active()
        self._delete_server(server)
        self.assert_gone(server)
        # Nobody reads yet: the record waits in the file sink's queue.
        time.sleep(3)
        reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        self.addCleanup(os.close, reader)
        received = b''
        deadline_at = time.monotonic() + 20
        while not received.endswith(b'\n'):
            self.assertLess(time.monotonic(), deadline_at,
                            'the record never reached the FIFO')
            try:
                received += os.read(reader, 65536)
            except BlockingIOError:
                time.sleep(0.05)
        record = jsonutils.loads(received)
        self.assertEqual((server['id'], 'deleted'),
                         (record['instance_uuid'], record['outcome']))
