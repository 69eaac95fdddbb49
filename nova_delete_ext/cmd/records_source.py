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

"""Where ``nova-delete-ext records`` reads: the database or record files.

Both sources answer the same questions the same way: the filters of
:mod:`nova_delete_ext.collector.filters`, newest first, each record once.
"""

import contextlib
import heapq

from oslo_db import exception as db_exc

from nova_delete_ext.cmd import common
from nova_delete_ext.collector import files
from nova_delete_ext.collector import filters as filters_mod
from nova_delete_ext.db import api as db_api


class Unavailable(Exception):
    """The records cannot be read; str() says why."""


@contextlib.contextmanager
def open_store(conf):
    """The store of ``[delete_ext_collector]connection``, schema checked."""
    store = db_api.Store(conf.delete_ext_collector.connection)
    try:
        store.check_schema()
    except db_api.SchemaTooOld as exc:
        raise Unavailable(str(exc))
    except db_exc.DBError as exc:
        raise Unavailable('cannot read the record database: %s' % exc)
    try:
        yield store
    finally:
        store.get_engine().dispose()


@contextlib.contextmanager
def open_source(args, err):
    """The records of ``--file``, or else of the configured database."""
    if args.file:
        try:
            files.check_readable(args.file)
        except OSError as exc:
            raise common.UsageError('--file: %s' % exc)
        source = FileSource(args.file)
        yield source
        source.report(err)
        return
    conf = common.load_config(args)
    with open_store(conf) as store:
        yield store


class FileSource:
    """Records read from record files, filtered and sorted here."""

    def __init__(self, paths):
        self.paths = paths
        self.skipped = files.Skipped()

    def _records(self):
        return files.read(self.paths, self.skipped)

    def list(self, filters, limit=None):
        matching = (r for r in self._records() if filters.matches(r))
        if limit:
            return heapq.nlargest(limit, matching, key=filters_mod.sort_key)
        return sorted(matching, key=filters_mod.sort_key, reverse=True)

    def get(self, record_id):
        for record in self._records():
            if record['id'] == record_id:
                return record
        return None

    def checks_of(self, delete_id):
        checks = [r for r in self._records()
                  if r.get('kind') == 'check' and
                  r.get('delete_id') == delete_id]
        return sorted(checks, key=filters_mod.sort_key)

    def report(self, err):
        if self.skipped.count:
            print('Skipped %d line(s) that are not records; the first: %s'
                  % (self.skipped.count, self.skipped.first), file=err)
