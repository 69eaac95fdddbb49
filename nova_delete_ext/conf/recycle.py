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

recycle_group = cfg.OptGroup(
    'delete_ext_recycle',
    title='Recycle bin (the recycle policy)',
    help="""
Options of the ``recycle`` policy, active on nova-api when
``[delete_ext]policies`` lists ``recycle``. A plain delete of a server in a
listed vm_state becomes a soft delete: the server is kept, powered off, for
that state's retention and can be restored until then. nova-compute
reclaims it once the retention has passed, in its periodic task that runs
about once a minute; it runs that task only when its
``[DEFAULT]reclaim_instance_interval`` is greater than 0.
""")

recycle_opts = [
    cfg.Opt(
        'retention',
        type=types.VmStateSeconds(),
        default={},
        help="""
Retention in seconds per vm_state.

A plain delete of a server in a listed state is turned into a soft delete
kept for that many seconds. A server in a state not listed is deleted at
once, even when ``[DEFAULT]reclaim_instance_interval`` on nova-api would
have made Nova soft-delete it. ``forceDelete`` always deletes at once.

States a soft delete cannot keep (``building``, ``shelved_offloaded``,
``soft-delete``, ``deleted``) are refused at start-up.

Possible values:

* ``vm_state:seconds`` pairs, e.g. ``active:86400,stopped:604800``.

Related options:

* ``[DEFAULT]reclaim_instance_interval`` on nova-compute: must be greater
  than 0, or nothing is ever reclaimed. Its value does not matter for
  recycled servers: each is reclaimed within about a minute after its own
  retention, by a periodic task that runs about once a minute.
"""),
]


def register_opts(conf):
    conf.register_group(recycle_group)
    conf.register_opts(recycle_opts, group=recycle_group)


def list_opts():
    return [(recycle_group, recycle_opts)]
