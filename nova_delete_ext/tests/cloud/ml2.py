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

"""An ML2 mechanism driver that binds ports on hosts without any agent.

The one-machine cloud runs nova-compute on Nova's fake virt driver: there
is no Open vSwitch, no L2 agent and so nothing that would bind a port for
the compute host or report it wired. With only the usual drivers, every
port of a server ends ``binding_failed``. This driver binds every port
whose ``binding:host_id`` is set, on any segment, with VIF type ``ovs``
(the fake virt driver plugs nothing, whatever the type), and then marks
the port's L2 provisioning complete, as an L2 agent's ``update_device_up``
would: ML2 then sets the port ACTIVE and, with
``[DEFAULT]notify_nova_on_port_status_changes``, sends Nova its
``network-vif-plugged`` event.

For the scenarios of a delete that Neutron fails, a port named
``delete-ext-fail-unbind-N`` refuses the first N updates that unbind it
(that clear its ``device_id``), with an error ML2 turns into a 500, as a
Neutron back end that is down would. Nova logs such a failure of a port
the user brought and goes on deleting the server, leaving the port bound
to it.

It is loaded by ML2 from the ``neutron.ml2.mechanism_drivers`` entry point
``delete_ext_fake``, which only the cloud's test-only distribution
(``tools/cloud/fakes``) declares, not nova-delete-ext's setup.cfg:
``[ml2]mechanism_drivers = delete_ext_fake``. Test code only: never
install or configure it in a real cloud.
"""

from neutron_lib.api.definitions import portbindings
from neutron_lib.callbacks import resources
from neutron_lib import constants
from neutron_lib.plugins.ml2 import api
from oslo_log import log as logging

LOG = logging.getLogger(__name__)

VIF_TYPE = portbindings.VIF_TYPE_OVS
VIF_DETAILS = {
    portbindings.CAP_PORT_FILTER: True,
    portbindings.OVS_HYBRID_PLUG: False,
    portbindings.VIF_DETAILS_CONNECTIVITY: portbindings.CONNECTIVITY_L2,
}
_UNBOUND = (portbindings.VIF_TYPE_UNBOUND,
            portbindings.VIF_TYPE_BINDING_FAILED)


#: A port named this, followed by N, fails its first N unbinds.
FAIL_UNBIND_PREFIX = 'delete-ext-fail-unbind-'


class UnbindRefused(Exception):
    """The failure a port named :data:`FAIL_UNBIND_PREFIX` asked for."""


class FakeHostMechanismDriver(api.MechanismDriver):
    """Binds every port that names a host; no agent involved."""

    def __init__(self):
        super().__init__()
        # Unbinds refused so far, by port id (Neutron runs one process).
        self._refused = {}

    def initialize(self):
        LOG.info('delete_ext_fake mechanism driver: binding ports on any '
                 'host with VIF type %s, no agent.', VIF_TYPE)

    @property
    def connectivity(self):
        return portbindings.CONNECTIVITY_L2

    def bind_port(self, context):
        if not context.host:
            return
        for segment in context.segments_to_bind:
            context.set_binding(segment[api.ID], VIF_TYPE, dict(VIF_DETAILS),
                                status=constants.PORT_STATUS_ACTIVE)
            LOG.debug('Bound port %s on host %s, segment %s',
                      context.current['id'], context.host, segment[api.ID])
            return

    def update_port_precommit(self, context):
        port, original = context.current, context.original or {}
        name = port.get('name') or ''
        if (not name.startswith(FAIL_UNBIND_PREFIX)
                or not original.get('device_id') or port.get('device_id')):
            return
        wanted = int(name[len(FAIL_UNBIND_PREFIX):] or 0)
        refused = self._refused.get(port['id'], 0)
        if refused < wanted:
            self._refused[port['id']] = refused + 1
            LOG.warning('Refusing to unbind port %s from %s (%d of %d), '
                        'as its name asks', port['id'],
                        original['device_id'], refused + 1, wanted)
            raise UnbindRefused('port %s: unbind refused for the test'
                                % port['id'])

    def update_port_postcommit(self, context):
        port = context.current
        if (not context.host or context.vif_type in _UNBOUND
                or port.get('status') == constants.PORT_STATUS_ACTIVE
                or not port.get('admin_state_up', True)):
            return
        self._wired(context.plugin_context, port['id'])

    def _wired(self, plugin_context, port_id):
        # Imported here: neutron itself is only needed where ML2 loads the
        # driver, not to import this module for its documentation.
        from neutron.db import provisioning_blocks
        try:
            provisioning_blocks.provisioning_complete(
                plugin_context, port_id, resources.PORT,
                provisioning_blocks.L2_AGENT_ENTITY)
        except Exception:
            LOG.exception('Could not mark port %s wired', port_id)
