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

"""The ``recycle`` policy: a recycle bin with a retention per vm_state.

In nova-api, a plain delete of a server in a state listed in
``[delete_ext_recycle]retention`` becomes a soft delete, and the retention
is stored in the server's system_metadata (``sysmeta.RETENTION_KEY``, saved
on its own: :func:`~nova_delete_ext.record.sysmeta.put`). A delete from
any other state is done at once, even when Nova would have soft-deleted
it. In nova-compute, the periodic reclaim
of soft-deleted servers asks the policies for the retention
(:meth:`Recycle.retention`), and a restore drops it
(:meth:`Recycle.on_restore`).
"""

from nova.compute import task_states
from nova.compute import vm_states
from oslo_log import log as logging

from nova_delete_ext.conf import recycle as recycle_conf
from nova_delete_ext import exception
from nova_delete_ext.policies import base
from nova_delete_ext import record as rec
from nova_delete_ext.record import sysmeta
from nova_delete_ext import states

LOG = logging.getLogger(__name__)

GROUP = 'delete_ext_recycle'

# A soft delete cannot keep a server in these states: one never built
# cannot be soft-deleted, nova-api destroys a shelved-offloaded one on the
# spot, and the last two are already deleted.
CANNOT_KEEP = frozenset((vm_states.BUILDING, vm_states.SHELVED_OFFLOADED,
                         vm_states.SOFT_DELETED, vm_states.DELETED))


_IN_FLIGHT = (task_states.DELETING, task_states.SOFT_DELETING)


class Recycle(base.DeletePolicy):
    """Keep deleted servers for a while, per vm_state."""

    def register_opts(self, conf):
        recycle_conf.register_opts(conf)

    def validate(self):
        retention = base.read_options(self.conf, GROUP)['retention']
        option = '[%s]retention' % GROUP
        if not retention:
            raise exception.ConfigInvalid(
                option=option,
                reason='lists no vm_state, so the recycle bin would keep '
                       'nothing; list states, e.g. active:86400, or remove '
                       'recycle from [delete_ext]policies')
        unkeepable = sorted(set(retention) & CANNOT_KEEP)
        if unkeepable:
            raise exception.ConfigInvalid(
                option=option,
                reason='a soft delete cannot keep a server in %s'
                       % ', '.join(unkeepable))
        if self.conf.reclaim_instance_interval <= 0:
            # Right on nova-api; on nova-compute it means nothing is ever
            # reclaimed. nova-delete-ext-status tells which node is which.
            LOG.warning('[%s]retention is set but '
                        '[DEFAULT]reclaim_instance_interval is %s: '
                        'nova-compute on this node will not reclaim '
                        'recycled servers.', GROUP,
                        self.conf.reclaim_instance_interval)

    def on_request(self, event):
        if event.delete_type == rec.FORCE_DELETE:
            return None
        in_bin = event.state.vm_state == vm_states.SOFT_DELETED
        if ((in_bin or event.state.task_state in _IN_FLIGHT) and
                not states.compute_host_up(event.context,
                                           event.instance.host)):
            # Only the server's own host would reclaim it or finish the
            # delete under way: with that host down, kept here means kept
            # for good. Nova then deletes it in nova-api (a local delete);
            # so does this delete.
            return self.decision('not_kept', detail='compute host down',
                                 redirect=rec.DELETE)
        if in_bin:
            # A second click, a client retrying: the bin keeps the server
            # and its retention. Only forceDelete or the end of the
            # retention destroys it.
            return self.decision('kept', detail='already in the bin',
                                 redirect=rec.KEEP)
        if event.state.task_state in _IN_FLIGHT:
            # Another request's delete is under way. A soft delete would
            # save task_state over what nova-compute saves when it is done,
            # and leave the server stuck; Nova answers a second hard delete
            # the same way: nothing to do.
            return self.decision('kept', detail='%s under way'
                                 % event.state.task_state, redirect=rec.KEEP)
        seconds = self.conf[GROUP].retention.get(event.state.vm_state)
        if seconds is None:
            if event.delete_type == rec.SOFT_DELETE:
                return self.decision(
                    'delete_now', detail='%s not kept' % event.state.vm_state,
                    redirect=rec.DELETE)
            return None
        if not event.instance.launched_at:
            # Nova soft-deletes only servers that launched; it deletes one
            # that never did, as its servers controller does.
            return self.decision('not_kept', detail='never launched',
                                 redirect=rec.DELETE)
        sysmeta.put(event.instance, sysmeta.RETENTION_KEY, str(seconds))
        return self.decision('soft_delete', detail='%ds' % seconds,
                             redirect=rec.SOFT_DELETE)

    def on_restore(self, event):
        # A restored server is no longer in the recycle bin.
        sysmeta.drop(event.instance, sysmeta.RETENTION_KEY)

    def retention(self, instance):
        if instance.vm_state != vm_states.SOFT_DELETED:
            return None
        value = sysmeta.get(instance, sysmeta.RETENTION_KEY)
        if value is None:
            return None
        try:
            return max(0, int(value))
        except ValueError:
            LOG.warning('Ignoring the unreadable recycle retention %r; '
                        'Nova\'s reclaim_instance_interval applies.', value,
                        instance=instance)
            return None
