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
