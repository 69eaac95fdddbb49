"""Authorization rules of nova-delete-ext, as oslo.policy defaults in code.

The rules are read from Nova's policy file (``[oslo_policy]policy_file``
of ``nova.conf``), so operators override them next to Nova's own rules.
``oslopolicy-sample-generator --namespace nova_delete_ext`` prints them.
"""

from oslo_log import log as logging
from oslo_policy import policy

from nova_delete_ext import conf as ext_conf

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

_ENFORCER = None


def list_rules():
    """The ``oslo.policy.policies`` entry point."""
    return list(_RULES)


def get_enforcer():
    """The ``oslo.policy.enforcer`` entry point, and the one we use."""
    global _ENFORCER
    if _ENFORCER is None:
        enforcer = policy.Enforcer(ext_conf.CONF)
        enforcer.register_defaults(list_rules())
        _ENFORCER = enforcer
    return _ENFORCER


def reset():
    """Forget the enforcer, so the policy file is read again (tests)."""
    global _ENFORCER
    _ENFORCER = None


def may_bypass_protection(context, instance):
    """Whether ``context`` may delete ``instance`` despite its protection.

    Any failure to evaluate the rule (an unreadable policy file, a token of
    the wrong scope) means no: protection stays on.
    """
    target = {'project_id': instance.project_id,
              'user_id': instance.user_id}
    try:
        return get_enforcer().authorize(
            PROTECT_BYPASS, target, context.to_policy_values(),
            do_raise=False)
    except Exception as exc:
        LOG.warning('Could not evaluate the %s rule (%s); the protection '
                    'stays on.', PROTECT_BYPASS, exc, instance=instance)
        return False
