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

Nova loads virt drivers only from ``nova.virt``; the launcher
:mod:`nova_delete_ext.tests.cloud.nova_compute` registers this module as
``nova.virt.delete_ext_fake`` before it runs nova-compute, so
``compute_driver = delete_ext_fake.StableNodeFakeDriver``.
"""

import os
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
HOLD_SECONDS = 600


class StableNodeFakeDriver(fake.FakeDriver):
    """FakeDriver with a persistent node uuid and surviving guests."""

    _node_uuid = None

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
        self._hold(instance)
        return super().destroy(context, instance, *args, **kwargs)

    def _hold(self, instance):
        hold = os.path.join(CONF.state_path, HOLD_FILE)
        held = os.path.join(CONF.state_path, HELD_FILE)
        try:
            os.rename(hold, held)
        except FileNotFoundError:
            return
        with open(held, 'w') as f:
            f.write(instance.uuid)
        LOG.info('Holding the destroy until %s is removed', held,
                 instance=instance)
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
