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

"""The ``file`` sink: one JSON object per line in ``[delete_ext]record_file``.
"""

import os

from oslo_serialization import jsonutils

from nova_delete_ext import deadline
from nova_delete_ext import sinks

_FILE_MODE = 0o640


def write_line(path, data):
    """Append ``data`` to ``path`` as one JSON line.

    The file is opened with O_APPEND for every line and the line goes out in
    one ``write()``: lines from concurrent deletes, threads or worker
    processes never interleave, and a file moved away by logrotate is
    recreated on the next record. O_NONBLOCK makes a FIFO that nobody reads
    fail at once instead of blocking the writer for good.
    """
    line = (jsonutils.dumps(data, sort_keys=True) + '\n').encode('utf-8')
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK,
                 _FILE_MODE)
    try:
        written = os.write(fd, line)
        if written != len(line):
            raise OSError('short write to %s: %d of %d bytes'
                          % (path, written, len(line)))
    finally:
        os.close(fd)


class FileSink(sinks.Sink):

    def emit(self, record):
        path = self.conf.delete_ext.record_file
        if path:
            # On a native thread of the extension's own in eventlet mode:
            # a hung file system holds it and this sink's writer, never the
            # green threads nor eventlet's tpool. No time limit: a line
            # given up might still be written, and then written twice.
            deadline.call_native(None, 'record file', write_line, path,
                                 record.as_dict())
