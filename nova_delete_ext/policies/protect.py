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

"""The ``protect`` policy: servers that cannot be deleted until unprotected.

A server is protected by a true value of a metadata key or by a tag (both
configurable). Protection is checked in nova-api before Nova acts on a
delete, soft delete or force delete, and in nova-compute before the reclaim
of a soft-deleted server or a delete resumed after a restart, which no API
request precedes, and before an API delete that nova-api did not check.
"""

from nova.compute import instance_actions
from nova.db.main import api as main_db
from nova.db.main import models
from nova import objects
from nova.objects import base as obj_base
from oslo_utils import strutils
import sqlalchemy as sa

from nova_delete_ext.conf import protect as protect_conf
from nova_delete_ext import exception
from nova_delete_ext.policies import base
from nova_delete_ext.policies import rules
from nova_delete_ext import record as rec
from nova_delete_ext.record import sysmeta

GROUP = 'delete_ext_protect'


class Protect(base.DeletePolicy):
    """Refuse to delete protected servers."""

    # A protection that was asked for is never silently switched off.
    fail_closed = True

    def register_opts(self, conf):
        protect_conf.register_opts(conf)

    @property
    def _opts(self):
        return self.conf[GROUP]

    @property
    def instance_attrs(self):
        # The servers controller loads no tags for a DELETE; with them
        # asked for, they come in its own query.
        return ('tags',) if self._opts.tag else ()

    def validate(self):
        values = base.read_options(self.conf, GROUP)
        if values['states'] is not None and not values['states']:
            raise exception.ConfigInvalid(
                option='[%s]states' % GROUP,
                reason='lists no vm_state, which would protect nothing; to '
                       'turn protection off, remove protect from '
                       '[delete_ext]policies')
        if not values['metadata_key'] and not values['tag']:
            raise exception.ConfigInvalid(
                option='[%s]metadata_key' % GROUP,
                reason='both metadata_key and tag are empty, so nothing '
                       'could protect a server; to turn protection off, '
                       'remove protect from [delete_ext]policies')

    def protection(self, instance):
        """Why ``instance`` is protected, as ``(reason, how to lift)``.

        None if it is not protected.
        """
        key = self._opts.metadata_key
        if key and key in (instance.metadata or {}):
            value = instance.metadata[key]
            try:
                protected = strutils.bool_from_string(value, strict=True)
            except ValueError:
                return ('its metadata %s=%r is neither true nor false, so '
                        'it is treated as protected' % (key, value),
                        'set %s to false or remove it' % key)
            if protected:
                return ('metadata %s=%s' % (key, value),
                        'set %s to false or remove it' % key)
        tag = self._opts.tag
        if tag and _has_tag(instance, tag):
            return 'tag %s' % tag, 'remove the tag %s' % tag
        return None

    def _check(self, event):
        if not base.applies_in(self._opts.states, event.state.vm_state):
            return None
        return self.protection(event.instance)

    def on_request(self, event):
        found = self._check(event)
        if found is None:
            return None
        reason, lift = found
        if rules.may_bypass_protection(event.context, event.instance):
            sysmeta.put(event.instance, sysmeta.BYPASS_KEY, str(
                getattr(event.context, 'request_id', None) or 'yes'))
            return self.decision('bypassed', detail=reason)
        return self.decision('denied', detail=reason, deny=(
            exception.DeleteProtected(reason=(
                'Server %s is protected from deletion by %s. To delete it, '
                '%s first.' % (event.instance.uuid, reason, lift)))))

    def before_destroy(self, event):
        # An API delete is checked in nova-api, where a bypass is decided
        # with the caller's roles. Here: Nova's own deletes (reclaim,
        # resume), and an API delete nova-api did not check because it runs
        # without this policy.
        if (event.trigger == rec.TRIGGER_API and
                self.name in (event.api_policies or ())):
            return None
        found = self._check(event)
        if found is None:
            return None
        reason, lift = found
        if self._bypassed(event):
            return self.decision('bypassed', detail='%s, at the request'
                                 % reason)
        if event.trigger == rec.TRIGGER_API:
            why = ('nova-api did not check the protection (does it run '
                   'nova-delete-ext with the protect policy?)')
            how = lift
        else:
            why = 'this %s was not asked for by anyone' % event.trigger
            how = 'restore it and %s' % lift
        return self.decision('denied', detail=reason, deny=(
            exception.DeleteProtected(reason=(
                'Not destroying server %s: it is protected by %s, and %s. '
                'To let Nova delete it, %s.' % (
                    event.instance.uuid, reason, why, how)))))

    @staticmethod
    def _bypassed(event):
        """Whether a bypass marker authorises this very delete.

        The marker names the request that bypassed the protection. It
        counts for that request, and for Nova finishing that request's
        delete later (a reclaim, a resume): the instance's last delete
        action is then still that request. A marker left by a delete that
        failed counts for no later one.
        """
        marker = sysmeta.get(event.instance, sysmeta.BYPASS_KEY)
        if marker is None:
            return False
        if event.trigger == rec.TRIGGER_API:
            return marker == getattr(event.context, 'request_id', None)
        actions = objects.InstanceActionList.get_by_instance_uuid(
            event.context, event.instance.uuid)
        for action in actions:  # newest first
            if action.action == instance_actions.DELETE:
                return marker == action.request_id
        return False

    def on_restore(self, event):
        # A bypass was for the delete the restore undoes.
        sysmeta.drop(event.instance, sysmeta.BYPASS_KEY)


def _has_tag(instance, tag):
    """Whether ``instance`` has ``tag``, at the cost of one query at most.

    For a DELETE, the servers controller loaded the tags with the instance
    (see ``instance_attrs``). Otherwise (``forceDelete``, a cell that
    answered with a partial instance, nova-compute) a lazy load of
    ``instance.tags`` would read the instance's row again, then every tag
    into objects that travel with the instance to the compute host. Where
    the cell database is at hand (nova-api), one indexed lookup of this
    tag is enough: the instance was just read with the same context.
    nova-compute asks conductor (``Tag.exists``). A deleted instance has
    no tags, as its lazy load says.
    """
    if instance.obj_attr_is_set('tags'):
        return any(t.tag == tag for t in instance.tags)
    if instance.obj_attr_is_set('deleted') and instance.deleted:
        return False
    # The instance's own context targets its cell; the request's does not.
    context = instance._context
    if obj_base.NovaObject.indirection_api is None:
        return _tag_in_db(context, instance.uuid, tag)
    return objects.Tag.exists(context, instance.uuid, tag)


@main_db.pick_context_manager_reader
def _tag_in_db(context, instance_uuid, tag):
    found = context.session.execute(
        sa.select(models.Tag.tag).where(models.Tag.resource_id ==
                                        instance_uuid,
                                        models.Tag.tag == tag).limit(1))
    return found.first() is not None
