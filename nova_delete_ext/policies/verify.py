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

"""The ``verify`` policy: after a delete, check that nothing was left behind.

It runs after the delete has finished, on the extension's after-delete
workers, and looks only for what the delete should have released from the
state the instance was in (the record's ``released``): no Glance lookup
for a server that was never shelved, no hypervisor lookup for a delete
nova-api did without the compute host. The checks and repairs are those of
:mod:`nova_delete_ext.leaks`, shared with the ``nova-delete-ext sweep``
sweep; every call they make is given ``[delete_ext_verify]timeout``
seconds. What it finds goes into the check record of the delete.
"""

from nova import context as nova_context
from oslo_log import log as logging

from nova_delete_ext.conf import verify as verify_conf
from nova_delete_ext import deadline
from nova_delete_ext import leaks
from nova_delete_ext.leaks import repair
from nova_delete_ext.leaks import services
from nova_delete_ext.policies import base
from nova_delete_ext import record as rec
from nova_delete_ext.record import attempt as attempt_mod
from nova_delete_ext import states

LOG = logging.getLogger(__name__)

GROUP = 'delete_ext_verify'


class Verify(base.DeletePolicy):
    """Find, and optionally repair, what a delete left behind."""

    def __init__(self, conf, name=None):
        super().__init__(conf, name)
        self._clients = None

    def register_opts(self, conf):
        verify_conf.register_opts(conf)

    def validate(self):
        base.read_options(self.conf, GROUP)

    @property
    def clients(self):
        if self._clients is None:
            self._clients = services.Clients(
                timeout=self.conf[GROUP].timeout)
        return self._clients

    def after_delete(self, event):
        opts = self.conf[GROUP]
        if not base.applies_in(opts.states, event.state.vm_state):
            return None
        kinds = set(event.record.released) & set(leaks.CHECKED)
        if event.driver is None:
            kinds.discard(states.DOMAIN)
        if not kinds:
            return None
        context = _checking_context(event.context)
        checked = attempt_mod.checking()
        errors = {}
        found = leaks.find(context, event.instance.uuid, kinds, self.clients,
                           shelve_image_id=event.shelve_image_id,
                           driver=event.driver,
                           network_info=getattr(checked, 'network_info',
                                                None),
                           errors=errors)
        for leak in found:
            LOG.warning('The delete left this behind: %s', leak.describe(),
                        instance=event.instance)
        fields = {}
        if found:
            fields['leaks'] = [_as_field(leak) for leak in found]
            if opts.mode == 'repair':
                fields['repaired'] = self._repair(context, event, found)
        if errors:
            return self._unverified(event, errors, fields)
        if not found:
            return self.decision('clean')
        if opts.mode != 'repair':
            return self.decision('leaks', detail=str(len(found)),
                                 fields=fields)
        return self.decision(
            'repaired', detail='%d/%d' % (len(fields['repaired']),
                                          len(found)),
            fields=fields)

    def _unverified(self, event, errors, fields):
        """Some kinds could not be checked: say which, and why."""
        for kind, exc in sorted(errors.items()):
            LOG.warning('Could not verify what this delete released: '
                        '%(kind)s: %(error)s',
                        {'kind': kind, 'error': exc},
                        instance=event.instance)
        fields['error'] = '; '.join(
            '%s: %s' % (kind, rec.describe_error(exc))
            for kind, exc in sorted(errors.items()))
        why = sorted({'timeout' if isinstance(exc, deadline.CallTimedOut)
                      else type(exc).__name__ for exc in errors.values()})
        return self.decision('unverified', detail=','.join(why),
                             fields=fields)

    def _repair(self, context, event, found):
        repaired = []
        for leak in found:
            if not leak.repairable:
                continue
            try:
                done = repair.repair(context, leak, self.clients)
            except Exception as exc:
                LOG.warning('Could not repair %s: %s', leak.describe(), exc,
                            instance=event.instance)
                continue
            repaired.append(done)
        return repaired


def _checking_context(request_context):
    """The context to check with.

    The request's own, elevated, while its token is fresh: Nova's Glance
    and Cinder clients act with the caller's token (placement and the
    admin Neutron client use nova.conf's service credentials either way).
    A delete Nova started by itself (a reclaim) has no token: an admin
    context, with which a check that needs one ends ``unverified``.
    """
    if getattr(request_context, 'auth_token', None):
        return request_context.elevated()
    return nova_context.get_admin_context()


def _as_field(leak):
    """A leak as the record lists it; the record names the instance."""
    data = leak.as_dict()
    del data['instance_uuid']
    return data
