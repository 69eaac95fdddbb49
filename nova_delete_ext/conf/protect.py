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

from oslo_config import cfg

from nova_delete_ext.conf import types

protect_group = cfg.OptGroup(
    'delete_ext_protect',
    title='Deletion protection (the protect policy)',
    help="""
Options of the ``protect`` policy, active when ``[delete_ext]policies`` lists
``protect``. A protected server cannot be deleted, force-deleted or
soft-deleted: nova-api answers 409 Conflict and names the protection. The
owner lifts it with an ordinary metadata or tag change. The policy rule
``delete_ext:protect:bypass`` lets chosen roles delete a protected server
anyway; by default it lets nobody.
""")

protect_opts = [
    cfg.StrOpt(
        'metadata_key',
        default='delete_protection',
        help="""
Server metadata key that protects a server.

A true value (``true``, ``yes``, ``on``, ``1``...) protects the server, a
false one (``false``, ``no``, ``off``, ``0``...) does not. Any other value is
not understood and, to be safe, protects the server; the 409 message names
the value.

Related options:

* ``tag``: a server is also protected by a tag.
"""),
    cfg.StrOpt(
        'tag',
        default='delete-protected',
        help="""
Server tag that protects a server.

Related options:

* ``metadata_key``: a server is also protected by its metadata.
"""),
    cfg.ListOpt(
        'states',
        item_type=types.vm_state(),
        help="""
vm_states in which protection applies.

Unset, protection applies in every vm_state. Listing no state at all is
refused at start-up: to turn protection off, remove ``protect`` from
``[delete_ext]policies``.

Possible values:

* A comma-separated list of Nova vm_states, e.g. ``active,stopped,shelved``.
"""),
]


def register_opts(conf):
    conf.register_group(protect_group)
    conf.register_opts(protect_opts, group=protect_group)


def list_opts():
    return [(protect_group, protect_opts)]
