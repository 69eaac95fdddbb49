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

"""Placement under gunicorn (``CLOUD_PLACEMENT_WORKERS`` workers)."""

import os

from functions import http_ok
from functions import ini
from functions import once
from functions import run
from functions import write
from lib import keystone
from lib import mariadb
import processes
from settings import BIN
from settings import ETC
from settings import PLACEMENT_WORKERS
from settings import PORTS
from settings import url

APT_PACKAGES = {}
PIP_PACKAGES = ['openstack-placement']
PROCESSES = ['placement']
USER = 'placement'
CATALOG = [('placement', 'placement', url('placement'))]

_CONF_DIR = os.path.join(ETC, 'placement')
_ENV = {'OS_PLACEMENT_CONFIG_DIR': _CONF_DIR}


def configure(state):
    write(os.path.join(_CONF_DIR, 'placement.conf'), ini([
        ('DEFAULT', [('use_stderr', 'true')]),
        ('placement_database', [('connection',
                                 mariadb.url(state, 'placement'))]),
        ('api', [('auth_strategy', 'keystone')]),
        keystone.authtoken('placement'),
    ]))


def init(state):
    once(state, 'placement-db', run, [
        os.path.join(BIN, 'placement-manage'), '--config-dir', _CONF_DIR,
        'db', 'sync'], 'placement-manage', _ENV)


def start(state):
    processes.gunicorn('placement', 'placement.wsgi.api', PLACEMENT_WORKERS,
                       PORTS['placement'], _ENV)
    processes.wait_for('Placement', lambda: http_ok(url('placement')), 120,
                       ['placement'], 'placement')


def stop():
    processes.stop_many(PROCESSES, timeout=20)
