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

"""Neutron's API under gunicorn: ML2 with the test mechanism driver
``delete_ext_fake``, no agent, no RPC server; the shared network
(``create_network``).

The driver's entry point comes from the test-only distribution in
``tools/cloud/fakes``, which only this virtualenv installs: nova-delete-ext
itself registers nothing for Neutron.
"""

import os
import shutil

from functions import http
from functions import http_ok
from functions import ini
from functions import once
from functions import run
from functions import save_state
from functions import write
from lib import keystone
from lib import mariadb
from lib import rabbitmq
import processes
from settings import BIN
from settings import DATA
from settings import ETC
from settings import HERE
from settings import PORTS
from settings import REGION
from settings import url
from settings import VENV

APT_PACKAGES = {}
PIP_PACKAGES = ['neutron', os.path.join(HERE, 'fakes')]
PROCESSES = ['neutron']
USER = 'neutron'
CATALOG = [('neutron', 'network', url('neutron'))]

_CONF_DIR = os.path.join(ETC, 'neutron')
_CONF = os.path.join(_CONF_DIR, 'neutron.conf')


def configure(state):
    os.makedirs(_CONF_DIR, exist_ok=True)
    paste = os.path.join(_CONF_DIR, 'api-paste.ini')
    shutil.copy(os.path.join(VENV, 'etc', 'neutron', 'api-paste.ini'), paste)
    write(_CONF, ini([
        ('DEFAULT', [('use_stderr', 'true'),
                     ('core_plugin', 'ml2'),
                     ('service_plugins', ''),
                     ('auth_strategy', 'keystone'),
                     ('transport_url', rabbitmq.transport_url(state)),
                     ('state_path', os.path.join(DATA, 'neutron')),
                     ('api_paste_config', paste),
                     ('notify_nova_on_port_status_changes', 'true'),
                     ('notify_nova_on_port_data_changes', 'true'),
                     ('rpc_workers', '0'), ('rpc_state_report_workers', '0')]),
        ('database', [('connection', mariadb.url(state, 'neutron'))]),
        keystone.authtoken('neutron'),
        ('nova', keystone.keystone_auth('nova') + [('region_name', REGION)]),
        ('placement', keystone.keystone_auth('placement')
         + [('region_name', REGION)]),
        ('ml2', [('type_drivers', 'flat,vxlan'),
                 ('tenant_network_types', 'vxlan'),
                 ('mechanism_drivers', 'delete_ext_fake'),
                 ('extension_drivers', 'port_security')]),
        ('ml2_type_vxlan', [('vni_ranges', '1:1000')]),
        ('ml2_type_flat', [('flat_networks', 'public')]),
        ('oslo_concurrency', [('lock_path', os.path.join(DATA, 'locks'))]),
    ]))


def init(state):
    once(state, 'neutron-db', run, [
        os.path.join(BIN, 'neutron-db-manage'), '--config-file', _CONF,
        'upgrade', 'heads'], 'neutron-db-manage')


def start(state):
    processes.gunicorn('neutron', 'neutron.wsgi.api', 1, PORTS['neutron'],
                       {'OS_NEUTRON_CONFIG_DIR': _CONF_DIR,
                        'OS_NEUTRON_CONFIG_FILES': 'neutron.conf'})
    processes.wait_for('Neutron', lambda: http_ok(url('neutron')), 180,
                       ['neutron'], 'neutron')


def stop():
    processes.stop_many(PROCESSES, timeout=20)


def create_network(state):
    """The shared vxlan network ``shared``, without DHCP."""
    token = keystone.admin_token()
    nets = http('GET', url('neutron', '/v2.0/networks?name=shared'),
                token=token)[2]['networks']
    net = nets[0] if nets else http(
        'POST', url('neutron', '/v2.0/networks'),
        {'network': {'name': 'shared', 'shared': True}}, token=token,
        ok=(201,))[2]['network']
    if not net['subnets']:
        http('POST', url('neutron', '/v2.0/subnets'), {'subnet': {
            'network_id': net['id'], 'name': 'shared-subnet',
            'ip_version': 4, 'cidr': '10.254.0.0/20',
            'enable_dhcp': False}}, token=token, ok=(201,))
    state['network'] = net['id']
    save_state(state)
