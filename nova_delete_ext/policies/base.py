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

"""The interface of a cleanup policy.

A policy is a class derived from :class:`DeletePolicy`, registered in the
``nova_delete_ext.policies`` entry point namespace and enabled by listing
its name in ``[delete_ext]policies``. It is called at up to three moments
of a delete and answers each with a :class:`Decision` or None:

* :meth:`DeletePolicy.on_request`: in nova-api, before Nova acts on an API
  delete. It may refuse the delete or turn it into another kind of delete.
* :meth:`DeletePolicy.before_destroy`: in nova-compute, just before the
  hypervisor destroys the instance, whoever asked (an API request, the
  reclaim of a soft-deleted instance, a delete resumed after a restart).
  It may stop the destroy. With :attr:`DeletePolicy.before_destroy_in_api`
  nova-api asks it first about an API delete.
* :meth:`DeletePolicy.after_delete`: after a delete has finished, on the
  extension's own after-delete workers, never delaying Nova's answer nor
  the delete record, which is written first. What the policies decide
  there goes in a check record of its own (``kind`` ``check``, naming the
  delete record's ``id``); see :mod:`nova_delete_ext.record.after`.
* :meth:`DeletePolicy.on_restore`: in nova-compute, before Nova restores a
  soft-deleted server, for a policy to drop what it stored for the delete.

and asked one question:

* :meth:`DeletePolicy.retention`: in nova-compute's periodic reclaim, how
  long a soft-deleted server is kept. The first policy that answers
  decides; with no answer Nova's ``reclaim_instance_interval`` applies.

What a policy must carry from nova-api to nova-compute it keeps in the
instance's ``system_metadata`` (set in ``on_request``, saved by Nova with
the delete); :mod:`nova_delete_ext.record.sysmeta` lists the entries the
built-in policies use.

Policies never see an exception of another policy, and an exception of
their own is logged and ignored, unless the policy sets ``fail_closed``:
then it refuses the delete it could not decide on.
"""

import abc
import dataclasses
import typing

from oslo_config import cfg

from nova_delete_ext import exception


@dataclasses.dataclass
class Decision:
    """What a policy decided about one delete.

    ``action`` is a short word for the record (``denied``, ``saved``...),
    ``detail`` an optional qualifier; the record lists the decision as
    ``policy:action`` or ``policy:action(detail)``.
    """

    policy: str
    action: str
    detail: str | None = None
    #: nova-api: the exception the request fails with (a subclass of
    #: Nova's ``InstanceIsLocked`` gives 409 Conflict); nova-compute: any
    #: exception, the destroy does not happen.
    deny: Exception | None = None
    #: nova-api: the delete type to do instead (``delete`` or
    #: ``soft_delete``), or ``keep``: do nothing, the server stays as it
    #: is and the request succeeds.
    redirect: str | None = None
    #: Extra fields for the delete record, e.g. ``{'capture': path}``.
    fields: dict = dataclasses.field(default_factory=dict)

    def __str__(self):
        if self.detail:
            return '%s:%s(%s)' % (self.policy, self.action, self.detail)
        return '%s:%s' % (self.policy, self.action)


@dataclasses.dataclass
class DeleteEvent:
    """A delete as a policy sees it."""

    context: typing.Any
    instance: typing.Any
    #: The :class:`~nova_delete_ext.states.InstanceState` at the request.
    state: typing.Any
    delete_type: str
    trigger: str
    #: The :class:`~nova_delete_ext.record.DeleteRecord` being written.
    record: typing.Any = None
    #: nova-compute only: the virt driver that runs the instance.
    driver: typing.Any = None
    #: The Glance image a shelve left, if the instance was shelved.
    shelve_image_id: str | None = None
    #: nova-compute, an API delete: the names of the policies nova-api
    #: applied to it, or None when nova-api did not say (it runs without
    #: the extension, or a release that did not carry them).
    api_policies: tuple | None = None


class DeletePolicy(metaclass=abc.ABCMeta):
    """Base class of cleanup policies.

    :param conf: the service's ``oslo_config.cfg.ConfigOpts``; a policy
        registers its own option group on it in :meth:`register_opts`.
    """

    #: Refuse a delete if this policy fails while deciding on it.
    fail_closed = False

    #: Whether :meth:`before_destroy` can decide in nova-api as well: from
    #: the instance and the request alone, without the virt driver or
    #: anything of the compute host, and changing nothing. nova-api then
    #: asks it before Nova acts on an API delete that destroys the server
    #: (not a soft delete), so that a refusal comes before the steps that
    #: cannot be undone: nova-api deleting a shelved server's snapshot,
    #: confirming a pending resize, marking the server queued for
    #: deletion. The request then fails with 409 Conflict, and
    #: nova-compute does not ask the policy again about a delete nova-api
    #: asked it about.
    before_destroy_in_api = False

    #: Instance fields :meth:`on_request` reads. nova-api's servers
    #: controller then loads them with the instance it reads for a DELETE,
    #: in the same query, instead of a lazy load of their own.
    instance_attrs = ()

    def __init__(self, conf, name=None):
        self.conf = conf
        self.name = name or type(self).__name__.lower()
        self.register_opts(conf)

    def register_opts(self, conf):
        """Register this policy's options on ``conf``; none by default."""

    @abc.abstractmethod
    def validate(self):
        """Check this policy's configuration.

        Called once when the service starts.

        :raises nova_delete_ext.exception.ConfigInvalid: naming the option
            and the value; the service does not start.
        """

    def on_request(self, event):
        """nova-api: an API delete is about to be carried out."""
        return None

    def before_destroy(self, event):
        """nova-compute: the hypervisor is about to destroy the instance.

        Also nova-api, before Nova acts on an API delete, if
        :attr:`before_destroy_in_api` is set (``event.driver`` is then
        None). A refusal here, in nova-compute, comes after nova-api's
        steps that cannot be undone; the fault and the record name them.
        """
        return None

    def after_delete(self, event):
        """After a delete has finished, on the after-delete workers.

        Its decisions go in the delete's check record. A call to another
        service here should have a time limit: the workers are few
        (``[delete_ext]after_delete_workers``) and a check that hangs holds
        one of them.
        """
        return None

    def on_restore(self, event):
        """nova-compute: a soft-deleted server is about to be restored.

        ``event.delete_type`` is ``restore``. Changes to
        ``event.instance`` are saved with the restore.
        """
        return None

    def retention(self, instance):
        """Seconds to keep the soft-deleted ``instance``, or None.

        Asked by nova-compute's periodic reclaim, with the instance as it
        reads it from the database (no request, no context). None leaves
        the decision to the next policy, and in the end to Nova's
        ``[DEFAULT]reclaim_instance_interval``.
        """
        return None

    def decision(self, action, **kwargs):
        """A :class:`Decision` of this policy."""
        return Decision(self.name, action, **kwargs)


def read_options(conf, group):
    """Read every option of ``group``, so that a bad value is found now.

    :raises ConfigInvalid: naming ``[group]option`` and the value oslo.config
        refused.
    """
    values = {}
    for name in conf[group]:
        try:
            values[name] = conf[group][name]
        except (cfg.Error, ValueError) as exc:
            reason = str(exc)
            # Keep what oslo.config says about the value, not its location.
            reason = reason.split(' is not valid: ', 1)[-1]
            raise exception.ConfigInvalid(
                option='[%s]%s' % (group, name), reason=reason)
    return values


def applies_in(states, vm_state):
    """Whether an option listing vm_states (None: all of them) covers one."""
    return states is None or vm_state in states
