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

"""The record store's tables.

``records`` has one row per record, keyed by the record's ``id``: the
fields an operator filters on as columns, the whole record as JSON in
``body``. Each filter has an index that starts with its column and ends
with ``time``, so ``records list --X value --limit N`` (newest first) reads
only the N rows it prints. ``record_policies`` names the policies of each
record's decisions, one row each, so ``--policy`` is an index lookup too.
``totals`` keeps the counters the collector exports (see
:mod:`nova_delete_ext.collector.totals`).

The migrations in ``migrations/versions`` create the same schema; a test
compares the two.
"""

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy import orm

from nova_delete_ext.collector import schema

BASE = orm.declarative_base()

#: With microseconds on MySQL/MariaDB (whose DATETIME has none by
#: default), so that records of one second keep their order.
DateTime = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql')
#: A record with many leaks outgrows MySQL's TEXT (64 kB).
Body = sa.Text().with_variant(mysql.MEDIUMTEXT(), 'mysql')

_TABLE_ARGS = {'mysql_engine': 'InnoDB', 'mysql_charset': 'utf8mb4'}

#: The columns ``records list`` filters on with an equality, each with an
#: index (column, time).
FILTER_COLUMNS = ('instance_uuid', 'project_id', 'user_id', 'host',
                  'service', 'vm_state', 'task_state', 'path', 'trigger',
                  'outcome')


def _string(name, **kw):
    return sa.Column(name, sa.String(schema.LENGTHS[name]), **kw)


class Record(BASE):
    __tablename__ = 'records'
    __table_args__ = tuple(
        sa.Index('records_%s_time_idx' % column, column, 'time')
        for column in FILTER_COLUMNS) + (
        sa.Index('records_time_idx', 'time'),
        sa.Index('records_delete_id_idx', 'delete_id'),
        sa.Index('records_stored_at_idx', 'stored_at'),
        _TABLE_ARGS)

    id = _string('id', primary_key=True)
    kind = _string('kind', nullable=False)
    #: The delete a check record checked. No foreign key: the check may
    #: arrive before its delete, or its delete may have been purged.
    delete_id = _string('delete_id')
    instance_uuid = _string('instance_uuid', nullable=False)
    project_id = _string('project_id')
    user_id = _string('user_id')
    host = _string('host')
    #: ``api`` or ``compute``: the ``api`` of the record's ``api@host``.
    service = sa.Column(sa.String(16))
    vm_state = _string('vm_state')
    task_state = _string('task_state')
    path = _string('path')
    trigger = _string('trigger')
    delete_type = _string('delete_type')
    outcome = _string('outcome')
    #: ``requested_at`` of a delete, ``checked_at`` of a check, UTC.
    time = sa.Column(DateTime, nullable=False)
    #: When the collector stored it, UTC.
    stored_at = sa.Column(DateTime, nullable=False)
    duration_ms = sa.Column(sa.Double)
    schema_version = _string('schema_version')
    #: The whole record, as JSON.
    body = sa.Column(Body, nullable=False)


class RecordPolicy(BASE):
    """One policy named in one record's decisions."""

    __tablename__ = 'record_policies'
    __table_args__ = (
        sa.Index('record_policies_policy_time_idx', 'policy', 'time'),
        _TABLE_ARGS)

    record_id = sa.Column(
        sa.String(schema.LENGTHS['id']),
        sa.ForeignKey('records.id', name='record_policies_record_id_fkey'),
        primary_key=True)
    policy = sa.Column(sa.String(schema.POLICY_LENGTH), primary_key=True)
    #: The record's time, repeated so that a filter on the policy and a
    #: time range reads this index only.
    time = sa.Column(DateTime, nullable=False)


class Total(BASE):
    """One counter: a metric and its labels, never lowered by a purge."""

    __tablename__ = 'totals'
    __table_args__ = (_TABLE_ARGS,)

    metric = sa.Column(sa.String(128), primary_key=True)
    #: The sorted label pairs as compact JSON, ``[["outcome","deleted"]]``.
    labels = sa.Column(sa.String(512), primary_key=True)
    value = sa.Column(sa.Double, nullable=False)
