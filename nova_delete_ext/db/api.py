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

"""The record store: records in, counters and answers out.

A :class:`Store` owns an oslo.db engine facade of its own (not the global
one Nova uses), so a process may hold several. Writes go through the
facade's writer, queries through its reader.
"""

import collections
import dataclasses
import functools
import time

from oslo_db import api as oslo_db_api
from oslo_db import exception as db_exc
from oslo_db.sqlalchemy import enginefacade
from oslo_log import log as logging
from oslo_serialization import jsonutils
from oslo_utils import timeutils
import sqlalchemy as sa

from nova_delete_ext.collector import schema
from nova_delete_ext.collector import totals as totals_mod
from nova_delete_ext.db import migration
from nova_delete_ext.db import models
from nova_delete_ext.db import query
from nova_delete_ext.db import upsert

LOG = logging.getLogger(__name__)

#: Ids per ``IN (...)`` when looking for the ones already stored.
_IDS_PER_QUERY = 500
#: Seconds a purge transaction should take at most: its batches shrink
#: when one takes longer, so no row lock is held for long.
PURGE_TARGET = 0.25
_clock = time.monotonic


class SchemaTooOld(Exception):
    """The database's schema is older than this code's."""

    def __init__(self, current, head):
        super().__init__(
            'The record database is at schema revision %s, older than this '
            "code's %s: run \"nova-delete-ext db sync\" (with the same "
            'configuration) first.' % (current or 'none (empty)', head))
        self.current = current
        self.head = head


@dataclasses.dataclass
class StoreResult:
    #: Records newly stored.
    stored: int
    #: Records skipped: already stored, or twice in the batch.
    duplicates: int
    #: The records newly stored, as given.
    new: list


@dataclasses.dataclass
class PurgeResult:
    deleted: int = 0
    transactions: int = 0
    #: Seconds of the longest transaction, and so of the longest time any
    #: row lock was held.
    longest: float = 0.0


class _Context:
    """What oslo.db's engine facade keeps its transaction state on."""


def _retry_on(exc):
    """Whether a transaction that failed with ``exc`` is to be tried again.

    Another collector stored one of the ids between our look-up and our
    insert: the next look-up sees it. On SQLite, two writers at once make
    one of them fail at once with "database is locked" (its deadlock).
    Deadlocks on MySQL/MariaDB are retried by ``retry_on_deadlock``.
    """
    if isinstance(exc, db_exc.DBDuplicateEntry):
        return True
    return isinstance(exc, sa.exc.OperationalError) and (
        'database is locked' in str(exc))


def _db_errors(method):
    """Raise the errors oslo.db leaves as SQLAlchemy's as oslo.db's too.

    oslo.db re-raises the operational errors it has no class for (SQLite's
    "database is locked", MySQL's "table is read only"...) as they are;
    the callers of the store catch ``oslo_db.exception.DBError`` only.
    """
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except sa.exc.OperationalError as exc:
            raise db_exc.DBError(exc)
    return wrapper


_retried = oslo_db_api.wrap_db_retry(
    max_retries=10, retry_interval=0.05, max_retry_interval=2,
    inc_retry_interval=True, retry_on_deadlock=True, jitter=True,
    exception_checker=_retry_on)


class Store:
    """The records of ``[delete_ext_collector]connection``.

    :param connection: an SQLAlchemy URL.
    :param engine_options: oslo.db engine facade options
        (``max_pool_size``...), see ``enginefacade.configure``.
    """

    def __init__(self, connection, **engine_options):
        self._facade = enginefacade.transaction_context()
        self._facade.configure(connection=connection, sqlite_fk=True,
                               **engine_options)

    def _writer(self):
        return self._facade.writer.using(_Context())

    def _reader(self):
        return self._facade.reader.using(_Context())

    def get_engine(self):
        return self._facade.writer.get_engine()

    @_db_errors
    def check_schema(self):
        """Check that the database's schema is this code's, or newer.

        :raises SchemaTooOld: if it is older, or empty.
        """
        current = migration.db_version(self.get_engine())
        if migration.is_older(current):
            raise SchemaTooOld(current, migration.head_version())

    @_db_errors
    @_retried
    def add(self, records):
        """Store each record not yet stored, in one transaction.

        :param records: records as :func:`.schema.parse` returns them.
        :returns: a :class:`StoreResult`.
        :raises oslo_db.exception.DBError: as oslo.db raises them (the
            database is down, ...); nothing of the batch is stored then.
        """
        unique = {}
        for record in records:
            unique.setdefault(record['id'], record)
        now = timeutils.utcnow()
        with self._writer() as session:
            stored = _stored_ids(session, list(unique))
            new = [record for record_id, record in unique.items()
                   if record_id not in stored]
            if new:
                session.execute(models.Record.__table__.insert(),
                                [table_row(record, now) for record in new])
                policies = [
                    {'record_id': record['id'], 'policy': policy,
                     'time': schema.time_of(record)}
                    for record in new for policy in schema.policies_of(record)]
                if policies:
                    session.execute(models.RecordPolicy.__table__.insert(),
                                    policies)
                upsert.add_totals(session, _increments(new))
        return StoreResult(stored=len(new), duplicates=len(records) - len(new),
                           new=new)

    @_db_errors
    def totals(self):
        """``{(metric name, label pairs): value}`` of every counter."""
        with self._reader() as session:
            rows = session.execute(sa.select(models.Total.__table__)).all()
        return {(row.metric, _labels(row.labels)): row.value for row in rows}

    @_db_errors
    def last_stored_at(self):
        """When the last record was stored (naive UTC), or None."""
        with self._reader() as session:
            return session.scalar(sa.select(sa.func.max(
                models.Record.stored_at)))

    @_db_errors
    def list(self, filters, limit=None):
        """Records that pass ``filters``, newest first, at most ``limit``."""
        with self._reader() as session:
            return [jsonutils.loads(body) for body in session.scalars(
                query.listing(filters, limit))]

    @_db_errors
    def get(self, record_id):
        """The record of that id, or None."""
        with self._reader() as session:
            body = session.scalar(sa.select(models.Record.body).where(
                models.Record.id == record_id))
        return None if body is None else jsonutils.loads(body)

    @_db_errors
    def checks_of(self, delete_id):
        """The check records of a delete, oldest first."""
        with self._reader() as session:
            return [jsonutils.loads(body) for body in session.scalars(
                query.checks_of(delete_id))]

    @_db_errors
    def purge(self, before, batch_size=1000, progress=None):
        """Delete the records older than ``before``, in batches.

        Each batch is a transaction of its own, of at most ``batch_size``
        records, so no lock is held longer than one batch takes; a batch
        that takes longer than :data:`PURGE_TARGET` seconds (a busy
        database) halves the next one, and quick ones grow it again up to
        ``batch_size``. The totals are not lowered.

        :param before: a naive UTC datetime.
        :param progress: called with the :class:`PurgeResult` after each
            batch.
        """
        result = PurgeResult()
        size = batch_size
        while True:
            started = _clock()
            deleted = self._purge_batch(before, size)
            elapsed = _clock() - started
            if not deleted:
                return result
            result.deleted += deleted
            result.transactions += 1
            result.longest = max(result.longest, elapsed)
            LOG.debug('Purged %d records before %s in %.3f s', deleted,
                      before, elapsed)
            if elapsed > PURGE_TARGET:
                size = max(1, size // 2)
            elif elapsed < PURGE_TARGET / 4:
                size = min(batch_size, size * 2)
            if progress:
                progress(result)

    @_retried
    def _purge_batch(self, before, batch_size):
        with self._writer() as session:
            return query.purge_batch(session, before, batch_size)


def _stored_ids(session, ids):
    """The ids among ``ids`` already in the store."""
    stored = set()
    for start in range(0, len(ids), _IDS_PER_QUERY):
        stored.update(session.scalars(
            sa.select(models.Record.id).where(models.Record.id.in_(
                ids[start:start + _IDS_PER_QUERY]))))
    return stored


def table_row(record, now):
    row = {field: record.get(field) for field in schema.LENGTHS}
    del row['recorded_by']
    row.update(service=schema.service_of(record), time=schema.time_of(record),
               stored_at=now, duration_ms=record.get('duration_ms'),
               body=jsonutils.dumps(record, sort_keys=True))
    return row


def _labels(text):
    return tuple(tuple(pair) for pair in jsonutils.loads(text))


def _increments(records):
    """The sum of each counter's increments, by (metric, label pairs)."""
    summed = collections.Counter()
    for record in records:
        for metric, labels, amount in totals_mod.increments(record):
            summed[metric, tuple(labels)] += amount
    return summed
