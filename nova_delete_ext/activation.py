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

from oslo_log import log as logging
from oslo_messaging.notify import notifier

from nova_delete_ext import conf as ext_conf
from nova_delete_ext import exception
from nova_delete_ext import hooks

LOG = logging.getLogger(__name__)


def activate(conf):
    """Install the hooks if ``[delete_ext]enabled``; never raise.

    A Nova the hooks do not fit runs on unchanged, with one ERROR naming
    every method that does not match.
    """
    ext_conf.register_opts(conf)
    if not conf.delete_ext.enabled:
        LOG.info('nova-delete-ext is loaded but [delete_ext]enabled is '
                 'false: Nova is left unchanged.')
        return False
    try:
        return hooks.install()
    except exception.HookMismatch as exc:
        LOG.error('%s', exc)
    except Exception:
        LOG.exception('nova-delete-ext could not install its hooks; Nova '
                      'runs on unchanged.')
    return False


class HookInstallerDriver(notifier.Driver):
    """The ``nova_delete_ext`` notification driver."""

    def __init__(self, conf, topics, transport):
        super().__init__(conf, topics, transport)
        activate(conf)

    def notify(self, ctxt, message, priority, retry):
        # Loading the driver is its only purpose: notifications are for the
        # other drivers in [oslo_messaging_notifications]driver.
        pass
