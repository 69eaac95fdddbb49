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

"""The activation's log lines, kept until the service has set up logging.

Nova's programs load the notification drivers, and so activate the
extension, inside ``nova.config.parse_args()`` (``nova.rpc.init``), and set
up logging right after it with ``oslo_log.log.setup()``: nova-compute's
``main()`` and nova-api's ``init_global_data()`` under a WSGI server, the
same in Nova 31 to 34. Until then the root logger lets only warnings
through, to a bare stderr handler: the INFO lines the installation guide
tells operators to look for ("hooked into", "policies in force") would be
dropped, and an ERROR would miss the service's log file.

:func:`hold` keeps the records of the extension's loggers in memory while
logging is not set up, in the way of :class:`logging.handlers.MemoryHandler`,
and has them replayed, each once, through the handlers oslo.log installs,
as soon as ``oslo_log.log.setup()`` has run: formatted as every other line
of the service, filtered by the levels its configuration sets. A service
that stops before it sets up logging (the extension refused to start)
calls :func:`release` itself; a program that never calls oslo.log's setup
gets the records at exit, on whatever handlers there are then.

This module imports only the standard library and oslo.log: it is used by
the entry point, :mod:`nova_delete_ext.activation`.
"""

import atexit
import functools
import logging
import threading

from oslo_log import log as oslo_logging

#: The logger whose records (its own and its children's) are held.
LOGGER = 'nova_delete_ext'

# Set on the wrapper of oslo_log.log.setup: the function it wraps.
_WRAPPED_ATTR = '_nova_delete_ext_wrapped'

_lock = threading.Lock()
_held = None


class _Hold(logging.Handler):
    """Keeps every record, and what it changed on the logger."""

    def __init__(self, logger):
        super().__init__(logging.DEBUG)
        self.logger = logger
        self.saved = (logger.level, logger.propagate)
        self.records = []

    def emit(self, record):
        self.records.append(record)


def _release_after(setup):
    @functools.wraps(setup)
    def wrapper(*args, **kwargs):
        try:
            return setup(*args, **kwargs)
        finally:
            release()
    setattr(wrapper, _WRAPPED_ATTR, setup)
    return wrapper


def hold():
    """Hold the extension's records if INFO would not be logged now.

    :returns: whether records are held from now on (False when logging is
        already set up, or they already are).
    """
    global _held
    logger = logging.getLogger(LOGGER)
    with _lock:
        if _held is not None or logger.isEnabledFor(logging.INFO):
            return False
        _held = _Hold(logger)
        logger.addHandler(_held)
        logger.setLevel(logging.DEBUG)
        # Nothing goes to the bare pre-setup handler meanwhile, so that a
        # warning is not logged twice, once unformatted.
        logger.propagate = False
        oslo_logging.setup = _release_after(oslo_logging.setup)
    atexit.register(release)
    return True


def release():
    """Stop holding; log the held records the logging now lets through.

    :returns: how many records were logged.
    """
    global _held
    with _lock:
        held, _held = _held, None
        if held is None:
            return 0
        held.logger.removeHandler(held)
        held.logger.setLevel(held.saved[0])
        held.logger.propagate = held.saved[1]
        setup = oslo_logging.setup
        if hasattr(setup, _WRAPPED_ATTR):
            oslo_logging.setup = getattr(setup, _WRAPPED_ATTR)
    logged = 0
    for record in held.records:
        logger = logging.getLogger(record.name)
        if logger.isEnabledFor(record.levelno):
            logger.handle(record)
            logged += 1
    return logged
