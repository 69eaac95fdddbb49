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

"""Where the cloud lives and what it listens on (devstack's ``stackrc``).

Every value comes from a ``CLOUD_*`` environment variable or its default;
``README.rst`` lists them.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CLOUD_DIR = os.path.abspath(os.environ.get('CLOUD_DIR')
                            or os.path.join(REPO, '.cloud'))
PORT_BASE = int(os.environ.get('CLOUD_PORT_BASE', '25000'))
HOST = '127.0.0.1'
PASSWORD = os.environ.get('CLOUD_PASSWORD', 'cloud-secret')
REGION = 'RegionOne'
COMPUTE_HOST = 'compute1'
PYTHON = os.environ.get('CLOUD_PYTHON', sys.executable)
VENV = os.path.join(CLOUD_DIR, 'venv')
BIN = os.path.join(VENV, 'bin')
ETC = os.path.join(CLOUD_DIR, 'etc')
DATA = os.path.join(CLOUD_DIR, 'data')
RUN = os.path.join(CLOUD_DIR, 'run')
LOGS = os.path.join(CLOUD_DIR, 'logs')
STATE = os.path.join(CLOUD_DIR, 'state.json')
NOVA_API_WORKERS = int(os.environ.get('CLOUD_NOVA_API_WORKERS', '2'))
PLACEMENT_WORKERS = int(os.environ.get('CLOUD_PLACEMENT_WORKERS', '1'))
# The services; Cinder is left out with CLOUD_CINDER=0.
WITH_CINDER = os.environ.get('CLOUD_CINDER', '1') not in ('0', 'false', 'no')

PORTS = {
    'keystone': PORT_BASE,
    'placement': PORT_BASE + 1,
    'glance': PORT_BASE + 2,
    'nova': PORT_BASE + 3,
    'neutron': PORT_BASE + 4,
    'cinder': PORT_BASE + 5,
    'mysql': PORT_BASE + 6,
    'rabbit': PORT_BASE + 7,
    'rabbit_dist': PORT_BASE + 8,
    'epmd': PORT_BASE + 9,
    'collector': PORT_BASE + 10,
    'collector2': PORT_BASE + 11,
    'prometheus': PORT_BASE + 12,
}

# The installer of the services' virtualenv: uv (pinned as in tox.ini's
# constraints environment), or pip with CLOUD_INSTALLER=pip.
INSTALLER = os.environ.get('CLOUD_INSTALLER', 'uv')
UV = 'uv==0.13.9'


def url(service, path=''):
    return 'http://%s:%d%s' % (HOST, PORTS[service], path)
