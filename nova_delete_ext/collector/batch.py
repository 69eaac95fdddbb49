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

"""One batch of record messages: parse, store in one transaction, answer.

The answer tells oslo.messaging what to do with the whole batch: HANDLED
(acknowledge it) once the store has committed its records, or REQUEUE (give
it back to the broker) when the store failed. oslo.messaging acknowledges
only after :meth:`BatchHandler.handle` returns, so a record is acknowledged
only once it is committed: a collector killed at any moment leaves its
unacknowledged messages to the broker, which delivers them again, and the
store skips the records it already has.

A malformed message can never be stored, so it is acknowledged, never
requeued (it would block the queue): it is logged and counted when its
batch is acknowledged, so once, even if the batch was first requeued.
"""

import threading
import time

from oslo_db import exception as db_exc
from oslo_log import log as logging
import oslo_messaging
from oslo_serialization import jsonutils

from nova_delete_ext.collector import schema

LOG = logging.getLogger(__name__)

HANDLED = oslo_messaging.NotificationResult.HANDLED
REQUEUE = oslo_messaging.NotificationResult.REQUEUE

#: What the database raises for one record it will never take, whatever
#: the moment (a value out of range or too long for its column): that
#: record alone is malformed; retrying it would block the queue. Anything
#: else (the database down, a deadlock, a lost connection) fails the batch.
REFUSED = (db_exc.DBDataError, db_exc.DBConstraintError,
           db_exc.DBInvalidUnicodeParameter)


def parse(message):
    """The record of one message (a dict of the batch listener)."""
    payload = message['payload']
    if isinstance(payload, (str, bytes)):
        # A publisher that sent its payload as JSON text.
        try:
            payload = jsonutils.loads(payload)
        except ValueError as exc:
            raise schema.Malformed('not JSON: %s' % exc)
    return schema.parse(payload)


def _refusal(record, exc):
    return ('record %s' % record.get('id'),
            'refused by the database: %s' % exc)


def _describe(message):
    metadata = message.get('metadata') or {}
    return '%s message %s from %s' % (
        message.get('event_type'), metadata.get('message_id'),
        message.get('publisher_id'))


class BatchHandler:
    """Store batches of record messages; back off while the store fails.

    :param store: a ``db.api.Store``
    :param group: the ``[delete_ext_collector]`` options
    :param health: a :class:`listener.Health`, counted into
    :param on_stored: callables, each called with the list of records
        newly stored after each commit (the metrics' hook)
    """

    def __init__(self, store, group, health, on_stored=()):
        self.store = store
        self.group = group
        self.health = health
        self.on_stored = on_stored
        #: Set when the service stops: a batch waiting out the back-off is
        #: requeued at once instead.
        self.stopping = threading.Event()
        self._retry_at = 0.0

    def handle(self, messages):
        """HANDLED or REQUEUE for one batch (see the module's doc)."""
        self.health.add(received=len(messages))
        records, malformed = [], []
        for message in messages:
            try:
                records.append(parse(message))
            except schema.Malformed as exc:
                malformed.append((_describe(message), str(exc)))
        if records:
            if not self._wait_out_back_off():
                return self._requeue(
                    messages, 'the collector is stopping while the store '
                    'fails')
            try:
                stored, refused = self._add(records)
            except Exception as exc:
                self.health.add(store_failures=1)
                delay = self._back_off()
                return self._requeue(messages, 'the store failed (next try '
                                     'in %.1fs): %s' % (delay, exc))
            malformed.extend(refused)
            self._stored(stored)
        for described, reason in malformed:
            LOG.warning('Malformed %s acknowledged: %s', described, reason)
        self.health.add(malformed=len(malformed))
        return HANDLED

    def _add(self, records):
        """Store ``records``; ``(new records, [(what, reason)] refused)``."""
        try:
            return self._counted(self.store.add(records)), []
        except REFUSED as exc:
            if len(records) == 1:
                return [], [_refusal(records[0], exc)]
            LOG.info('The database refused a batch of %d records, storing '
                     'them one by one to find which: %s', len(records), exc)
        new, refused = [], []
        try:
            for record in records:
                try:
                    new.extend(self._counted(self.store.add([record])))
                except REFUSED as exc:
                    refused.append(_refusal(record, exc))
        except Exception:
            # Requeued: those stored already come back as duplicates.
            self._stored(new)
            raise
        return new, refused

    def _counted(self, result):
        """The records ``result`` newly stored, counted."""
        self.health.add(stored=result.stored, duplicates=result.duplicates)
        self.health.stored_now()
        self.health.set(retry_delay=0.0)
        return result.new

    def _stored(self, new):
        if not new:
            return
        for callback in self.on_stored:
            try:
                callback(new)
            except Exception:
                # The records are committed: they are acknowledged whatever
                # a reader of them does.
                LOG.exception('A callback of stored records failed')

    def _requeue(self, messages, reason):
        LOG.warning('%d messages requeued, %s', len(messages), reason)
        self.health.add(requeued=len(messages))
        return REQUEUE

    def _back_off(self):
        delay = self.health.retry_delay
        delay = min(max(delay * 2, self.group.retry_interval),
                    self.group.max_retry_interval)
        self.health.set(retry_delay=delay)
        self._retry_at = time.monotonic() + delay
        return delay

    def _wait_out_back_off(self):
        """False if the service stopped during the back-off."""
        left = self._retry_at - time.monotonic()
        if left > 0:
            self.stopping.wait(left)
        if self.stopping.is_set() and self.health.retry_delay:
            return False
        return True
