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

"""The alembic environment of the record store's migrations.

``nova-delete-ext db sync`` runs it on a connection of its own engine
(oslo.db's engine facade), given in ``config.attributes['connection']``,
as Nova's ``nova-manage db sync`` does; run from the ``alembic`` command
line, it opens the ``sqlalchemy.url`` of the configuration.
"""

from alembic import context
import sqlalchemy as sa

from nova_delete_ext.db import models

config = context.config
target_metadata = models.BASE.metadata


def _run(connection):
    # render_as_batch: SQLite alters a table by copying it.
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    connection = config.attributes.get('connection')
    if connection is not None:
        _run(connection)
        return
    engine = sa.create_engine(config.get_main_option('sqlalchemy.url'),
                              poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        _run(connection)


if context.is_offline_mode():
    raise RuntimeError('nova-delete-ext migrations run online only')
run_migrations_online()
