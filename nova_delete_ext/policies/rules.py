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

"""Authorization rules of nova-delete-ext, registered on Nova's enforcer.

The rules are defaults in code, added to the oslo.policy enforcer Nova
itself uses, so they are read from Nova's policy file
(``[oslo_policy]policy_file`` of ``nova.conf``) and may use any of Nova's
rules there (``rule:admin_api``, ``rule:project_member_api``...).
``oslopolicy-sample-generator --namespace nova --namespace
nova_delete_ext`` prints Nova's sample with them.
"""

from nova import policy as nova_policy
from oslo_log import log as logging
from oslo_policy import policy

LOG = logging.getLogger(__name__)

PROTECT_BYPASS = 'delete_ext:protect:bypass'

_RULES = [
    policy.DocumentedRuleDefault(
        name=PROTECT_BYPASS,
        check_str='!',
        description=(
            'Delete a server that the protect policy protects, without '
            'lifting the protection first. The default lets nobody, not '
            'even an admin: protection is lifted with an ordinary metadata '
            'or tag change, as termination protection is on public clouds. '
            'Every bypass is written to the delete record.'),
        operations=[
            {'method': 'DELETE', 'path': '/servers/{server_id}'},
            {'method': 'POST',
             'path': '/servers/{server_id}/action (forceDelete)'},
        ],
        scope_types=['project']),
]


def list_rules():
    """The ``oslo.policy.policies`` entry point."""
    return list(_RULES)


def register(enforcer):
    """Add the rules to ``enforcer`` unless it has them; idempotent."""
    for rule in _RULES:
        if rule.name not in enforcer.registered_rules:
            try:
                enforcer.register_default(rule)
            except policy.DuplicatePolicyError:
                pass  # another thread registered it meanwhile


def nova_enforcer():
    """Nova's enforcer, with the rules of nova-delete-ext registered."""
    # Nova builds its enforcer on first use and again after a reset (its
    # tests reset it often): check on every use that the rules are there.
    nova_policy.init()
    enforcer = nova_policy._ENFORCER
    register(enforcer)
    return enforcer


def get_enforcer():
    """The ``oslo.policy.enforcer`` entry point: Nova's, with our rules."""
    enforcer = nova_policy.get_enforcer()
    register(enforcer)
    return enforcer


def may_bypass_protection(context, instance):
    """Whether ``context`` may delete ``instance`` despite its protection.

    Checked like Nova checks its own rules (``context.can``). Any failure
    to evaluate the rule (an unreadable policy file, a token of the wrong
    scope) means no: protection stays on.
    """
    target = {'project_id': instance.project_id,
              'user_id': instance.user_id}
    try:
        nova_enforcer()
        return bool(context.can(PROTECT_BYPASS, target, fatal=False))
    except Exception as exc:
        LOG.warning('Could not evaluate the %s rule (%s); the protection '
                    'stays on.', PROTECT_BYPASS, exc, instance=instance)
        return False
