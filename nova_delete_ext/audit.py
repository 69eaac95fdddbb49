"""Where delete records go: the service log, and the JSON-lines audit file."""

import os

from oslo_log import log as logging
from oslo_serialization import jsonutils

from nova_delete_ext import conf as ext_conf

LOG = logging.getLogger(__name__)

_FILE_MODE = 0o640


def write_line(path, data):
    """Append ``data`` to ``path`` as one JSON line.

    The file is opened with O_APPEND for every line and the line goes out in
    one ``write()``: lines from concurrent deletes, threads or worker
    processes never interleave, and a file moved away by logrotate is
    recreated on the next record.
    """
    line = (jsonutils.dumps(data, sort_keys=True) + '\n').encode('utf-8')
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, _FILE_MODE)
    try:
        written = os.write(fd, line)
        if written != len(line):
            raise OSError('short write to %s: %d of %d bytes'
                          % (path, written, len(line)))
    finally:
        os.close(fd)


def emit(record, instance, conf=None):
    """Log ``record`` at INFO and append it to the audit file if one is set.

    Errors propagate: the caller's guard logs them once, with the instance.
    """
    conf = conf or ext_conf.CONF
    LOG.info('Delete record: %s', record.summary(), instance=instance)
    path = conf.delete_ext.audit_log
    if path:
        write_line(path, record.as_dict())
