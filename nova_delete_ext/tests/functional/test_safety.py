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

"""The extension never changes what Nova does when it fails itself."""

import logging
import os

import fixtures

from nova_delete_ext import sinks
from nova_delete_ext.tests.functional import base
from nova_delete_ext.tests.functional import scenarios


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.ERROR)
        self.records = []

    def emit(self, record):
        self.records.append(record)


class TestExtensionFailureNeverBlocksDelete(scenarios.ServerStates,
                                            base.DeleteExtTestBase):

    def setUp(self):
        super().setUp()
        self.errors = _Collect()
        self.useFixture(fixtures.LogHandler(
            self.errors, name='nova_delete_ext', nuke_handlers=False))

    def test_unwritable_record_file(self):
        server = self.server_active()
        # Lost at the first failure, not tried again (test_sinks).
        self.flags(record_file=os.path.join(self.temp_dir, 'missing', 'x'),
                   sink_retry_age=0, group='delete_ext')
        self._delete_server(server)
        self.assert_gone(server)
        # The file sink's writer lost the record, and said so once.
        self.assertTrue(sinks.flush(10))
        self.assertEqual(1, len(self.errors.records))
        message = self.errors.records[0].getMessage()
        self.assertIn('lost 1 delete record(s) for the file sink', message)
        self.assertIn('FileNotFoundError', message)

    def test_bug_in_the_record_code(self):
        self.useFixture(fixtures.MockPatchObject(
            sinks, 'emit', side_effect=RuntimeError('a bug')))
        for make in (self.server_active, self.server_shelved_offloaded):
            server = make()
            self._delete_server(server)
            self.assert_gone(server)
        self.assertEqual(2, len(self.errors.records))
