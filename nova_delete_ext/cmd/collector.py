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

"""``nova-delete-ext-collector``: the records of every node in one database.

Reads its configuration files (``--config-file``, ``--config-dir``, or
``nova-delete-ext.conf`` where oslo.config looks for it, as ``nova-delete-ext
records`` does): Nova's notification transport and topics, and the
``[delete_ext_collector]`` group. Runs until SIGTERM or SIGINT, then stops
taking messages and returns once those it took are stored and acknowledged,
or requeued. Exit status: 0 after a clean stop, 1 when it cannot start
(the database schema is older than the collector, a bad option).

Not oslo.service: its threading backend needs cotyledon and oslo.service
4.2 or later, newer than Nova 2025.1 installs, and its older backend is
eventlet's. The collector is one listener with its own thread, so blocking
the two signals and waiting for them (:func:`signal.sigwait`) in the main
thread is all the service it needs, and no handler ever runs in the middle
of a lock.
"""

import signal
import sys

from oslo_config import cfg
from oslo_db import exception as db_exc
from oslo_log import log as logging
import oslo_messaging

from nova_delete_ext.collector import metrics
from nova_delete_ext.collector import service
from nova_delete_ext import conf as ext_conf
from nova_delete_ext.db import api as db_api

LOG = logging.getLogger(__name__)
PROG = 'nova-delete-ext-collector'
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


def parse_args(conf, argv):
    logging.register_options(conf)
    ext_conf.register_opts(conf)
    # As nova-delete-ext records and db: without --config-file,
    # /etc/nova-delete-ext/nova-delete-ext.conf (and the other places
    # oslo.config looks), so that one file serves them all.
    conf(argv, project='nova-delete-ext', prog=PROG)
    logging.setup(conf, PROG)


def _signalled(seconds):
    """Wait up to ``seconds`` for a stop signal; True if one came."""
    return signal.sigtimedwait(STOP_SIGNALS, seconds) is not None


def _cannot_start(conf, message):
    LOG.error('%s', message)
    if conf.log_file or conf.use_journal or conf.use_syslog:
        # Also where the one who started it looks first.
        print('%s: %s' % (PROG, message), file=sys.stderr)
    return 1


def run(conf):
    """Run the collector until a stop signal; the exit status."""
    collector = service.Collector(conf)
    try:
        if not collector.wait_for_schema(_signalled):
            return 0
    except db_api.SchemaTooOld as exc:
        return _cannot_start(conf, str(exc))
    except db_exc.DBError as exc:
        # Not a database that is down (the collector waits for that): a
        # file it cannot open, a database that does not exist...
        return _cannot_start(conf, 'The record database cannot be used: '
                             '%s' % exc)
    try:
        served = metrics.start_for(collector, conf)
    except OSError as exc:
        group = conf.delete_ext_collector
        return _cannot_start(conf, (
            'Cannot serve the metrics on %s:%s (%s); set '
            '[delete_ext_collector]metrics_port to a free port, or to 0 for '
            'no metrics.') % (group.metrics_host, group.metrics_port, exc))
    try:
        collector.start()
    except (oslo_messaging.InvalidTransportURL,
            oslo_messaging.DriverLoadFailure) as exc:
        if served is not None:
            served.stop()
        return _cannot_start(conf, 'The notification transport cannot be '
                             'used: %s' % exc)
    signum = signal.sigwait(STOP_SIGNALS)
    LOG.info('%s received, stopping', signal.Signals(signum).name)
    collector.stop()
    if served is not None:
        served.stop()
    return 0


def main(argv=None):
    """Entry point of the ``nova-delete-ext-collector`` console script."""
    # Blocked before any thread starts, so that every thread inherits the
    # mask and the signals wait for the main thread's sigwait().
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    conf = cfg.CONF
    try:
        parse_args(conf, sys.argv[1:] if argv is None else argv)
    except cfg.Error as exc:
        print('%s: %s' % (PROG, exc), file=sys.stderr)
        return 1
    return run(conf)
