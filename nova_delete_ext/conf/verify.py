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

verify_group = cfg.OptGroup(
    'delete_ext_verify',
    title='Leak verification (the verify policy)',
    help="""
Options of the ``verify`` policy. After a delete has finished, in the
background, it checks that the instance left nothing behind: placement
allocations, Neutron ports bound to it, Cinder volume attachments, the
shelve snapshot image and, when the delete ran on the compute host, the
domain on the hypervisor. Which checks run depends on the state the instance
was deleted from. Enable it where deletes finish: nova-compute, and nova-api
for the deletes it does itself.
""")

verify_opts = [
    cfg.StrOpt(
        'mode',
        default='report',
        choices=[
            ('report', 'Log a WARNING per leak and list the leaks in the '
                       'delete record.'),
            ('repair', 'Also remove each leak with Nova\'s own service '
                       'clients and list what was repaired in the record: '
                       'allocations and the shelve snapshot are deleted; a '
                       'port Nova created for the server is deleted, as '
                       'Nova\'s delete would have, a port the user brought '
                       '(or of unknown origin) is only unbound; volumes are '
                       'never touched, only their attachment records are '
                       'deleted; a guest left on the hypervisor is left to '
                       '[DEFAULT]running_deleted_instance_action.'),
        ],
        help="""
What to do about a leak found after a delete.

Related options:

* ``[DEFAULT]running_deleted_instance_action``: what nova-compute does with
  a guest whose instance was deleted; ``verify`` never removes one.
"""),
    cfg.ListOpt(
        'states',
        item_type=types.vm_state(),
        help="""
vm_states whose deletes are verified.

Unset, deletes from every vm_state are verified.

Possible values:

* A comma-separated list of Nova vm_states.
"""),
    cfg.FloatOpt(
        'timeout',
        default=30.0,
        min=1.0,
        help="""
Seconds to wait for each call of a check or a repair, at most.

Every call the ``verify`` policy and ``nova-delete-ext sweep`` make to
placement, Neutron, Cinder, Glance, Nova's database (through nova-conductor
on a compute host) or the hypervisor is given this long. A call that takes
longer is given up: the check is recorded as ``unverified``, with the call
that did not answer in the record's ``error``; ``nova-delete-ext sweep``
stops with an error. What a check of other kinds found is still reported.

Nova's own clients have timeouts of their own, which apply as well:
``[placement]timeout``, ``[neutron]timeout``, ``[cinder]timeout`` and
``[glance]timeout`` (keystoneauth session options, unset by default: no
timeout), Glance's ``[glance]num_retries`` and Cinder's
``[cinder]http_retries`` (each retry can take as long again), and
``[DEFAULT]rpc_response_timeout`` for what nova-compute reads through
nova-conductor. A call given up here may still be running: at most a few
such calls are left running at a time; while that many are, further calls
are given up at once.
"""),
]


def register_opts(conf):
    conf.register_group(verify_group)
    conf.register_opts(verify_opts, group=verify_group)


def list_opts():
    return [(verify_group, verify_opts)]
