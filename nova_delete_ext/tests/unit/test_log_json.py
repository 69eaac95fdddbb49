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

"""The log sink's record, as oslo.log's JSONFormatter writes it."""

import io
import logging

from oslo_config import cfg
from oslo_log import formatters
from oslo_serialization import jsonutils

from nova_delete_ext import record as rec
from nova_delete_ext.sinks import log as log_sink
from nova_delete_ext.tests.unit import base


class JSONLogTest(base.TestCase):

    def _json_lines(self, record):
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.setFormatter(formatters.JSONFormatter())
        logger = logging.getLogger('nova_delete_ext.sinks.log')
        logger.addHandler(handler)
        self.addCleanup(logger.removeHandler, handler)
        old_level = logger.level
        logger.setLevel(logging.INFO)
        self.addCleanup(logger.setLevel, old_level)
        log_sink.LogSink(cfg.CONF).emit(record)
        return [jsonutils.loads(line) for line in
                stream.getvalue().splitlines()]

    def test_delete_record_fields_in_the_json_line(self):
        record = base.make_record(outcome='deleted', duration_ms=2.5)
        lines = self._json_lines(record)
        self.assertEqual(1, len(lines))
        self.assertEqual(record.as_dict(), lines[0]['extra']['delete_record'])
        self.assertEqual('Delete record: %s' % record.summary(),
                         lines[0]['message'])

    def test_check_record_fields_in_the_json_line(self):
        delete = base.make_record(outcome='deleted')
        check = rec.CheckRecord.of(delete)
        check.outcome = rec.CHECKED
        check.leaks = [{'kind': 'port', 'resource_id': 'p1'}]
        lines = self._json_lines(check)
        extra = lines[0]['extra']['delete_record']
        self.assertEqual('check', extra['kind'])
        self.assertEqual(delete.id, extra['delete_id'])
        self.assertEqual([{'kind': 'port', 'resource_id': 'p1'}],
                         extra['leaks'])
