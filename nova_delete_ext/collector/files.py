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

"""Reading records from record files, for ``records --file``.

The ``file`` sink writes one JSON object per line; logrotate leaves older
files beside it, often compressed with gzip (``records.jsonl.2.gz``). Any
file given is read, gzip or not (told by its first bytes, not its name).
The lines ``nova-delete-ext sweep --repair`` writes to the same file (they
have an ``event`` key) are not records and are passed over; any other line
that is not a record is counted, and the first one's reason kept.
"""

import gzip
import json

from nova_delete_ext.collector import schema

_GZIP_MAGIC = b'\x1f\x8b'


class Skipped:
    """The lines that were not records."""

    def __init__(self):
        self.count = 0
        self.first = None

    def add(self, where, reason):
        self.count += 1
        if self.first is None:
            self.first = '%s: %s' % (where, reason)


def check_readable(paths):
    """Open each file once, so a missing one is reported before any work.

    :raises OSError: naming the first file that cannot be read.
    """
    for path in paths:
        with open(path, 'rb'):
            pass


def _open(path):
    with open(path, 'rb') as f:
        compressed = f.read(2) == _GZIP_MAGIC
    if compressed:
        return gzip.open(path, 'rt', encoding='utf-8', errors='replace')
    return open(path, encoding='utf-8', errors='replace')


def read(paths, skipped):
    """Yield each record of the files once (by id), in file order.

    :param skipped: a :class:`Skipped` the other lines are counted in.
    """
    seen = set()
    for path in paths:
        number = 0
        with _open(path) as f:
            try:
                for number, line in enumerate(f, 1):
                    record = _parse_line(line, '%s:%d' % (path, number),
                                         skipped)
                    if record is not None and record['id'] not in seen:
                        seen.add(record['id'])
                        yield record
            except (OSError, EOFError) as exc:
                # A truncated .gz (logrotate still compressing it).
                skipped.add(path, 'unreadable after line %d: %s'
                            % (number, exc))


def _parse_line(line, where, skipped):
    line = line.strip()
    if not line:
        return None
    try:
        payload = json.loads(line)
    except ValueError as exc:
        skipped.add(where, 'not JSON (%s)' % exc)
        return None
    if isinstance(payload, dict) and 'event' in payload:
        return None  # a repair written by the sweep
    try:
        return schema.parse(payload)
    except schema.Malformed as exc:
        skipped.add(where, str(exc))
        return None
