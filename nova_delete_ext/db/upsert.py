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

"""Adding to the counters of the ``totals`` table, one statement per batch.

Two collectors may add to the same counter at once, or create it at once:
an upsert (``INSERT ... ON DUPLICATE KEY UPDATE`` on MySQL/MariaDB, ``ON
CONFLICT DO UPDATE`` on PostgreSQL and SQLite) adds without a lost update
and without a duplicate-key failure. Rows are written in key order, so
two transactions lock them in the same order and cannot deadlock on them.
"""

import importlib

from oslo_serialization import jsonutils

from nova_delete_ext.db import models

_TOTALS = models.Total.__table__


def labels_text(labels):
    """The ``labels`` column of a tuple of label pairs."""
    return jsonutils.dumps([list(pair) for pair in labels],
                           separators=(',', ':'))


def add_totals(session, increments):
    """Add ``{(metric, label pairs): amount}`` to the totals."""
    rows = [{'metric': metric, 'labels': labels_text(labels),
             'value': amount}
            for (metric, labels), amount in sorted(increments.items())]
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    if dialect == 'mysql':
        stmt = _insert(dialect)
        stmt = stmt.on_duplicate_key_update(
            value=_TOTALS.c.value + stmt.inserted.value)
    elif dialect in ('postgresql', 'sqlite'):
        stmt = _insert(dialect)
        stmt = stmt.on_conflict_do_update(
            index_elements=['metric', 'labels'],
            set_={'value': _TOTALS.c.value + stmt.excluded.value})
    else:
        _add_one_by_one(session, rows)
        return
    # One statement with every row: the upsert's VALUES list.
    session.execute(stmt.values(rows))


def _insert(dialect):
    """The dialect's INSERT, its module imported only when used.

    The PostgreSQL dialect alone costs a tenth of a ``records`` command.
    """
    module = importlib.import_module('sqlalchemy.dialects.%s' % dialect)
    return module.insert(_TOTALS)


def _add_one_by_one(session, rows):
    """Any other database: update, or insert when there is no row yet."""
    c = _TOTALS.c
    for row in rows:
        updated = session.execute(
            _TOTALS.update().where(c.metric == row['metric'],
                                   c.labels == row['labels']).values(
                value=c.value + row['value']))
        if not updated.rowcount:
            session.execute(_TOTALS.insert().values(**row))
