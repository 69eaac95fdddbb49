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

"""The collector's notification listener: records off the bus, into a store.

The ``notification`` sink sends each record on Nova's notification transport
to the topics of Nova's notifier. This module listens there with
oslo.messaging's batch notification listener, in its own listener pool
(``[delete_ext_collector]pool``): the broker gives the pool its own queue, so
the consumers an operator already runs on Nova's notifications still receive
every message, and the collectors of one pool share the pool's queue.

Each batch is handled by :class:`batch.BatchHandler`: what it returns decides
whether oslo.messaging acknowledges the batch or requeues it. Nothing here
imports Nova: the collector registers and reads the oslo.messaging options
it needs itself, through oslo.messaging.
"""

import threading
import time

import oslo_messaging
from oslo_messaging import opts as messaging_opts

#: The event types of the ``notification`` sink (see
#: ``doc/source/admin/sinks.rst``).
EVENT_TYPES = ('delete_ext.delete.end', 'delete_ext.restore.end',
               'delete_ext.check.end')

#: Nova's default ``[DEFAULT]control_exchange``: Nova sets it before it
#: reads its configuration, so its notifications go to the ``nova``
#: exchange unless ``nova.conf`` names another.
NOVA_CONTROL_EXCHANGE = 'nova'

#: Batches a collector takes from RabbitMQ before it acknowledges any.
PREFETCH_BATCHES = 10


class Health:
    """Counters of the collector's own health, for the metrics.

    Kept in this process only (they start at zero at each start; the
    counts of records, across restarts and collectors, are the store's
    totals). Updated by the batch handler's thread, read from any other
    with :meth:`snapshot`.

    * ``received``: record messages taken off the bus, each delivery
      (a message requeued and delivered again counts twice);
    * ``stored``: records newly stored;
    * ``duplicates``: records acknowledged that the store already had (a
      redelivery, or a record sent twice);
    * ``malformed``: messages acknowledged without a record, each logged
      once with its reason (not JSON, not a record, an unknown major
      schema version, or a record the database refuses);
    * ``requeued``: messages given back to the broker because the store
      failed;
    * ``store_failures``: batches the store failed to take;
    * ``last_stored_at``: when the last batch was committed, seconds since
      the epoch, None before the first;
    * ``retry_delay``: seconds the collector waits before it tries the
      store again, 0 while the store works.
    """

    FIELDS = ('received', 'stored', 'duplicates', 'malformed', 'requeued',
              'store_failures', 'last_stored_at', 'retry_delay')

    def __init__(self):
        self._lock = threading.Lock()
        self.received = self.stored = self.duplicates = 0
        self.malformed = self.requeued = self.store_failures = 0
        self.last_stored_at = None
        self.retry_delay = 0.0

    def add(self, **amounts):
        """Add to the named counters at once."""
        with self._lock:
            for name, amount in amounts.items():
                setattr(self, name, getattr(self, name) + amount)

    def set(self, **values):
        with self._lock:
            for name, value in values.items():
                setattr(self, name, value)

    def stored_now(self):
        self.set(last_stored_at=time.time())

    def snapshot(self):
        """A consistent ``{field: value}`` of every field."""
        with self._lock:
            return {name: getattr(self, name) for name in self.FIELDS}


class RecordEndpoint:
    """The endpoint of the three record event types, at INFO priority.

    One endpoint for the three event types rather than one each: the batch
    dispatcher calls each endpoint with its share of a batch, so one
    endpoint means one transaction per batch. Every other notification of
    Nova's topics (``compute.instance.*`` ...) matches no endpoint and is
    acknowledged by oslo.messaging without reaching the store.
    """

    filter_rule = oslo_messaging.NotificationFilter(
        event_type='^(%s)$' % '|'.join(t.replace('.', r'\.')
                                       for t in EVENT_TYPES))

    def __init__(self, handler):
        self.handler = handler

    def info(self, messages):
        """A batch: dicts with ``payload``, ``event_type``, ``metadata``..."""
        return self.handler.handle(messages)


def get_transport(conf, url=None):
    """Nova's notification transport, as nova.conf gives it.

    ``[oslo_messaging_notifications]transport_url``, else
    ``[DEFAULT]transport_url`` (oslo.messaging registers both), with Nova's
    default exchange.
    """
    oslo_messaging.set_transport_defaults(
        control_exchange=NOVA_CONTROL_EXCHANGE)
    _limit_prefetch(conf)
    return oslo_messaging.get_notification_transport(conf, url=url)


def _limit_prefetch(conf):
    """Unless configured, prefetch ten batches from RabbitMQ, not all.

    RabbitMQ's default, no limit, sends a whole backlog to the first
    collector that connects: held unacknowledged in its memory, none of it
    for a second collector of the pool. oslo.messaging sends the
    acknowledgements of a batch from its listener's thread, which with the
    window full only wakes up after a wait as long as the batch took: two
    batches would leave the collector idle for that long each time, ten
    keep it busy. Set before the driver reads it, when it loads.
    """
    for group, opts in messaging_opts.list_opts():
        if group == 'oslo_messaging_rabbit':
            conf.register_opts(opts, group=group)
            conf.set_default('rabbit_qos_prefetch_count',
                             PREFETCH_BATCHES *
                             conf.delete_ext_collector.batch_size,
                             group=group)


def topics(conf):
    """``[delete_ext_collector]topics``, else Nova's notifier's topics."""
    # Registered by get_notification_transport().
    return list(conf.delete_ext_collector.topics or
                conf.oslo_messaging_notifications.topics)


def get_listener(transport, conf, handler):
    """A batch listener (not started) that gives its batches to handler."""
    group = conf.delete_ext_collector
    targets = [oslo_messaging.Target(topic=topic) for topic in topics(conf)]
    # executor: oslo.messaging's own choice, threads (eventlet only in a
    # monkey patched process, such as the eventlet-mode functional tests).
    return oslo_messaging.get_batch_notification_listener(
        transport, targets, [RecordEndpoint(handler)],
        allow_requeue=True, pool=group.pool,
        batch_size=group.batch_size, batch_timeout=group.batch_timeout)
