"""The ``recycle`` policy: a recycle bin with a retention per vm_state.

In nova-api, a plain delete of a server in a state listed in
``[delete_ext_recycle]retention`` becomes a soft delete, and the retention
is stored in the server's system_metadata (saved with the soft delete).
A delete from any other state is done at once, even when Nova would have
soft-deleted it. In nova-compute, the periodic reclaim of soft-deleted
servers asks ``_deleted_old_enough``, which honours that stored retention
(see :func:`retention_of`).
"""

from nova.compute import vm_states
from oslo_log import log as logging

from nova_delete_ext.conf import recycle as recycle_conf
from nova_delete_ext import exception
from nova_delete_ext.policies import base
from nova_delete_ext import record as rec

LOG = logging.getLogger(__name__)

GROUP = 'delete_ext_recycle'

#: system_metadata key holding a recycled server's retention in seconds.
RETENTION_KEY = 'delete_ext_retention'

#: The decision recorded when a server to recycle had never launched, which
#: Nova cannot soft-delete: it is deleted.
NOT_LAUNCHED = 'recycle:not_kept(never launched)'

# A soft delete cannot keep a server in these states: one never built
# cannot be soft-deleted, nova-api destroys a shelved-offloaded one on the
# spot, and the last two are already deleted.
CANNOT_KEEP = frozenset((vm_states.BUILDING, vm_states.SHELVED_OFFLOADED,
                         vm_states.SOFT_DELETED, vm_states.DELETED))


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
        seconds = self.conf[GROUP].retention.get(event.state.vm_state)
        if seconds is None:
            if event.delete_type == rec.SOFT_DELETE:
                return self.decision(
                    'delete_now', detail='%s not kept' % event.state.vm_state,
                    redirect=rec.DELETE)
            return None
        event.instance.system_metadata[RETENTION_KEY] = str(seconds)
        return self.decision('soft_delete', detail='%ds' % seconds,
                             redirect=rec.SOFT_DELETE)


def forget(instance):
    """Drop a stored retention (a restore, or a soft delete not done)."""
    if instance.obj_attr_is_set('system_metadata'):
        instance.system_metadata.pop(RETENTION_KEY, None)


def retention_of(instance):
    """The retention stored on a recycled ``instance``, or None."""
    if (instance.vm_state != vm_states.SOFT_DELETED or
            not instance.obj_attr_is_set('system_metadata')):
        return None
    value = instance.system_metadata.get(RETENTION_KEY)
    if value is None:
        return None
    try:
        return max(0, int(value))
    except ValueError:
        LOG.warning('Ignoring the unreadable recycle retention %r; Nova\'s '
                    'reclaim_instance_interval applies.', value,
                    instance=instance)
        return None
