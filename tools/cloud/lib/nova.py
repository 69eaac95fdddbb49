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

"""Nova: the API under gunicorn, conductor, scheduler, and nova-compute on
the fake driver variant ``StableNodeFakeDriver``; the flavors Tempest uses.

Each process has its own nova.conf, as in a deployment: ``etc/nova/api``
(nova-api), ``etc/nova/compute`` (nova-compute), and ``etc/nova/conductor``
(conductor, scheduler and nova-manage), the first two with the extension's
lines (``lib/delete_ext``). nova-compute's has no database connection,
like devstack's nova-cpu.conf and every deployment: it reaches its cell
database through conductor and the API database not at all, so code that
reads a database from nova-compute fails here as it would there.
"""

import os
import shutil
import time

from functions import http
from functions import http_ok
from functions import ini
from functions import once
from functions import run
from functions import save_state
from functions import StepFailed
from functions import write
from lib import delete_ext
from lib import keystone
from lib import mariadb
from lib import rabbitmq
import processes
from settings import BIN
from settings import COMPUTE_HOST
from settings import DATA
from settings import ETC
from settings import HOST
from settings import NOVA_API_WORKERS
from settings import PORTS
from settings import REGION
from settings import url
from settings import VENV

APT_PACKAGES = {}
PIP_PACKAGES = ['nova']
PROCESSES = ['nova-api', 'nova-conductor', 'nova-scheduler', 'nova-compute']
USER = 'nova'
CATALOG = [('nova', 'compute', url('nova', '/v2.1'))]

ROLES = ('api', 'conductor', 'compute')


def conf(role):
    """The nova.conf of ``role``: ``api``, ``conductor`` or ``compute``."""
    return os.path.join(ETC, 'nova', role, 'nova.conf')


def sections(state, role):
    """The nova.conf of one process: ``api``, ``conductor``, ``compute``."""
    state_path = os.path.join(DATA, 'nova', role)
    auth = keystone.keystone_auth
    # nova-compute reaches its cell database through conductor and the API
    # database not at all: no connection, as in devstack's nova-cpu.conf.
    databases = [] if role == 'compute' else [
        ('api_database', [('connection', mariadb.url(state, 'nova_api'))]),
        ('database', [('connection', mariadb.url(state, 'nova_cell1'))]),
    ]
    return [
        ('DEFAULT', [('use_stderr', 'true'),
                     ('transport_url', rabbitmq.transport_url(state)),
                     ('state_path', state_path),
                     ('my_ip', HOST),
                     ('host', COMPUTE_HOST if role == 'compute'
                      else 'controller')]
         + ([('compute_driver', 'delete_ext_fake.StableNodeFakeDriver'),
             ('instances_path', os.path.join(state_path, 'instances'))]
            if role == 'compute' else [])
         + [('allow_resize_to_same_host', 'true'),
            # A shelved server stays SHELVED until offloaded by an admin's
            # shelveOffload, so that deletes from both states are tested.
            ('shelved_offload_time', '-1')]
         + delete_ext.reclaim_interval(role)),
        ('api', [('auth_strategy', 'keystone')]),
    ] + databases + [
        keystone.authtoken('nova'),
        ('service_user', [('send_service_user_token', 'true')]
         + auth('nova')),
        ('placement', auth('placement') + [('region_name', REGION)]),
        ('neutron', auth('neutron') + [('region_name', REGION)]),
        ('glance', [('region_name', REGION)]),
        ('cinder', [('os_region_name', REGION)] + auth('cinder')),
        ('conductor', [('workers', '1')]),
        ('scheduler', [('workers', '1'),
                       ('discover_hosts_in_cells_interval', '-1')]),
        ('oslo_concurrency', [('lock_path', os.path.join(DATA, 'locks'))]),
        ('vnc', [('enabled', 'false')]),
        ('wsgi', [('api_paste_config', os.path.join(ETC, 'nova', 'api',
                                                    'api-paste.ini'))]),
    ] + delete_ext.nova_sections(role)


def configure(state):
    """Write the nova.conf of each role; return the roles that changed."""
    changed = []
    for role in ROLES:
        text = ini(sections(state, role))
        path = conf(role)
        if not os.path.exists(path) or open(path).read() != text:
            changed.append(role)
            write(path, text)
        os.makedirs(os.path.join(DATA, 'nova', role), exist_ok=True)
    shutil.copy(os.path.join(VENV, 'etc', 'nova', 'api-paste.ini'),
                os.path.join(ETC, 'nova', 'api', 'api-paste.ini'))
    return changed


def manage(args, log='nova-manage', check=True):
    """nova-manage with the conductor's nova.conf (it has the databases)."""
    return run([os.path.join(BIN, 'nova-manage'), '--config-file',
                conf('conductor')] + args, log=log, check=check)


def init(state):
    once(state, 'nova-db', _db_sync, state)


def _db_sync(state):
    manage(['api_db', 'sync'])
    manage(['cell_v2', 'map_cell0', '--database_connection',
            mariadb.url(state, 'nova_cell0')])
    cells = run([os.path.join(BIN, 'nova-manage'), '--config-file',
                 conf('conductor'), 'cell_v2', 'list_cells'])
    if ' cell1 ' not in cells:
        manage(['cell_v2', 'create_cell', '--name', 'cell1', '--verbose'])
    manage(['db', 'sync'])


def start(state):
    for name in ('nova-conductor', 'nova-scheduler'):
        processes.start(name, [os.path.join(BIN, name),
                               '--config-file', conf('conductor')])
    start_api()
    start_compute()
    wait_api()
    token = keystone.admin_token()
    processes.wait_for('nova-compute service', lambda: _compute_up(token),
                       180, ['nova-compute', 'nova-conductor'],
                       'nova-compute')
    manage(['cell_v2', 'discover_hosts', '--verbose'])
    processes.wait_for('hypervisor', lambda: _hypervisor_up(token), 120,
                       ['nova-compute', 'nova-scheduler'], 'nova-compute')


def stop():
    processes.stop_many(PROCESSES, timeout=20)


def start_api():
    processes.gunicorn(
        'nova-api', 'nova.wsgi.osapi_compute', NOVA_API_WORKERS,
        PORTS['nova'],
        {'OS_NOVA_CONFIG_DIR': os.path.join(ETC, 'nova', 'api'),
         'OS_NOVA_CONFIG_FILES': 'api-paste.ini;nova.conf'})


def start_compute():
    processes.start('nova-compute', [
        os.path.join(BIN, 'python'), '-m',
        'nova_delete_ext.tests.cloud.nova_compute',
        '--config-file', conf('compute')])


def wait_api():
    processes.wait_for('nova-api', lambda: http_ok(url('nova')), 180,
                       ['nova-api'], 'nova-api')


def wait_compute(since):
    """Until nova-compute has reported up after ``since`` (UTC ISO)."""
    token = keystone.admin_token()
    processes.wait_for('nova-compute', lambda: _compute_up(token, since),
                       180, ['nova-compute'], 'nova-compute')


def utcnow():
    return time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime())


def _get(token, path):
    return http('GET', url('nova', '/v2.1' + path), token=token,
                headers={'OpenStack-API-Version': 'compute 2.53'})[2]


def _compute_up(token, since=''):
    """nova-compute is up (and has reported since ``since``, UTC ISO)."""
    try:
        services = _get(token, '/os-services?binary=nova-compute')
    except StepFailed:
        return False
    return any(s['state'] == 'up' and (s['updated_at'] or '') > since
               for s in services['services'])


def _hypervisor_up(token):
    try:
        hvs = _get(token, '/os-hypervisors')['hypervisors']
    except StepFailed:
        return False
    return any(h['state'] == 'up' for h in hvs)


def create_flavors(state):
    """m1.tiny and m1.micro (ids 1 and 2): state['flavors']."""
    token = keystone.admin_token()
    wanted = [('1', 'm1.tiny', 1, 128, 1), ('2', 'm1.micro', 1, 192, 1)]
    for fid, name, vcpus, ram, disk in wanted:
        try:
            _get(token, '/flavors/%s' % fid)
            continue
        except StepFailed:
            pass
        http('POST', url('nova', '/v2.1/flavors'), {'flavor': {
            'id': fid, 'name': name, 'vcpus': vcpus, 'ram': ram,
            'disk': disk}}, token=token)
    state['flavors'] = [w[0] for w in wanted]
    save_state(state)
