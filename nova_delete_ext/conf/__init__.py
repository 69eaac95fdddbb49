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

"""Configuration options of nova-delete-ext, one module per option group.

Every group is registered on the configuration object Nova itself uses
(``nova.conf.CONF``), so the options live in ``nova.conf``.
"""

from oslo_config import cfg

from nova_delete_ext.conf import capture
from nova_delete_ext.conf import collector
from nova_delete_ext.conf import delete_ext
from nova_delete_ext.conf import protect
from nova_delete_ext.conf import recycle
from nova_delete_ext.conf import verify

# Nova's own configuration object (``nova.conf.CONF`` is ``cfg.CONF``).
CONF = cfg.CONF

_MODULES = (delete_ext, protect, recycle, capture, verify, collector)


def register_opts(conf):
    """Register every option group of the extension on ``conf``."""
    for module in _MODULES:
        module.register_opts(conf)


def list_opts():
    """Return ``[(group, [opts])]`` for oslo-config-generator and Sphinx."""
    result = []
    for module in _MODULES:
        result.extend(module.list_opts())
    return result


register_opts(CONF)
