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

"""Keystone under gunicorn, fernet tokens; the service users and the
catalog of every other service (their ``USER`` and ``CATALOG``)."""

import os

from functions import http
from functions import http_ok
from functions import ini
from functions import once
from functions import run
from functions import write
from lib import mariadb
import processes
from settings import BIN
from settings import DATA
from settings import ETC
from settings import PASSWORD
from settings import PORTS
from settings import REGION
from settings import url

APT_PACKAGES = {}
PIP_PACKAGES = ['keystone']
PROCESSES = ['keystone']

CONF = os.path.join(ETC, 'keystone', 'keystone.conf')
_MANAGE = [os.path.join(BIN, 'keystone-manage'), '--config-file', CONF]
_KEYS = ('fernet-keys', 'credential-keys')


def keystone_auth(user, project='service'):
    """The options of a password login as ``user`` (keystoneauth's)."""
    return [('auth_type', 'password'),
            ('auth_url', url('keystone', '/v3')),
            ('username', user), ('password', PASSWORD),
            ('user_domain_name', 'Default'),
            ('project_name', project),
            ('project_domain_name', 'Default')]


def authtoken(user):
    """The ``[keystone_authtoken]`` section of a service's configuration."""
    return ('keystone_authtoken', [
        ('www_authenticate_uri', url('keystone', '/v3')),
        ('service_token_roles_required', 'true'),
    ] + keystone_auth(user))


def configure(state):
    write(CONF, ini([
        ('DEFAULT', [('use_stderr', 'true')]),
        ('database', [('connection', mariadb.url(state, 'keystone'))]),
        # bcrypt's fewest rounds: every Tempest run creates users and
        # authenticates them; at the default 12 rounds each password check
        # costs about 0.3 s of CPU on this 2-core machine. Test cloud only.
        ('identity', [('password_hash_rounds', '4')]),
        ('token', [('provider', 'fernet')]),
        ('fernet_tokens', [('key_repository',
                            os.path.join(DATA, 'keystone', _KEYS[0]))]),
        ('credential', [('key_repository',
                         os.path.join(DATA, 'keystone', _KEYS[1]))]),
    ]))
    for d in _KEYS:
        os.makedirs(os.path.join(DATA, 'keystone', d), exist_ok=True)


def init(state):
    once(state, 'keystone-db', run, _MANAGE + ['db_sync'], 'keystone-manage')
    for keys, command in zip(_KEYS, ('fernet_setup', 'credential_setup')):
        if not os.listdir(os.path.join(DATA, 'keystone', keys)):
            run(_MANAGE + [command, '--keystone-user', 'root',
                           '--keystone-group', 'root'], log='keystone-manage')
    once(state, 'keystone-bootstrap', run, _MANAGE + [
        'bootstrap', '--bootstrap-password', PASSWORD,
        '--bootstrap-admin-url', url('keystone', '/v3'),
        '--bootstrap-public-url', url('keystone', '/v3'),
        '--bootstrap-internal-url', url('keystone', '/v3'),
        '--bootstrap-region-id', REGION], 'keystone-manage')


def start(state):
    processes.gunicorn('keystone', 'keystone.wsgi.api', 2,
                       PORTS['keystone'], {'OS_KEYSTONE_CONFIG_FILES': CONF})
    processes.wait_for('Keystone', lambda: http_ok(url('keystone', '/v3')),
                       120, ['keystone'], 'keystone')


def stop():
    processes.stop_many(PROCESSES, timeout=20)


class Keystone:
    """Just enough of the identity API, idempotent, with urllib."""

    def __init__(self):
        _, headers, body = http('POST', url('keystone', '/v3/auth/tokens'), {
            'auth': {'identity': {'methods': ['password'], 'password': {
                'user': {'name': 'admin', 'domain': {'name': 'Default'},
                         'password': PASSWORD}}},
                     'scope': {'project': {'name': 'admin',
                                           'domain': {'name': 'Default'}}}}},
            ok=(201,))
        self.token = headers['X-Subject-Token']
        self.project_id = body['token']['project']['id']

    def call(self, method, path, body=None, ok=(200,)):
        return http(method, url('keystone', '/v3' + path), body, self.token,
                    ok=ok)[2]

    def find(self, kind, **filters):
        query = '&'.join('%s=%s' % kv for kv in filters.items())
        found = self.call('GET', '/%s?%s' % (kind, query))[kind]
        return found[0] if found else None

    def ensure(self, kind, body, **filters):
        found = self.find(kind, **filters)
        if found:
            return found
        return self.call('POST', '/' + kind, {kind[:-1]: body},
                         ok=(201,))[kind[:-1]]

    def grant(self, project_id, user_id, role_id):
        self.call('PUT', '/projects/%s/users/%s/roles/%s'
                  % (project_id, user_id, role_id), ok=(204,))


def admin_token():
    return Keystone().token


def register(services):
    """The service user and the endpoints of each of ``services``."""
    ks = Keystone()
    service_project = ks.ensure('projects', {
        'name': 'service', 'domain_id': 'default'}, name='service')
    roles = {name: ks.ensure('roles', {'name': name}, name=name)['id']
             for name in ('admin', 'member', 'reader', 'service')}
    for user in [s.USER for s in services if getattr(s, 'USER', None)]:
        u = ks.ensure('users', {'name': user, 'password': PASSWORD,
                                'domain_id': 'default'}, name=user)
        ks.grant(service_project['id'], u['id'], roles['admin'])
        ks.grant(service_project['id'], u['id'], roles['service'])
    for name, stype, endpoint in [entry for s in services
                                  for entry in getattr(s, 'CATALOG', ())]:
        service = ks.ensure('services', {'name': name, 'type': stype},
                            type=stype)
        for interface in ('public', 'internal', 'admin'):
            existing = ks.find('endpoints', service_id=service['id'],
                               interface=interface)
            if existing and existing['url'] != endpoint:
                ks.call('DELETE', '/endpoints/%s' % existing['id'],
                        ok=(204,))
                existing = None
            if not existing:
                ks.call('POST', '/endpoints', {'endpoint': {
                    'service_id': service['id'], 'interface': interface,
                    'url': endpoint, 'region_id': REGION}}, ok=(201,))
