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

"""What the ``nova_delete_ext`` driver does in nova-api and nova-compute.

Imported by :mod:`nova_delete_ext.activation` only when the driver is
built in one of those two programs, so that an import that fails here
(Nova or a dependency missing or changed) is handled there. Its lines are
logged under ``nova_delete_ext.activation``, the name the guides show.
"""

import atexit

from nova_delete_ext import activation
from nova_delete_ext import conf as ext_conf
from nova_delete_ext import exception
from nova_delete_ext import hooks
from nova_delete_ext import policies
from nova_delete_ext import sinks

LOG = activation.LOG


def activate(conf):
    """Load the policies and install the hooks if ``[delete_ext]enabled``.

    Without policies, a Nova the hooks do not fit runs on unchanged, with
    one ERROR naming every method that does not match: only the records
    are lost.

    :raises RefuseToStart: the configuration is not valid, or policies are
        configured and the hooks do not fit this Nova.
    """
    if hooks.installed():
        # Nova builds a second notifier, and so a second driver, with
        # [notifications]notification_format = both: the extension is
        # already active, and its lines are logged once.
        LOG.debug('nova-delete-ext is already active in this process.')
        return False
    ext_conf.register_opts(conf)
    if not conf.delete_ext.enabled:
        LOG.info('nova-delete-ext is loaded but [delete_ext]enabled is '
                 'false: Nova is left unchanged.')
        return False
    try:
        chain = policies.load(conf)
        loaded_sinks = sinks.load(conf)
    except exception.ConfigInvalid as exc:
        activation.refuse(str(exc))
    try:
        installed = hooks.install()
    except exception.HookMismatch as exc:
        if chain.policies:
            activation.refuse('%s; the policies %s cannot be applied.'
                              % (exc, ', '.join(chain.names)))
        LOG.error('%s', exc)
        return False
    except Exception:
        LOG.exception('nova-delete-ext could not install its hooks; Nova '
                      'runs on unchanged.')
        if chain.policies:
            activation.refuse('the hooks could not be installed; the '
                              'policies %s cannot be applied.'
                              % ', '.join(chain.names))
        return False
    policies.set_active(chain)
    sinks.set_active(loaded_sinks)
    atexit.register(loaded_sinks.stop)
    if chain.policies:
        LOG.info('nova-delete-ext policies in force: %s',
                 ', '.join(chain.names))
    return installed
