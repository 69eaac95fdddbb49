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

"""Records and record databases for the tests of the store and ``records``.

The store is tested on SQLite in a temporary file, and on MariaDB/MySQL
when ``NDE_TEST_MYSQL_URL`` gives a server (an admin URL such as
``mysql+pymysql://root:secret@127.0.0.1:3306/``): each test then gets a
database of its own, dropped at its end.
"""

import os
import unittest
import uuid

import fixtures
from oslo_db.sqlalchemy import provision
import sqlalchemy as sa

from nova_delete_ext.collector import schema
from nova_delete_ext.db import api as db_api
from nova_delete_ext.db import migration

MYSQL_URL_VAR = 'NDE_TEST_MYSQL_URL'
SKIP_REASON = ('%s is not set: no MariaDB/MySQL server to test on (give an '
               'admin URL, e.g. mysql+pymysql://root:secret@127.0.0.1:3306/)'
               % MYSQL_URL_VAR)
SERVER = '5f6d1b3a-3c1e-4c85-9f3a-1e2b8a1d2c3e'


def delete_record(**updates):
    """A parsed delete record, as the notification sink sends it."""
    payload = {
        'schema_version': '1.1', 'kind': 'delete', 'id': str(uuid.uuid4()),
        'instance_uuid': SERVER, 'project_id': 'project-a',
        'user_id': 'user-a', 'request_id': 'req-1', 'vm_state': 'active',
        'task_state': None, 'power_state': 'running', 'host': 'cmp1',
        'delete_type': 'delete', 'trigger': 'api',
        'requested_at': '2026-03-12T10:00:00+00:00', 'path': 'compute',
        'outcome': 'deleted', 'released': ['allocations', 'disks'],
        'retained': [], 'steps': [], 'decisions': [],
        'duration_ms': 412.5, 'recorded_by': 'compute@cmp1'}
    payload.update(updates)
    return schema.parse(payload)


def check_record(delete, **updates):
    """A parsed check record of the parsed ``delete``."""
    payload = {
        'schema_version': '1.1', 'kind': 'check', 'id': str(uuid.uuid4()),
        'delete_id': delete['id'], 'instance_uuid': delete['instance_uuid'],
        'project_id': delete['project_id'], 'user_id': delete['user_id'],
        'request_id': delete['request_id'],
        'delete_type': delete['delete_type'], 'trigger': delete['trigger'],
        'path': delete['path'], 'outcome': 'checked',
        'decisions': ['verify:found(ports)'], 'duration_ms': 80.0,
        'recorded_by': 'api@ctl1',
        'checked_at': '2026-03-12T10:00:30+00:00',
        'leaks': [{'kind': 'ports', 'instance_uuid': delete['instance_uuid'],
                   'resource_id': 'port-1', 'detail': 'bound'}],
        'repaired': ['ports:port-1']}
    payload.update(updates)
    return schema.parse(payload)


def mysql_url():
    return os.environ.get(MYSQL_URL_VAR)


class Database(fixtures.Fixture):
    """An empty record database; ``url`` and, once synced, ``store``.

    :param backend: ``sqlite`` or ``mysql``; the test is skipped for
        ``mysql`` without ``NDE_TEST_MYSQL_URL``.
    :param sync: run ``db sync`` and make ``self.store``.
    """

    def __init__(self, backend='sqlite', sync=True):
        super().__init__()
        self.backend = backend
        self.sync = sync

    def _setUp(self):
        if self.backend == 'sqlite':
            folder = self.useFixture(fixtures.TempDir()).path
            self.url = 'sqlite:///%s' % os.path.join(folder, 'records.sqlite')
        else:
            self.url = self._provision_mysql()
        self.store = db_api.Store(self.url)
        self.addCleanup(self.store.get_engine().dispose)
        if self.sync:
            migration.db_sync(self.store.get_engine())

    def _provision_mysql(self):
        admin_url = mysql_url()
        if not admin_url:
            raise unittest.SkipTest(SKIP_REASON)
        engine = sa.create_engine(admin_url, poolclass=sa.pool.NullPool)
        impl = provision.BackendImpl.impl('mysql')
        name = 'nde_test_%s' % uuid.uuid4().hex[:12]
        impl.create_named_database(engine, name)
        self.addCleanup(impl.drop_named_database, engine, name)
        return impl.provisioned_database_url(
            engine.url, name).render_as_string(hide_password=False)
