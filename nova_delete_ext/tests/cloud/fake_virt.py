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

"""A fake virt driver that survives a restart of nova-compute.

Nova's ``nova.virt.fake.FakeDriver`` reports a compute node uuid drawn at
random in each process (``uuidsentinel``) and never writes the local node
identity file (``compute_id`` in ``[DEFAULT]state_path``). The first start
works; a restarted nova-compute refuses to start with "No local node
identity found", because its service record is new enough to expect the
file. This variant takes its node uuid from
``nova.virt.node.get_local_node_uuid()``, as the libvirt driver does (read
the file, or create it on the very first start), so a restart finds the
same compute node.

It also behaves like a hypervisor whose guests outlive the compute
service: at start-up it takes the instances the database places on this
host as its own, in the power state the database last recorded, instead of
starting with none (a plain FakeDriver would make the power state sync
stop every server after a restart).

A destroy can be held, to kill nova-compute in the middle of a delete:
while the file :data:`HOLD_FILE` exists in ``[DEFAULT]state_path``, the
next destroy renames it to :data:`HELD_FILE` (with the instance uuid in
it) and waits until that file is removed, or ten minutes. Only one
destroy is held, and a restarted nova-compute finds no hold file.

A delete can also be held after Nova saved vm_state ``deleted`` and
before it destroyed the instance in the database (the window Nova closes
at start-up with ``_complete_partial_deletion``): while
:data:`HOLD_AFTER_DELETED_FILE` exists, the next destroy renames it to
:data:`HELD_AFTER_DELETED_FILE` and lets the guest go; the same thread is
then held in Nova's only driver call of that window,
``node_is_available`` (the resource tracker's update after the save),
until that file is removed.

Nova loads virt drivers only from ``nova.virt``; the launcher
:mod:`nova_delete_ext.tests.cloud.nova_compute` registers this module as
``nova.virt.delete_ext_fake`` before it runs nova-compute, so
``compute_driver = delete_ext_fake.StableNodeFakeDriver``.
"""

import os
import threading
import time

from nova import conf as nova_conf
from nova import context as nova_context
from nova import objects
from nova.virt import fake
from nova.virt import node as virt_node
from oslo_log import log as logging

LOG = logging.getLogger(__name__)
CONF = nova_conf.CONF

MODULE_ALIAS = 'nova.virt.delete_ext_fake'
DRIVER = 'delete_ext_fake.StableNodeFakeDriver'
HOLD_FILE = 'delete-ext-hold-destroy'
HELD_FILE = 'delete-ext-destroy-held'
HOLD_AFTER_DELETED_FILE = 'delete-ext-hold-after-deleted'
HELD_AFTER_DELETED_FILE = 'delete-ext-held-after-deleted'
HOLD_SECONDS = 600


class StableNodeFakeDriver(fake.FakeDriver):
    """FakeDriver with a persistent node uuid and surviving guests."""

    _node_uuid = None
    #: The thread whose delete is to be held after vm_state deleted.
    _held_after_deleted = None

    def _local_node_uuid(self):
        if self._node_uuid is None:
            self._node_uuid = virt_node.get_local_node_uuid()
        return self._node_uuid

    def init_host(self, host):
        super().init_host(host)
        self._adopt_guests(host)

    def _adopt_guests(self, host):
        try:
            instances = objects.InstanceList.get_by_host(
                nova_context.get_admin_context(), host)
        except Exception:
            LOG.exception('Could not list the instances of host %s; the '
                          'fake hypervisor starts empty.', host)
            return
        for inst in instances:
            if inst.uuid in self.instances:
                continue
            self.instances[inst.uuid] = fake.FakeInstance(
                inst.name, inst.power_state, inst.uuid)
        if instances:
            LOG.info('Fake hypervisor took back %d guests of host %s.',
                     len(instances), host)

    def destroy(self, context, instance, *args, **kwargs):
        if self._claim(HOLD_FILE, HELD_FILE, instance):
            self._wait(HELD_FILE)
        if self._claim(HOLD_AFTER_DELETED_FILE, HELD_AFTER_DELETED_FILE,
                       instance):
            self._held_after_deleted = threading.get_ident()
        return super().destroy(context, instance, *args, **kwargs)

    def node_is_available(self, nodename):
        if self._held_after_deleted == threading.get_ident():
            self._held_after_deleted = None
            self._wait(HELD_AFTER_DELETED_FILE)
        return super().node_is_available(nodename)

    @staticmethod
    def _claim(hold_name, held_name, instance):
        """Turn the hold file into the held file naming ``instance``."""
        hold = os.path.join(CONF.state_path, hold_name)
        held = os.path.join(CONF.state_path, held_name)
        try:
            os.rename(hold, held)
        except FileNotFoundError:
            return False
        with open(held, 'w') as f:
            f.write(instance.uuid)
        LOG.info('Holding the delete until %s is removed', held,
                 instance=instance)
        return True

    @staticmethod
    def _wait(held_name):
        held = os.path.join(CONF.state_path, held_name)
        deadline = time.monotonic() + HOLD_SECONDS
        while os.path.exists(held) and time.monotonic() < deadline:
            time.sleep(0.2)

    def get_available_resource(self, nodename):
        resources = super().get_available_resource(nodename)
        if resources:
            resources['uuid'] = self._local_node_uuid()
        return resources

    def get_nodenames_by_uuid(self, refresh=False):
        nodes = self.get_available_nodes() or []
        if len(nodes) != 1:
            # One node per service is all the node identity file can name.
            return super().get_nodenames_by_uuid(refresh)
        return {self._local_node_uuid(): nodes[0]}
