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

"""Activation by configuration: a notification driver that installs hooks.

Every Nova service builds its notifier while it parses its configuration,
before it creates its manager, and loads the drivers listed in
``[oslo_messaging_notifications]driver`` from the
``oslo.messaging.notify.drivers`` entry point namespace. Listing
``nova_delete_ext`` there is the whole activation: nova-api (also under a
WSGI server) and nova-compute install the hooks at start-up, with no change
to Nova's code, packages or service units.

Every other Nova program that initialises RPC (nova-manage, nova-status,
nova-conductor, nova-scheduler, the console proxies, the metadata API)
loads the driver too, from the same ``nova.conf``; there it does nothing,
so neither an option of the extension nor a Nova it does not fit can stop,
say, ``nova-manage db sync``. See :func:`nova_service`.

This module is the entry point, and imports only the standard library,
oslo libraries, :mod:`nova_delete_ext.programs` (which tells the program)
and :mod:`nova_delete_ext.early_log` (which holds the lines logged here
until Nova has set up logging). Nova and the rest of
the extension are imported when the driver is built in nova-api or
nova-compute. If that fails (a missing
dependency, a Nova module that moved, a broken install), the service
refuses to start when ``[delete_ext]policies`` lists policies, and
otherwise logs one ERROR and runs unchanged. Left to stevedore, which
loads the drivers and only logs a driver that fails, the service would run
without the protection it was configured with.

The driver itself sends nothing; the other drivers listed keep working.
"""

import importlib

from oslo_config import cfg
from oslo_log import log as logging
from oslo_messaging.notify import notifier

from nova_delete_ext import early_log
from nova_delete_ext import programs

LOG = logging.getLogger(__name__)

NOVA_API = programs.NOVA_API
NOVA_COMPUTE = programs.NOVA_COMPUTE
PROGRAMS = programs.PROGRAMS
API_WSGI_MODULES = programs.API_WSGI_MODULES
program_name = programs.program_name

# Imported only when the driver is built in nova-api or nova-compute.
_STARTUP = 'nova_delete_ext.startup'

# Copies of the two options that decide what a failed import does (see
# _policies_asked_for); the real ones are in nova_delete_ext.conf.
_FALLBACK_OPTS = (cfg.BoolOpt('enabled', default=True),
                  cfg.ListOpt('policies', default=[]))


class RefuseToStart(SystemExit):
    """Stops the service: a policy was asked for and cannot be honoured.

    oslo.messaging loads notification drivers through stevedore, which logs
    and skips a driver that raises an ``Exception``; a ``SystemExit`` goes
    through, so the service stops at start-up rather than run without the
    protection it was configured with.
    """


def refuse(message):
    """Log ``message`` at CRITICAL and stop the service."""
    LOG.critical('%s', message)
    # The service stops before it sets up logging: show what was held now.
    early_log.release()
    raise RefuseToStart('nova-delete-ext: %s' % message)


def nova_service(conf):
    """``'nova-api'``, ``'nova-compute'``, or None for any other program.

    See :func:`nova_delete_ext.programs.service_of`.
    """
    return programs.service_of(conf)


def _policies_asked_for(conf):
    """The policies ``conf`` asks for: none if ``[delete_ext]enabled`` is off.

    Read when the extension may not have been imported, so its options may
    not be registered on ``conf``. Each of the two is then registered as a
    bare copy, but only if missing: oslo.config accepts a second
    registration only of an identical option (help text included), so a
    copy registered first would make the real registration fail. (A copy
    never meets the real option afterwards: the extension failed to load.)
    """
    values = {}
    for opt in _FALLBACK_OPTS:
        try:
            values[opt.name] = getattr(conf.delete_ext, opt.name)
        except (cfg.NoSuchOptError, cfg.NoSuchGroupError):
            conf.register_opt(opt, group='delete_ext')
            values[opt.name] = getattr(conf.delete_ext, opt.name)
    return list(values['policies']) if values['enabled'] else []


def _cannot_run(conf, exc, what):
    """The extension failed to load or start: stop, or run Nova unchanged."""
    cause = '%s: %s' % (type(exc).__name__, exc)
    LOG.debug('nova-delete-ext %s', what, exc_info=exc)
    try:
        names = _policies_asked_for(conf)
    except Exception as read_exc:
        # Whether a protection was asked for cannot be told: assume so.
        refuse('nova-delete-ext %s (%s), and [delete_ext] cannot be read '
               '(%s: %s).' % (what, cause, type(read_exc).__name__,
                              read_exc))
    if names:
        refuse('nova-delete-ext %s (%s); the policies %s cannot be '
               'applied.' % (what, cause, ', '.join(names)))
    LOG.error('nova-delete-ext %s (%s); Nova runs on unchanged and deletes '
              'are not recorded.', what, cause)
    return False


def activate(conf):
    """Import the extension, load its policies and install the hooks.

    What the driver does in nova-api and nova-compute, whichever program
    calls it. If the extension cannot be imported, or fails unexpectedly,
    it logs one ERROR and returns False, or refuses to start when policies
    are configured.

    :returns: whether this call installed the hooks.
    :raises RefuseToStart: the configuration is not valid, or policies are
        configured and cannot be applied.
    """
    try:
        startup = importlib.import_module(_STARTUP)
    except Exception as exc:
        return _cannot_run(conf, exc, 'could not be loaded')
    try:
        return startup.activate(conf)
    except Exception as exc:
        return _cannot_run(conf, exc, 'failed to start')


class HookInstallerDriver(notifier.Driver):
    """The ``nova_delete_ext`` notification driver."""

    def __init__(self, conf, topics, transport):
        super().__init__(conf, topics, transport)
        if nova_service(conf) is None:
            prog = program_name(conf)
            LOG.debug('nova-delete-ext does nothing in %s: it acts in '
                      'nova-api and nova-compute only.',
                      prog or 'this program')
            # Unless this program turns out to be one of them.
            programs.watch(conf, prog)
            return
        # Nova sets up logging only after it has loaded the drivers.
        early_log.hold()
        activate(conf)

    def notify(self, ctxt, message, priority, retry):
        # Loading the driver is its only purpose: notifications are for the
        # other drivers in [oslo_messaging_notifications]driver.
        pass
