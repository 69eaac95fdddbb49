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

"""The ``log`` sink: one INFO line per record in the service log.

The line is the record's summary. The whole record also goes with it as
structured data (the ``delete_record`` keyword, which oslo.log's adapter
puts in the log record's ``extra``): oslo.log's ``JSONFormatter`` then
writes the record's fields into the JSON log line, under
``extra.delete_record``, for deployments that ship JSON logs. Text
formatters ignore it.
"""

from oslo_log import log as logging

from nova_delete_ext import sinks

LOG = logging.getLogger(__name__)


class LogSink(sinks.Sink):

    inline = True

    def emit(self, record):
        LOG.info('Delete record: %s', record.summary(),
                 instance_uuid=record.instance_uuid,
                 delete_record=record.as_dict())
