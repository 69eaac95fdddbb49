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

"""The collector's Prometheus metrics, at ``/metrics``.

A scrape reads only what is already in memory, so it costs the same
whatever the number of stored records, and the text of the counters is
rendered once per read of the totals, not per scrape (:mod:`.server`):

* the counters of the records are the store's totals
  (:meth:`Store.totals`), read again by :class:`TotalsCache` after each
  stored batch and every :data:`REFRESH_INTERVAL` seconds (what other
  collectors stored shows within that time);
* the collector's own health, from its counters in memory;
* the gauges of the cell databases, from the last poll (:mod:`.poll`).
"""

import threading
import time

from oslo_log import log as logging

from nova_delete_ext.collector import exposition
from nova_delete_ext.collector import nova_opts
from nova_delete_ext.collector import poll
from nova_delete_ext.collector import server

LOG = logging.getLogger(__name__)

#: Seconds between two reads of the store's totals without a new batch.
REFRESH_INTERVAL = 15.0
#: Shortest time between two reads, however fast batches are stored.
MIN_REFRESH_GAP = 1.0


class TotalsCache:
    """The store's totals, kept in memory for the scrapes.

    :meth:`notify` (after a stored batch) asks for a read without waiting
    for it; reads are done on a thread of their own, never by a scrape nor
    by the listener.
    """

    def __init__(self, store, interval=REFRESH_INTERVAL,
                 min_gap=MIN_REFRESH_GAP):
        self.store = store
        self.interval = interval
        self.min_gap = min_gap
        #: ``{(metric, label pairs): value}`` of the last read.
        self.values = {}
        #: ``time.time()`` of the last successful read, or None.
        self.read_at = None
        #: Counts the successful reads: what a scrape renders changes.
        self.version = 0
        self.failures = 0
        self._wanted = threading.Event()
        self._stop = threading.Event()
        self._thread = None

    def refresh(self):
        """Read the totals now; False (and the old values kept) on error."""
        try:
            values = self.store.totals()
        except Exception as exc:
            self.failures += 1
            LOG.warning('Could not read the totals from the record store '
                        '(%s: %s); the metrics keep the last values read.',
                        type(exc).__name__, exc)
            return False
        self.values = values
        self.read_at = time.time()
        self.version += 1
        return True

    def notify(self, *args, **kwargs):
        """A batch was stored: read the totals again soon."""
        self._wanted.set()

    def start(self):
        self._thread = threading.Thread(target=self._loop, daemon=True,
                                        name='nova-delete-ext-totals')
        self._thread.start()

    def _loop(self):
        while not self._stop.is_set():
            started = time.monotonic()
            self._wanted.clear()
            self.refresh()
            self._wanted.wait(self.interval)
            # Batches stored close together share one read.
            self._stop.wait(max(0.0, self.min_gap -
                                (time.monotonic() - started)))

    def stop(self):
        self._stop.set()
        self._wanted.set()
        if self._thread is not None:
            self._thread.join(5)


class Metrics:
    """What the collector exposes, and the HTTP server that serves it.

    :param store: the record store (:class:`db.api.Store`).
    :param health: the listener's counters (see :mod:`.exposition`), or
        None.
    :param poller: a :class:`poll.Poller`, or None for no cell gauges.
    """

    def __init__(self, store, health=None, poller=None):
        self.totals = TotalsCache(store)
        self.poller = poller
        counters, live = exposition.registries(self.totals, health, poller)
        self.app = server.App(self.totals, counters, live)
        #: Everything, in one registry: for the tests and the tools.
        self.registry = exposition.registry(self.totals, health, poller)
        self._server = None

    def on_stored(self, *args, **kwargs):
        """The listener's hook after each stored batch."""
        self.totals.notify()

    def start(self, host, port):
        """Read the totals, start polling, serve ``/metrics``.

        :returns: the port served (``port`` 0 picks a free one).
        """
        self.totals.refresh()
        self.totals.start()
        if self.poller is not None:
            self.poller.start()
        self._server = server.serve(self.app, host, port)
        port = self._server.server_port
        LOG.info('Serving Prometheus metrics on http://%s:%d/metrics',
                 host, port)
        return port

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        self.totals.stop()
        if self.poller is not None:
            self.poller.stop()


def start_for(collector, conf):
    """Serve the metrics of ``collector`` (a :class:`service.Collector`).

    Call before ``collector.start()``: the metrics hook into its
    ``on_stored``. The cell gauges need Nova's ``[api_database]
    connection``; without it they are left out, said once in the log.

    :returns: the :class:`Metrics`, or None when ``metrics_port`` is 0.
    :raises OSError: when the port cannot be served (in use...).
    """
    group = conf.delete_ext_collector
    if not group.metrics_port:
        LOG.info('[delete_ext_collector]metrics_port is 0: no metrics.')
        return None
    nova_opts.register_opts(conf)
    poller = None
    if conf.api_database.connection:
        poller = poll.Poller(conf)
    else:
        LOG.warning('[api_database]connection is not set: the metrics '
                    'leave out the gauges read from the cell databases '
                    '(stuck deletes, recycle bin, cell_up).')
    served = Metrics(collector.store, collector.health, poller)
    served.start(group.metrics_host, group.metrics_port)
    collector.on_stored.append(served.on_stored)
    return served
