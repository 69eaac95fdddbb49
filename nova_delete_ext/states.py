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

"""What an instance holds in each vm_state, from ``nova.compute.vm_states``.

The extension never keeps its own copy of Nova's states: every state name
and every grouping comes from ``nova.compute.vm_states`` of the Nova the
extension runs in. Also whether an instance's compute host is up, which
decides, as it does for Nova, where a delete can happen.
"""

import dataclasses

from nova.compute import power_state
from nova.compute import vm_states
from nova import exception as nova_exception
from nova import objects
from nova import servicegroup

# Kinds of resource an instance can hold, as they appear in the record.
DOMAIN = 'domain'            # the guest defined on the hypervisor
DISKS = 'disks'              # its local disks on the compute host
PORTS = 'ports'              # Neutron ports bound to it
VOLUMES = 'volumes'          # Cinder volume attachments
ALLOCATIONS = 'allocations'  # placement allocations of the consumer
SHELVE_IMAGE = 'shelve_image'  # the Glance snapshot taken by shelve
BUILD_REQUEST = 'build_request'  # the API database's BuildRequest

ALL_KINDS = (DOMAIN, DISKS, PORTS, VOLUMES, ALLOCATIONS, SHELVE_IMAGE,
             BUILD_REQUEST)
ON_HYPERVISOR = (DOMAIN, DISKS)

_SHELVED = (vm_states.SHELVED, vm_states.SHELVED_OFFLOADED)

#: system_metadata key where shelve keeps the id of its Glance snapshot.
SHELVE_IMAGE_KEY = 'shelved_image_id'


def all_vm_states():
    """Every vm_state the running Nova defines, read from its module."""
    return frozenset(
        value for name, value in vars(vm_states).items()
        if name.isupper() and isinstance(value, str))


def resources_removed(vm_state, task_state=None):
    """Whether Nova treats the instance as gone from the hypervisor.

    Nova 28 replaced the list ``ALLOW_RESOURCE_REMOVAL`` with the function
    ``allow_resource_removal(vm_state, task_state)``, which also says that a
    shelved-offloaded instance being unshelved (task_state ``spawning``) is
    on its way back to a host. Both shapes are honoured.
    """
    helper = getattr(vm_states, 'allow_resource_removal', None)
    if helper is not None:
        return helper(vm_state, task_state)
    return vm_state in vm_states.ALLOW_RESOURCE_REMOVAL


def shelve_image_id(instance):
    """The shelve snapshot of a shelved instance, without a lazy load."""
    if (instance.vm_state in _SHELVED and
            instance.obj_attr_is_set('system_metadata')):
        return instance.system_metadata.get(SHELVE_IMAGE_KEY)
    return None


_SERVICEGROUP = []


def compute_host_up(context, host):
    """Whether the compute service of ``host`` is up, as nova-api decides.

    Nova's ``API._delete`` deletes an instance in nova-api itself (a local
    delete) when its host has no compute service record, or the service
    group says that service is down (its heartbeats stopped, or an admin
    forced it down): the same question, asked the same way. An instance on
    no host has no service up.

    :param context: a context of the instance's cell.
    """
    if not host:
        return False
    try:
        service = objects.Service.get_by_compute_host(context.elevated(),
                                                      host)
    except nova_exception.ComputeHostNotFound:
        return False
    if not _SERVICEGROUP:
        # Built on first use: it reads [DEFAULT]servicegroup_driver.
        _SERVICEGROUP.append(servicegroup.API())
    return _SERVICEGROUP[0].service_is_up(service)


def power_state_name(value):
    """The readable name of a ``power_state`` value (``running``, ...)."""
    if value is None:
        return None
    return power_state.STATE_MAP.get(value, str(value))


@dataclasses.dataclass(frozen=True)
class InstanceState:
    """The state an instance was in when a delete was asked for."""

    vm_state: str
    task_state: str | None
    power_state: str | None
    host: str | None

    @classmethod
    def of(cls, instance):
        return cls(vm_state=instance.vm_state,
                   task_state=instance.task_state,
                   power_state=power_state_name(instance.power_state),
                   host=instance.host)

    @property
    def on_hypervisor(self):
        """A guest may be defined on ``host`` (it has one and has not left)."""
        return bool(self.host) and not resources_removed(self.vm_state,
                                                         self.task_state)

    def may_hold(self):
        """The kinds of resource a delete from this state has to release.

        It is what the state *may* hold: a server in ``error`` may or may
        not have reached its host, a server may have no volume at all. The
        delete paths narrow it with what they know (their block device
        mappings, for instance).
        """
        if self.vm_state == vm_states.DELETED:
            return frozenset()
        held = {PORTS, VOLUMES}
        if self.on_hypervisor:
            held.update(ON_HYPERVISOR)
        # Shelve offload hands the allocation back to placement.
        if not resources_removed(self.vm_state, self.task_state):
            held.add(ALLOCATIONS)
        if self.vm_state in _SHELVED:
            held.add(SHELVE_IMAGE)
        return frozenset(held)
