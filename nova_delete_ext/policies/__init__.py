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

"""Cleanup policies: loading them, and running them at each moment.

:func:`load` builds the :class:`PolicyChain` that ``[delete_ext]policies``
names, from the ``nova_delete_ext.policies`` entry point namespace, and
validates every policy's configuration. The hooks run the active chain
(:func:`active`), which :func:`set_active` replaces.
"""

from oslo_log import log as logging
from stevedore import named

from nova_delete_ext import conf as ext_conf
from nova_delete_ext import deadline
from nova_delete_ext import exception
from nova_delete_ext.policies import base
from nova_delete_ext import record as rec

LOG = logging.getLogger(__name__)

NAMESPACE = 'nova_delete_ext.policies'


class PolicyChain:
    """The enabled policies, in the configured order."""

    def __init__(self, policies=(), timeout=None):
        self.policies = tuple(policies)
        #: Seconds each policy may take on the delete path; None: no limit.
        self.timeout = timeout
        self._after = tuple(
            p for p in self.policies
            if type(p).after_delete is not base.DeletePolicy.after_delete)

    @property
    def fails_closed(self):
        """Whether some policy refuses deletes it cannot decide on."""
        return any(p.fail_closed for p in self.policies)

    @property
    def names(self):
        return [p.name for p in self.policies]

    @property
    def api_names(self):
        """The policies that decide in nova-api, where it applies them."""
        return [p.name for p in self.policies
                if p.before_destroy_in_api or
                type(p).on_request is not base.DeletePolicy.on_request]

    @property
    def instance_attrs(self):
        """Instance fields the policies read at a request, to load with it."""
        return tuple(sorted({attr for p in self.policies
                             for attr in p.instance_attrs}))

    def _run(self, method, event, instance, policies=None):
        decisions = []
        for policy in self.policies if policies is None else policies:
            try:
                decision = deadline.call(self.timeout, policy.name,
                                         _in_request(policy, method),
                                         event)
            except Exception as exc:
                LOG.exception('nova-delete-ext policy %s failed in %s.',
                              policy.name, method, instance=instance)
                if not policy.fail_closed:
                    continue
                decision = policy.decision(
                    'denied', detail='error',
                    deny=exception.DeleteProtected(reason=(
                        'The %s policy could not decide whether this server '
                        'may be deleted (%s: %s), so it was not deleted. '
                        'Try again; if this persists, contact your cloud '
                        'operator.' % (policy.name, type(exc).__name__,
                                       exc))))
            if decision is not None:
                decisions.append(decision)
                if decision.deny is not None:
                    break
        return decisions

    def on_request(self, event):
        """Decisions on an API delete; the last one may deny it."""
        return self._run('on_request', event, event.instance)

    def before_destroy(self, event):
        """Decisions before a destroy; the last one may deny it.

        Not of the policies nova-api asked already about this API delete
        (see :meth:`before_destroy_in_api`).
        """
        asked = ()
        if event.trigger == rec.TRIGGER_API and event.api_policies:
            asked = event.api_policies
        return self._run('before_destroy', event, event.instance, [
            p for p in self.policies
            if not (p.before_destroy_in_api and p.name in asked)])

    @property
    def destroys_checked_in_api(self):
        """Whether some policy's ``before_destroy`` runs in nova-api too."""
        return any(p.before_destroy_in_api for p in self.policies)

    def before_destroy_in_api(self, event):
        """nova-api: the ``before_destroy`` decisions it can take itself."""
        return self._run('before_destroy', event, event.instance, [
            p for p in self.policies if p.before_destroy_in_api])

    @property
    def acts_after_delete(self):
        """Whether some policy acts after a delete has finished."""
        return bool(self._after)

    def after_delete(self, event):
        """Decisions after a delete; a failing policy is logged, skipped.

        Called on the extension's after-delete workers; the decisions go
        into the delete's check record.
        """
        return self._each(self._after, 'after_delete', event)

    def on_restore(self, event):
        """Decisions before a restore; a failing policy is logged, skipped.

        Nova waits for them: each has the time limit of the delete path.
        """
        return self._each(self.policies, 'on_restore', event, self.timeout)

    def retention(self, instance):
        """Seconds to keep a soft-deleted instance: the first answer.

        Asked on nova-compute's periodic task, which every other periodic
        task waits for: each policy has the time limit of the delete path.
        """
        for policy in self.policies:
            try:
                seconds = deadline.call(self.timeout, policy.name,
                                        policy.retention, instance)
            except Exception:
                LOG.exception('nova-delete-ext policy %s failed to tell the '
                              'retention; asking the next one.', policy.name,
                              instance=instance)
                continue
            if seconds is not None:
                return seconds
        return None

    @staticmethod
    def _each(policies, method, event, timeout=None):
        decisions = []
        for policy in policies:
            try:
                decision = deadline.call(timeout, policy.name,
                                         _in_request(policy, method),
                                         event)
            except Exception:
                LOG.exception('nova-delete-ext policy %s failed in %s.',
                              policy.name, method, instance=event.instance)
                continue
            if decision is not None:
                decisions.append(decision)
        return decisions


def _in_request(policy, method):
    """``policy``'s ``method``, logging with the request's context.

    Named after the moment, as the time limit's errors say.
    """
    moment = getattr(policy, method)

    def run(event):
        update_store = getattr(event.context, 'update_store', None)
        if update_store is not None:
            update_store()
        return moment(event)
    run.__name__ = method
    return run


_ACTIVE = PolicyChain()


def active():
    """The chain the hooks run in this process."""
    return _ACTIVE


def fail_open():
    """Whether a delete may go ahead unchecked when checking it failed.

    Not while a policy that fails closed is enabled: the hooks where the
    policies decide then fail the delete rather than skip them.
    """
    return not _ACTIVE.fails_closed


def set_active(chain):
    """Make ``chain`` the active one; return the one it replaces."""
    global _ACTIVE
    previous, _ACTIVE = _ACTIVE, chain
    return previous


def load(conf):
    """Load and validate the policies ``[delete_ext]policies`` names.

    :raises nova_delete_ext.exception.ConfigInvalid: an unknown or repeated
        name, a policy that cannot be loaded, or a policy whose options
        are not valid.
    """
    ext_conf.register_opts(conf)
    names = conf.delete_ext.policies
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise exception.ConfigInvalid(
            option='[delete_ext]policies',
            reason='%s listed more than once' % ', '.join(repeated))
    if not names:
        return PolicyChain()
    missing = []
    failed = []

    def on_failure(manager, entrypoint, exc):
        failed.append('%s (%s: %s)' % (entrypoint.name,
                                       type(exc).__name__, exc))

    manager = named.NamedExtensionManager(
        NAMESPACE, names, name_order=True, invoke_on_load=True,
        invoke_args=(conf,), invoke_kwds={},
        on_missing_entrypoints_callback=missing.extend,
        on_load_failure_callback=on_failure)
    if missing:
        known = sorted(named.ExtensionManager(NAMESPACE).names())
        raise exception.ConfigInvalid(
            option='[delete_ext]policies',
            reason='unknown policy %s; installed policies: %s' % (
                ', '.join(repr(n) for n in sorted(missing)),
                ', '.join(known)))
    if failed:
        raise exception.ConfigInvalid(
            option='[delete_ext]policies',
            reason='could not load %s' % '; '.join(failed))
    policies = []
    for extension in manager:
        policy = extension.obj
        if not isinstance(policy, base.DeletePolicy):
            raise exception.ConfigInvalid(
                option='[delete_ext]policies',
                reason='%s is not a nova_delete_ext DeletePolicy'
                       % extension.name)
        policy.name = extension.name
        policy.validate()
        policies.append(policy)
    return PolicyChain(policies, timeout=conf.delete_ext.policy_timeout)
