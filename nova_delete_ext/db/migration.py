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

"""Schema migrations of the record store, with alembic, as Nova's.

``db_sync`` runs the migrations on a connection of the store's oslo.db
engine (rather than one alembic would open from a URL), as
``nova.db.migration`` does; there is no ``alembic.ini``: the configuration
is built here.
"""

import os

from oslo_db.sqlalchemy import enginefacade
from oslo_log import log as logging
import sqlalchemy as sa

LOG = logging.getLogger(__name__)

_MIGRATIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                           'migrations')

#: Every revision of ``migrations/versions``, oldest first. Known here so
#: that checking a database's revision (the collector's start, every
#: ``records`` command) does not import alembic and read its scripts; a
#: unit test keeps it equal to alembic's history.
REVISIONS = ('5d1c0a7f3e21',)

# alembic's own table, with the revision the database is at.
_VERSION_TABLE = sa.table('alembic_version', sa.column('version_num'))


def _config():
    from alembic import config as alembic_config

    config = alembic_config.Config()
    config.set_main_option('script_location', _MIGRATIONS)
    # The logging of the command that runs us, not alembic's own.
    config.attributes['configure_logger'] = False
    return config


def _engine(connection):
    """An engine of ``connection``: an engine, or a URL for a new facade."""
    if not isinstance(connection, str):
        return connection
    facade = enginefacade.transaction_context()
    facade.configure(connection=connection)
    return facade.writer.get_engine()


def script_revisions():
    """The revisions of alembic's scripts, oldest first."""
    from alembic import script as alembic_script

    script = alembic_script.ScriptDirectory.from_config(_config())
    return tuple(reversed([rev.revision for rev in script.walk_revisions()]))


def db_sync(connection, revision='head'):
    """Upgrade the database to ``revision`` (the newest by default)."""
    from alembic import command as alembic_command

    engine = _engine(connection)
    config = _config()
    LOG.info('Upgrading the record database to %s', revision)
    with engine.begin() as conn:
        config.attributes['connection'] = conn
        alembic_command.upgrade(config, revision)


def db_version(connection):
    """The database's revision, or None when it has no schema yet."""
    with _engine(connection).connect() as conn:
        if not sa.inspect(conn).has_table('alembic_version'):
            return None
        return conn.scalar(sa.select(_VERSION_TABLE.c.version_num))


def head_version():
    """The newest revision this code knows."""
    return REVISIONS[-1]


def is_older(revision):
    """Whether ``revision`` is older than :func:`head_version`.

    A revision this code does not know is taken as newer (a newer release
    ran ``db sync``): its schema only adds to ours.
    """
    return revision is None or revision in REVISIONS[:-1]
