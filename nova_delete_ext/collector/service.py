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

"""The collector service: a store, a batch handler and a listener.

:class:`Collector` is what ``nova-delete-ext-collector`` runs, and what
the tests and the demo run in their own process. Its hook points for the
metrics are its attributes:

* ``health``: the :class:`listener.Health` counters of this process;
* ``store``: the ``db.api.Store`` (its totals, its last stored time);
* ``on_stored``: a list of callables, each called with the list of
  records newly stored after each commit (append before :meth:`start`),
  on the listener's thread: they must be quick and must not raise.
"""

from oslo_db import exception as db_exc
from oslo_log import log as logging
from sqlalchemy.engine import url as sa_url

from nova_delete_ext.collector import batch
from nova_delete_ext.collector import listener
from nova_delete_ext.db import api as db_api

LOG = logging.getLogger(__name__)


def safe_url(connection):
    """``connection`` with its password masked, for the log."""
    try:
        return sa_url.make_url(connection).render_as_string(
            hide_password=True)
    except Exception:
        return '<the connection URL>'


class Collector:
    """Records from Nova's notification topics into the store.

    :param conf: a ``ConfigOpts`` with ``[delete_ext_collector]``
        registered
    :param store: the store; by default one on
        ``[delete_ext_collector]connection``
    :param transport: the notification transport; by default Nova's (see
        :func:`listener.get_transport`)
    """

    def __init__(self, conf, store=None, transport=None):
        self.conf = conf
        group = conf.delete_ext_collector
        self.store = (db_api.Store(group.connection) if store is None
                      else store)
        self.health = listener.Health()
        self.on_stored = []
        self.handler = batch.BatchHandler(self.store, group, self.health,
                                          self.on_stored)
        self._transport = transport
        self._own_transport = transport is None
        self._listener = None

    def wait_for_schema(self, sleep):
        """Return once the store's schema is current.

        While the database cannot be reached, tries again with the
        back-off of ``retry_interval`` and ``max_retry_interval``: a
        collector that starts before its database waits for it.

        :param sleep: ``sleep(seconds)``, True when the collector must stop
            instead
        :returns: False if told to stop before
        :raises: ``db.api.SchemaTooOld`` (its message names the command
            that upgrades the schema)
        """
        group = self.conf.delete_ext_collector
        delay = 0
        while True:
            try:
                self.store.check_schema()
                return True
            except db_exc.DBConnectionError as exc:
                delay = min(max(delay * 2, group.retry_interval),
                            group.max_retry_interval)
                LOG.warning('The database of the collector cannot be '
                            'reached, next try in %.1fs: %s', delay, exc)
            if sleep(delay):
                return False

    def start(self):
        """Start listening; batches are handled on the listener's thread."""
        if self._transport is None:
            self._transport = listener.get_transport(self.conf)
        self._listener = listener.get_listener(self._transport, self.conf,
                                               self.handler)
        # One batch at a time: one transaction at a time per collector (a
        # second collector in the pool is the way to more), and a batch
        # waiting out the back-off holds the next one.
        self._listener.start(override_pool_size=1)
        group = self.conf.delete_ext_collector
        LOG.info('Collecting records from topics %(topics)s in pool '
                 '%(pool)s into %(db)s',
                 {'topics': ','.join(listener.topics(self.conf)),
                  'pool': group.pool,
                  'db': safe_url(group.connection)})

    def stop(self):
        """Stop taking messages; finish or requeue those taken.

        Returns once every batch taken off the bus is committed and
        acknowledged, or requeued (a batch waiting out the back-off is
        requeued at once).
        """
        self.handler.stopping.set()
        if self._listener is not None:
            self._listener.stop()
            self._listener.wait()
            self._listener = None
        if self._own_transport and self._transport is not None:
            self._transport.cleanup()
            self._transport = None
        LOG.info('Collector stopped: %s', self.health.snapshot())
