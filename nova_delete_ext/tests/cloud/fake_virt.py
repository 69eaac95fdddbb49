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

Nova loads virt drivers only from ``nova.virt``; the launcher
:mod:`nova_delete_ext.tests.cloud.nova_compute` registers this module as
``nova.virt.delete_ext_fake`` before it runs nova-compute, so
``compute_driver = delete_ext_fake.StableNodeFakeDriver``.
"""

from nova import context as nova_context
from nova import objects
from nova.virt import fake
from nova.virt import node as virt_node
from oslo_log import log as logging

LOG = logging.getLogger(__name__)

MODULE_ALIAS = 'nova.virt.delete_ext_fake'
DRIVER = 'delete_ext_fake.StableNodeFakeDriver'


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
