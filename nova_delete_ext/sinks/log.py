"""The ``log`` sink: one INFO line per record in the service log."""

from oslo_log import log as logging

from nova_delete_ext import sinks

LOG = logging.getLogger(__name__)


class LogSink(sinks.Sink):

    inline = True

    def emit(self, record):
        LOG.info('Delete record: %s', record.summary(),
                 instance_uuid=record.instance_uuid)
