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

"""The record store's models and migrations agree, on SQLite and MariaDB.

oslo.db's ``ModelsMigrationsSync`` runs the migrations on an empty
database and compares what they made with the models (tables, columns,
types, indexes, foreign keys). The MariaDB/MySQL case runs when
``NDE_TEST_MYSQL_URL`` gives a server and is skipped otherwise.
"""

from oslo_db.sqlalchemy import test_migrations

from nova_delete_ext.db import migration
from nova_delete_ext.db import models
from nova_delete_ext.tests.unit import base
from nova_delete_ext.tests.unit import store_fixtures as sf


class _ModelsMigrationsSync(test_migrations.ModelsMigrationsSync):
    backend = None

    def setUp(self):
        super().setUp()
        self.database = self.useFixture(sf.Database(self.backend,
                                                    sync=False))

    def get_engine(self):
        return self.database.store.get_engine()

    def get_metadata(self):
        return models.BASE.metadata

    def db_sync(self, engine):
        migration.db_sync(engine)


class ModelsMigrationsSyncSQLite(_ModelsMigrationsSync, base.TestCase):
    backend = 'sqlite'


class ModelsMigrationsSyncMySQL(_ModelsMigrationsSync, base.TestCase):
    backend = 'mysql'


class MigrationTest(base.TestCase):

    def test_sync_and_version(self):
        database = self.useFixture(sf.Database(sync=False))
        self.assertIsNone(migration.db_version(database.url))
        migration.db_sync(database.url)
        self.assertEqual(migration.head_version(),
                         migration.db_version(database.url))
        # Again: nothing to do.
        migration.db_sync(database.url)
        self.assertEqual(migration.head_version(),
                         migration.db_version(database.url))
