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

"""Which resources a delete path releases, and which it leaves in place."""

from nova_delete_ext import record as rec
from nova_delete_ext import states


def plan(state, path, has_volumes=None, soft=False):
    """Return ``(released, retained)`` for a delete from ``state``.

    :param state: the :class:`~nova_delete_ext.states.InstanceState` the
        delete was requested in.
    :param path: one of the ``PATH_*`` values of :mod:`.record`.
    :param has_volumes: whether the instance had volume block device
        mappings, when the path knows; None leaves the state's guess.
    :param soft: a soft delete, which releases nothing and keeps everything
        for a later restore or reclaim.
    """
    held = set(state.may_hold())
    if has_volumes is False:
        held.discard(states.VOLUMES)
    if soft:
        # nova-api deletes the shelve snapshot for any kind of delete.
        snapshot = held & {states.SHELVE_IMAGE}
        return frozenset(snapshot), frozenset(held - snapshot)
    if path == rec.PATH_BUILD_REQUEST:
        # Before a cell has the instance there is nothing but the request,
        # the allocation claimed for it and volumes given at boot.
        released = {states.BUILD_REQUEST, states.ALLOCATIONS}
        return frozenset(released | (held & {states.VOLUMES})), frozenset()
    if path == rec.PATH_LOCAL:
        # nova-api cannot reach a guest on a host that is down: the domain
        # and its disks stay there until that host comes back and reaps them.
        return (frozenset(held - set(states.ON_HYPERVISOR)),
                frozenset(held & set(states.ON_HYPERVISOR)))
    return frozenset(held), frozenset()
