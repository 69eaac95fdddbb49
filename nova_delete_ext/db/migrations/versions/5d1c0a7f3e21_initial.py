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

"""The first schema: records, their policies and the totals.

Revision ID: 5d1c0a7f3e21
Revises:
Create Date: 2026-10-20 09:00:00
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

# revision identifiers, used by Alembic.
revision = '5d1c0a7f3e21'
down_revision = None
branch_labels = None
depends_on = None

# The types as they were at this revision (not imported from the models,
# which may change in later revisions).
DateTime = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql')
Body = sa.Text().with_variant(mysql.MEDIUMTEXT(), 'mysql')
TABLE_ARGS = {'mysql_engine': 'InnoDB', 'mysql_charset': 'utf8mb4'}
FILTER_COLUMNS = ('instance_uuid', 'project_id', 'user_id', 'host',
                  'service', 'vm_state', 'task_state', 'path', 'trigger',
                  'outcome')


def upgrade():
    op.create_table(
        'records',
        sa.Column('id', sa.String(64), primary_key=True),
        sa.Column('kind', sa.String(16), nullable=False),
        sa.Column('delete_id', sa.String(64)),
        sa.Column('instance_uuid', sa.String(36), nullable=False),
        sa.Column('project_id', sa.String(255)),
        sa.Column('user_id', sa.String(255)),
        sa.Column('host', sa.String(255)),
        sa.Column('service', sa.String(16)),
        sa.Column('vm_state', sa.String(64)),
        sa.Column('task_state', sa.String(64)),
        sa.Column('path', sa.String(32)),
        sa.Column('trigger', sa.String(32)),
        sa.Column('delete_type', sa.String(32)),
        sa.Column('outcome', sa.String(32)),
        sa.Column('time', DateTime, nullable=False),
        sa.Column('stored_at', DateTime, nullable=False),
        sa.Column('duration_ms', sa.Double),
        sa.Column('schema_version', sa.String(16)),
        sa.Column('body', Body, nullable=False),
        **TABLE_ARGS)
    for column in FILTER_COLUMNS:
        op.create_index('records_%s_time_idx' % column, 'records',
                        [column, 'time'])
    op.create_index('records_time_idx', 'records', ['time'])
    op.create_index('records_delete_id_idx', 'records', ['delete_id'])
    op.create_index('records_stored_at_idx', 'records', ['stored_at'])

    op.create_table(
        'record_policies',
        sa.Column('record_id', sa.String(64),
                  sa.ForeignKey('records.id',
                                name='record_policies_record_id_fkey'),
                  primary_key=True),
        sa.Column('policy', sa.String(64), primary_key=True),
        sa.Column('time', DateTime, nullable=False),
        **TABLE_ARGS)
    op.create_index('record_policies_policy_time_idx', 'record_policies',
                    ['policy', 'time'])

    op.create_table(
        'totals',
        sa.Column('metric', sa.String(128), primary_key=True),
        sa.Column('labels', sa.String(512), primary_key=True),
        sa.Column('value', sa.Double, nullable=False),
        **TABLE_ARGS)
