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

"""Gauges no record carries, read from Nova's cell databases.

A delete that never ends writes no record: the server stays in
``deleting`` (its vm_state unchanged) until someone looks. So do servers
in the recycle bin whose host died: nova-compute reclaims only its own.
Every ``[delete_ext_collector]poll_interval`` the poller asks each cell
one query (:func:`cell_query`) on Nova's own indexes and keeps the answer
for the next scrapes. All cells are asked at once, each within
:data:`CELL_TIMEOUT`; a cell that does not answer in time, or fails, is
reported down (``cell_up`` 0) and has no other gauge, never zero servers.
"""

import dataclasses
import threading
import time

from oslo_log import log as logging
from oslo_utils import timeutils
import sqlalchemy as sa

from nova_delete_ext.collector import cells as cells_mod
from nova_delete_ext.collector import nova_opts
from nova_delete_ext.collector import query

LOG = logging.getLogger(__name__)

#: Seconds a cell (and the API database) has to answer one poll.
CELL_TIMEOUT = 10.0
#: The ``age`` buckets of the stuck deletes: each counts the servers in
#: ``deleting`` or ``soft-deleting`` for at least that long.
AGES = (('0s', 0), ('5m', 300), ('1h', 3600), ('1d', 86400),
        ('7d', 7 * 86400))
#: The ``state`` of a server in the recycle bin (they add up to the bin).
HELD = 'held'
PAST_RETENTION = 'past_retention'
PAST_RETENTION_HOST_DOWN = 'past_retention_host_down'
BIN_STATES = (HELD, PAST_RETENTION, PAST_RETENTION_HOST_DOWN)


@dataclasses.dataclass
class CellGauges:
    """What one poll found in one cell; only ``up`` when it is down."""

    cell: str
    up: bool
    #: ``{(task_state, age): servers}``, every pair present.
    stuck: dict = dataclasses.field(default_factory=dict)
    #: Seconds the oldest stuck delete has been under way; 0 if none.
    oldest: float = 0.0
    #: ``{state: servers}``, every state of :data:`BIN_STATES` present.
    recycle_bin: dict = dataclasses.field(default_factory=dict)


def _host_down(row, now, service_down_time):
    """Nova's rule (servicegroup's db driver): forced down, or silent."""
    if row.service_id is None or row.forced_down:
        return True
    if row.heartbeat is None:
        return True
    return abs((now - row.heartbeat).total_seconds()) > service_down_time


def _retention(row, default):
    """Seconds the server is kept: its recycle retention, or Nova's."""
    if row.retention is not None:
        try:
            return max(0, int(row.retention))
        except ValueError:
            pass  # Nova's reclaim ignores it too (the recycle policy)
    return default if default > 0 else None


def gauges(label, rows, now, service_down_time, reclaim_interval):
    """The gauges of one cell from the rows of :func:`query.cell_query`."""
    found = CellGauges(label, True,
                       stuck={(state, age): 0 for state in query.TASK_STATES
                              for age, _ in AGES},
                       recycle_bin=dict.fromkeys(BIN_STATES, 0))
    for row in rows:
        if row.what == query.STUCK:
            age = max(0.0, (now - row.since).total_seconds()
                      if row.since else 0.0)
            found.oldest = max(found.oldest, age)
            for name, seconds in AGES:
                if age >= seconds and (row.task_state, name) in found.stuck:
                    found.stuck[(row.task_state, name)] += 1
            continue
        retention = _retention(row, reclaim_interval)
        past = retention is not None and (
            row.since is None or
            (now - row.since).total_seconds() > retention)
        if not past:
            state = HELD
        elif _host_down(row, now, service_down_time):
            state = PAST_RETENTION_HOST_DOWN
        else:
            state = PAST_RETENTION
        found.recycle_bin[state] += 1
    return found


class _Call:
    """``func`` on a thread of its own; waited for with a time limit.

    A thread cannot be stopped: a call given up ends when the database
    driver's own time limit ends it (:mod:`.cells`), and until then the
    poller asks that cell nothing new.
    """

    def __init__(self, name, func):
        self.done = threading.Event()
        self.result = self.error = None
        threading.Thread(target=self._run, args=(func,), daemon=True,
                         name='nova-delete-ext-poll-%s' % name).start()

    def _run(self, func):
        try:
            self.result = func()
        except Exception as exc:
            self.error = exc
        finally:
            self.done.set()


class Poller:
    """Reads the gauges of every cell every ``poll_interval`` seconds.

    :param api_engine: an engine of Nova's API database; by default one
        for ``[api_database]connection``.
    :param engine_for: ``url -> engine`` of a cell database; by default a
        :class:`cells.Engines`.
    """

    def __init__(self, conf, api_engine=None, engine_for=None,
                 timeout=CELL_TIMEOUT):
        nova_opts.register_opts(conf)
        self.conf = conf
        self.timeout = min(timeout, conf.delete_ext_collector.poll_interval)
        self._engines = cells_mod.Engines(self.timeout)
        self.engine_for = engine_for or self._engines
        self._api_engine = api_engine
        self._cells = []
        self._running = {}
        self._down = set()
        # Cell databases without the index of the hint (query.HINT).
        self._unhinted = set()
        self._stop = threading.Event()
        self._thread = None
        #: The clock of the ages: naive UTC, as Nova's tables keep times.
        self.now = timeutils.utcnow
        #: ``(api database answered, [CellGauges])`` of the last poll;
        #: ``(None, [])`` before the first.
        self.snapshot = (None, [])

    def _read_cells(self):
        if self._api_engine is None:
            url = self.conf.api_database.connection
            if not url:
                raise ValueError('[api_database]connection is not set')
            self._api_engine = self.engine_for(url)
        return cells_mod.read(self._api_engine,
                              self.conf.database.connection)

    def _ask(self, key, func):
        """Start ``func`` unless the last one for ``key`` still runs."""
        running = self._running.get(key)
        if running is not None and not running.done.is_set():
            return None
        call = self._running[key] = _Call(key, func)
        return call

    def _wait(self, call, deadline):
        if call is None:
            return 'still running the query of an earlier poll'
        if not call.done.wait(max(0.0, deadline - time.monotonic())):
            return 'no answer within %.0f s' % self.timeout
        if call.error is not None:
            return '%s: %s' % (type(call.error).__name__, call.error)
        return None

    def poll(self):
        """Ask every cell once; the gauges go to :attr:`snapshot`."""
        deadline = time.monotonic() + self.timeout
        call = self._ask('api', self._read_cells)
        why = self._wait(call, deadline)
        api_up = why is None
        if api_up:
            self._cells = call.result
        else:
            # The cells known from the last poll are still asked.
            LOG.warning('Could not read the cell mappings from the API '
                        'database: %s', why)
        now = self.now()
        calls = [(cell, self._ask(cell.uuid, self._query_of(cell)))
                 for cell in self._cells]
        results = []
        for cell, call in calls:
            why = self._wait(call, deadline)
            self._log_change(cell, why)
            if why is not None:
                results.append(CellGauges(cell.label, False))
                continue
            results.append(gauges(
                cell.label, call.result, now, self.conf.service_down_time,
                self.conf.reclaim_instance_interval))
        self.snapshot = (api_up, results)
        return self.snapshot

    def _query_of(self, cell):
        def run():
            hint = cell.url not in self._unhinted
            with self.engine_for(cell.url).connect() as conn:
                try:
                    return conn.execute(query.cell_query(hint)).all()
                except sa.exc.OperationalError as exc:
                    if not (hint and query.missing_index(exc)):
                        raise
                LOG.warning('Cell %s has no index %s: its recycle bin is '
                            'read with a scan of the instances table.',
                            cell.label, query.LIVE_INDEX)
                self._unhinted.add(cell.url)
            return run()
        return run

    def _log_change(self, cell, why):
        if why is not None and cell.uuid not in self._down:
            self._down.add(cell.uuid)
            LOG.warning('Cell %s did not answer the poll (%s); reported '
                        'down until it does.', cell.label, why)
        elif why is None and cell.uuid in self._down:
            self._down.discard(cell.uuid)
            LOG.info('Cell %s answers again.', cell.label)

    def start(self):
        """Poll now and then every ``poll_interval`` seconds."""
        self._thread = threading.Thread(target=self._loop, daemon=True,
                                        name='nova-delete-ext-poller')
        self._thread.start()

    def _loop(self):
        interval = self.conf.delete_ext_collector.poll_interval
        while True:
            try:
                self.poll()
            except Exception:
                LOG.exception('The poll of the cell databases failed.')
            if self._stop.wait(interval):
                return

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.timeout + 1)
        self._engines.dispose()
