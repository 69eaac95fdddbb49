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

"""The store's SQL statements: listings, check records, purge batches.

Each listing orders by the time of the index it reads (``records``'s, or
``record_policies``'s for ``--policy``), then by id, newest first, so the
database reads the index backwards and stops at the limit.
"""

import sqlalchemy as sa

from nova_delete_ext.db import models

_RECORDS = models.Record.__table__
_POLICIES = models.RecordPolicy.__table__


def listing(filters, limit=None):
    """SELECT the bodies of the records that pass ``filters``."""
    r = _RECORDS.c
    stmt = sa.select(r.body)
    for field, value in filters.equalities().items():
        stmt = stmt.where(r[field] == value)
    if filters.policy is not None:
        p = _POLICIES.c
        stmt = stmt.join(_POLICIES, p.record_id == r.id).where(
            p.policy == filters.policy)
        time, record_id = p.time, p.record_id
    else:
        time, record_id = r.time, r.id
    if filters.since is not None:
        stmt = stmt.where(time >= filters.since)
    if filters.until is not None:
        stmt = stmt.where(time < filters.until)
    stmt = stmt.order_by(time.desc(), record_id.desc())
    if limit:
        stmt = stmt.limit(limit)
    return stmt


def checks_of(delete_id):
    """SELECT the bodies of the check records of one delete, oldest first."""
    r = _RECORDS.c
    return sa.select(r.body).where(r.delete_id == delete_id).order_by(
        r.time, r.id)


def purge_batch(session, before, batch_size):
    """Delete up to ``batch_size`` of the records older than ``before``.

    The oldest go first, with their policy rows; returns how many.
    """
    r = _RECORDS.c
    ids = session.scalars(sa.select(r.id).where(r.time < before).order_by(
        r.time).limit(batch_size)).all()
    if ids:
        session.execute(_POLICIES.delete().where(
            _POLICIES.c.record_id.in_(ids)))
        session.execute(_RECORDS.delete().where(r.id.in_(ids)))
    return len(ids)
