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

"""Every resource provider's allocations, read from placement.

Placement has no query by many consumers: a sweep, as ``nova-manage
placement audit``, reads the allocations of each provider, one request per
provider. A placement that runs several worker processes answers several
of those requests side by side: on the cloud of ``tools/cloud`` with two
workers, fifty providers were read in about half the time four requests
at a time (see the administrator guide, "Performance").
"""

import collections
import threading

from nova_delete_ext import exception

#: Requests to placement at a time, by default.
DEFAULT_CONCURRENCY = 4


class ListingFailed(exception.DeleteExtError):
    msg_fmt = 'Could not list %(what)s: %(reason)s'


def allocations_by_consumer(context, clients,
                            concurrency=DEFAULT_CONCURRENCY):
    """``{consumer: {rp_uuid: {'resources': ...}}}`` over every provider.

    One request per provider, ``concurrency`` of them at a time: a
    placement with several worker processes answers them side by side.
    Each request runs with the time limit of ``clients``; a listing runs
    on ``concurrency`` threads, however many providers there are.
    """
    uuids = _provider_uuids(context, clients.placement)
    pending = _Pending(uuids)
    readers = []
    read = {}
    try:
        for _ in range(min(concurrency, len(uuids))):
            readers.append(clients.start('placement', _read_providers,
                                         context, clients.placement,
                                         pending))
        for reader in readers:
            read.update(reader.result())
    finally:
        # After a failure (or with too many calls hanging to start them
        # all), the other readers stop at their next request; one still
        # waiting for an answer is given up.
        pending.stop()
        for reader in readers:
            reader.give_up()
    index = collections.defaultdict(dict)
    # In the providers' order, whichever reader read each.
    for uuid in uuids:
        for consumer, alloc in read[uuid].items():
            index[consumer][uuid] = {
                'resources': alloc.get('resources') or {}}
    return index


def _provider_uuids(context, placement):
    resp = placement.get('/resource_providers', version='1.14',
                         global_request_id=context.global_id)
    if not resp:
        raise ListingFailed(what='resource providers',
                            reason=getattr(resp, 'text', 'no answer'))
    return [provider['uuid']
            for provider in resp.json()['resource_providers']]


class _Pending:
    """Provider uuids handed out one at a time, to several readers."""

    def __init__(self, uuids):
        self._uuids = iter(uuids)
        self._lock = threading.Lock()
        self._stopped = False

    def __iter__(self):
        return self

    def __next__(self):
        with self._lock:
            if self._stopped:
                raise StopIteration
            return next(self._uuids)

    def stop(self):
        """No more uuids: one reader failed, the others end early."""
        with self._lock:
            self._stopped = True


def _read_providers(context, placement, uuids):
    """``{rp_uuid: {consumer: allocation}}`` of the providers ``uuids``."""
    return {uuid: placement.get_allocations_for_resource_provider(
        context, uuid).allocations for uuid in uuids}
