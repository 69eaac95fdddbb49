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

"""Which records ``nova-delete-ext records list`` shows, and in what order.

One :class:`Filters` serves both sources: the store turns it into SQL
(:mod:`nova_delete_ext.db.api`), the record files are filtered with
:meth:`Filters.matches`, so both give the same answer.
"""

import dataclasses
import datetime

from nova_delete_ext.collector import schema

#: Filter name -> the record field (and store column) it compares with.
FIELDS = {
    'server': 'instance_uuid',
    'project': 'project_id',
    'user': 'user_id',
    'host': 'host',
    'vm_state': 'vm_state',
    'path': 'path',
    'outcome': 'outcome',
}


@dataclasses.dataclass(frozen=True)
class Filters:
    """Equalities on record fields and a time range ``[since, until)``.

    Times are naive UTC datetimes, as :func:`.schema.time_of` gives them.
    ``None`` means no filter.
    """

    server: str | None = None
    project: str | None = None
    user: str | None = None
    host: str | None = None
    vm_state: str | None = None
    path: str | None = None
    outcome: str | None = None
    policy: str | None = None
    since: datetime.datetime | None = None
    until: datetime.datetime | None = None

    def equalities(self):
        """``{record field: value}`` of the equality filters given."""
        return {field: getattr(self, name)
                for name, field in FIELDS.items()
                if getattr(self, name) is not None}

    def matches(self, record):
        """Whether the parsed ``record`` passes every filter."""
        for field, value in self.equalities().items():
            if record.get(field) != value:
                return False
        if self.policy is not None and (
                self.policy not in schema.policies_of(record)):
            return False
        time = schema.time_of(record)
        if self.since is not None and time < self.since:
            return False
        if self.until is not None and time >= self.until:
            return False
        return True


def sort_key(record):
    """Records sorted by this key, reversed, are newest first.

    Records of the same time come in the order of their ids, as the
    store returns them.
    """
    return schema.time_of(record), record['id']
