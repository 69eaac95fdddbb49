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

"""The hook on a delete nova-compute completes at start-up.

``ComputeManager._delete_instance`` saves vm_state ``deleted`` once the
hypervisor has destroyed the guest and Nova has released its ports and
volumes, then drops the placement allocations and destroys the instance in
the database. A nova-compute that dies between the two leaves an instance
in vm_state ``deleted`` that is not destroyed, and its next start finishes
the delete in ``_complete_partial_deletion`` (called by ``_init_instance``),
not in ``_delete_instance``: without this hook that delete had no record
at all (the attempt that died never wrote one).

No policy is asked before it: the guest is gone already and nothing is
left to refuse. The record says trigger ``resume``, and the after-delete
policies (``verify``) check what the delete left behind.
"""

import functools

from nova import exception as nova_exception

from nova_delete_ext.hooks import decide
from nova_delete_ext.hooks import installer
from nova_delete_ext import record as rec
from nova_delete_ext.record import attempt as attempt_mod
from nova_delete_ext import states

MANAGER = 'nova.compute.manager.ComputeManager'

#: What completing the delete releases: the allocations (and the database
#: row); the rest was released before nova-compute died.
RELEASED = (states.ALLOCATIONS,)


def _complete_partial_deletion(original, self, context, instance,
                               unhooked=False):
    """Record Nova's completion; ``unhooked``: as the hook's fallback."""
    attempt = attempt_mod.begin(context, instance, rec.DELETE,
                                rec.TRIGGER_RESUME, 'compute',
                                unhooked=unhooked)
    if attempt is None:
        return original(self, context, instance)
    with attempt.guard():
        attempt.driver = self.driver
    try:
        result = original(self, context, instance)
    except nova_exception.InstanceNotFound:
        attempt.finish(rec.ALREADY_DELETED, path=rec.PATH_COMPUTE)
        raise
    except Exception as exc:
        attempt.finish(rec.FAILED, path=rec.PATH_COMPUTE, error=exc)
        raise
    attempt.finish(rec.DELETED, path=rec.PATH_COMPUTE, released=RELEASED,
                   then=None if unhooked else decide.after_delete())
    return result


HOOK_POINTS = (
    installer.HookPoint(
        MANAGER, '_complete_partial_deletion', '(self, context, instance)',
        _complete_partial_deletion,
        # The same, marked as unhooked, without the after-delete policies.
        fallback=functools.partial(_complete_partial_deletion,
                                   unhooked=True)),
)
