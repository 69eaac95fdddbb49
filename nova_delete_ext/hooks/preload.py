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

"""Hooks that load what the policies read in Nova's own query.

While nova-api's servers controller serves a DELETE, the instance it reads
for it (``API.get``) also loads the fields the policies read at the request
(protect: the tags): one query of Nova's instead of one of their own.
"""

import contextvars

from oslo_log import log as logging

from nova_delete_ext.hooks import installer
from nova_delete_ext import policies

LOG = logging.getLogger(__name__)

API = 'nova.compute.api.API'
SERVERS = 'nova.api.openstack.compute.servers.ServersController'

# True while nova-api's servers controller serves a DELETE.
_SERVER_DELETE = contextvars.ContextVar('nova_delete_ext_server_delete',
                                        default=False)


def _servers_delete(original, self, context, req, instance_uuid):
    token = _SERVER_DELETE.set(True)
    try:
        return original(self, context, req, instance_uuid)
    finally:
        _SERVER_DELETE.reset(token)


def _get(original, self, context, instance_id, expected_attrs=None,
         cell_down_support=False):
    if _SERVER_DELETE.get():
        # Only the controller's own read of the instance it deletes.
        _SERVER_DELETE.set(False)
        try:
            extra = policies.active().instance_attrs
            if extra:
                attrs = list(expected_attrs or [])
                expected_attrs = attrs + [a for a in extra if a not in attrs]
        except Exception:
            LOG.exception('nova-delete-ext could not add the fields its '
                          'policies read to the instance being deleted; '
                          'they will be read on their own.')
    return original(self, context, instance_id,
                    expected_attrs=expected_attrs,
                    cell_down_support=cell_down_support)


HOOK_POINTS = (
    installer.HookPoint(
        API, 'get', '(self, context, instance_id, expected_attrs=None, '
        'cell_down_support=False)', _get),
    installer.HookPoint(
        SERVERS, '_delete', '(self, context, req, instance_uuid)',
        _servers_delete),
)
