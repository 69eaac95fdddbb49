"""Activation by configuration: a notification driver that installs hooks.

Every Nova service builds its notifier while it parses its configuration,
before it creates its manager, and loads the drivers listed in
``[oslo_messaging_notifications]driver`` from the
``oslo.messaging.notify.drivers`` entry point namespace. Listing
``nova_delete_ext`` there is the whole activation: nova-api (also under a
WSGI server) and nova-compute install the hooks at start-up, with no change
to Nova's code, packages or service units.

The driver itself sends nothing; the other drivers listed keep working.
"""

import atexit

from oslo_log import log as logging
from oslo_messaging.notify import notifier

from nova_delete_ext import conf as ext_conf
from nova_delete_ext import exception
from nova_delete_ext import hooks
from nova_delete_ext import policies
from nova_delete_ext import sinks

LOG = logging.getLogger(__name__)


class RefuseToStart(SystemExit):
    """Stops the service: a policy was asked for and cannot be honoured.

    oslo.messaging loads notification drivers through stevedore, which logs
    and skips a driver that raises an ``Exception``; a ``SystemExit`` goes
    through, so the service stops at start-up rather than run without the
    protection it was configured with.
    """


def _refuse(message):
    LOG.critical('%s', message)
    raise RefuseToStart('nova-delete-ext: %s' % message)


def activate(conf):
    """Load the policies and install the hooks if ``[delete_ext]enabled``.

    Without policies, a Nova the hooks do not fit runs on unchanged, with
    one ERROR naming every method that does not match: only the records
    are lost.

    :raises RefuseToStart: the configuration is not valid, or policies are
        configured and the hooks do not fit this Nova.
    """
    ext_conf.register_opts(conf)
    if not conf.delete_ext.enabled:
        LOG.info('nova-delete-ext is loaded but [delete_ext]enabled is '
                 'false: Nova is left unchanged.')
        return False
    try:
        chain = policies.load(conf)
        loaded_sinks = sinks.load(conf)
    except exception.ConfigInvalid as exc:
        _refuse(str(exc))
    try:
        installed = hooks.install()
    except exception.HookMismatch as exc:
        if chain.policies:
            _refuse('%s; the policies %s cannot be applied.'
                    % (exc, ', '.join(chain.names)))
        LOG.error('%s', exc)
        return False
    except Exception:
        LOG.exception('nova-delete-ext could not install its hooks; Nova '
                      'runs on unchanged.')
        if chain.policies:
            _refuse('the hooks could not be installed; the policies %s '
                    'cannot be applied.' % ', '.join(chain.names))
        return False
    policies.set_active(chain)
    sinks.set_active(loaded_sinks)
    atexit.register(loaded_sinks.stop)
    if chain.policies:
        LOG.info('nova-delete-ext policies in force: %s',
                 ', '.join(chain.names))
    return installed


class HookInstallerDriver(notifier.Driver):
    """The ``nova_delete_ext`` notification driver."""

    def __init__(self, conf, topics, transport):
        super().__init__(conf, topics, transport)
        activate(conf)

    def notify(self, ctxt, message, priority, retry):
        # Loading the driver is its only purpose: notifications are for the
        # other drivers in [oslo_messaging_notifications]driver.
        pass
