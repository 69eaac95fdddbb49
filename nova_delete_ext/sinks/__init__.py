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

"""Where delete records go: the sinks.

A sink is a plugin of the ``nova_delete_ext.sinks`` entry point namespace: a
class derived from :class:`Sink` with one method, :meth:`Sink.emit`, enabled
by listing its name in ``[delete_ext]sinks``. The ``log`` sink is always on
and writes on the calling thread, as Nova's own logging does; every other
sink gets a background writer of its own (:mod:`.writer`), so a sink that
is slow or stuck never delays a delete nor another sink.

The hooks call :func:`emit` with each finished record. :func:`load` builds
the sinks a service uses, :func:`flush` waits for what is queued.
"""

import abc

from oslo_log import log as logging
from stevedore import named

from nova_delete_ext import conf as ext_conf
from nova_delete_ext import exception
from nova_delete_ext.sinks import writer

LOG = logging.getLogger(__name__)

NAMESPACE = 'nova_delete_ext.sinks'
#: The sink every service has, whatever ``[delete_ext]sinks`` says.
ALWAYS = 'log'


class Sink(metaclass=abc.ABCMeta):
    """A destination of delete records.

    :param conf: the service's ``oslo_config.cfg.ConfigOpts``.
    """

    #: Emit on the caller's thread rather than on a background writer;
    #: only for sinks that cannot block (the service log).
    inline = False
    #: Exceptions of :meth:`emit` that may pass (a FIFO whose reader is not
    #: there yet, a disk full for a moment, an NFS error): the writer tries
    #: the record again for up to ``[delete_ext]sink_retry_age`` seconds.
    #: Any other loses the record at once.
    retried_errors = (OSError,)

    def __init__(self, conf):
        self.conf = conf

    @abc.abstractmethod
    def emit(self, record):
        """Send one :class:`~nova_delete_ext.record.DeleteRecord`.

        Exceptions are logged by the writer, which tries the record again
        (:attr:`retried_errors`) or goes on with the next record.
        """


class Sinks:
    """The sinks of one service: the inline ones and a writer per other."""

    def __init__(self, sinks, queue_size, stop_timeout, retry_age=0.0):
        self.names = [name for name, _ in sinks]
        self._inline = [sink for _, sink in sinks if sink.inline]
        self._writers = [writer.Writer(name, sink, queue_size, retry_age)
                         for name, sink in sinks if not sink.inline]
        self.stop_timeout = stop_timeout

    def emit(self, record):
        # The writers first: an inline sink that fails costs its own line,
        # never the record of the other sinks.
        for each in self._writers:
            each.put(record)
        for sink in self._inline:
            try:
                sink.emit(record)
            except Exception:
                LOG.exception('nova-delete-ext could not hand a record to '
                              'the %s sink; the other sinks have it.',
                              type(sink).__name__)

    def flush(self, timeout):
        """Wait up to ``timeout`` seconds in all; True if all was written."""
        done = True
        for each in self._writers:
            done = each.flush(timeout) and done
        return done

    def stop(self):
        """Write what is queued, within ``[delete_ext]sink_stop_timeout``."""
        for each in self._writers:
            each.stop(self.stop_timeout)


def load(conf):
    """The sinks ``[delete_ext]sinks`` names, with the log sink first.

    :raises nova_delete_ext.exception.ConfigInvalid: an unknown sink, or
        one that cannot be loaded.
    """
    ext_conf.register_opts(conf)
    names = [ALWAYS] + [n for n in conf.delete_ext.sinks if n != ALWAYS]
    missing, failed = [], []

    def on_failure(manager, entrypoint, exc):
        failed.append('%s (%s: %s)' % (entrypoint.name,
                                       type(exc).__name__, exc))

    manager = named.NamedExtensionManager(
        NAMESPACE, names, name_order=True, invoke_on_load=True,
        invoke_args=(conf,), on_missing_entrypoints_callback=missing.extend,
        on_load_failure_callback=on_failure)
    if missing:
        raise exception.ConfigInvalid(
            option='[delete_ext]sinks',
            reason='unknown sink %s; installed sinks: %s' % (
                ', '.join(repr(n) for n in sorted(missing)),
                ', '.join(sorted(named.ExtensionManager(NAMESPACE).names()))))
    if failed:
        raise exception.ConfigInvalid(option='[delete_ext]sinks',
                                      reason='could not load %s'
                                      % '; '.join(failed))
    return Sinks([(ext.name, ext.obj) for ext in manager],
                 conf.delete_ext.sink_queue_size,
                 conf.delete_ext.sink_stop_timeout,
                 conf.delete_ext.sink_retry_age)


_ACTIVE = None


def active():
    """The sinks of this process, loaded from ``nova.conf`` on first use."""
    global _ACTIVE
    if _ACTIVE is None:
        _ACTIVE = load(ext_conf.CONF)
    return _ACTIVE


def set_active(sinks):
    """Make ``sinks`` the active ones; return those they replace."""
    global _ACTIVE
    previous, _ACTIVE = _ACTIVE, sinks
    return previous


def emit(record):
    """Hand ``record`` to every active sink; never waits for a writer."""
    active().emit(record)


def flush(timeout=10.0):
    """Wait until the queued records are written; True if they were."""
    return _ACTIVE is None or _ACTIVE.flush(timeout)
