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

"""Cinder: API under gunicorn, scheduler, volume on the fake LVM driver
shipped in the cinder wheel (no iSCSI). Left out with CLOUD_CINDER=0."""

import os
import shutil

from functions import http
from functions import http_ok
from functions import ini
from functions import once
from functions import run
from functions import StepFailed
from functions import write
from lib import keystone
from lib import mariadb
from lib import rabbitmq
import processes
from settings import BIN
from settings import DATA
from settings import ETC
from settings import HOST
from settings import PORTS
from settings import REGION
from settings import url
from settings import VENV

APT_PACKAGES = {}
PIP_PACKAGES = ['cinder']
PROCESSES = ['cinder-api', 'cinder-scheduler', 'cinder-volume']
USER = 'cinder'
CATALOG = [
    ('cinderv3', 'volumev3', url('cinder', '/v3/$(project_id)s')),
    ('cinder', 'block-storage', url('cinder', '/v3/$(project_id)s')),
]

_CONF_DIR = os.path.join(ETC, 'cinder')
_CONF = os.path.join(_CONF_DIR, 'cinder.conf')


def configure(state):
    os.makedirs(_CONF_DIR, exist_ok=True)
    for name in ('api-paste.ini', 'resource_filters.json'):
        shutil.copy(os.path.join(VENV, 'etc', 'cinder', name),
                    os.path.join(_CONF_DIR, name))
    write(_CONF, ini([
        ('DEFAULT', [('use_stderr', 'true'),
                     ('transport_url', rabbitmq.transport_url(state)),
                     ('state_path', os.path.join(DATA, 'cinder')),
                     ('auth_strategy', 'keystone'),
                     ('api_paste_config', os.path.join(_CONF_DIR,
                                                       'api-paste.ini')),
                     ('resource_query_filters_file',
                      os.path.join(_CONF_DIR, 'resource_filters.json')),
                     ('enabled_backends', 'fake'),
                     ('my_ip', HOST),
                     ('host', 'storage1')]),
        ('database', [('connection', mariadb.url(state, 'cinder'))]),
        keystone.authtoken('cinder'),
        ('nova', keystone.keystone_auth('nova') + [('region_name', REGION)]),
        ('fake', [('volume_driver',
                   'cinder.tests.fake_driver.FakeLoggingVolumeDriver'),
                  ('volume_backend_name', 'fake')]),
        ('oslo_concurrency', [('lock_path', os.path.join(DATA, 'locks'))]),
    ]))
    os.makedirs(os.path.join(DATA, 'cinder'), exist_ok=True)


def init(state):
    once(state, 'cinder-db', run, [
        os.path.join(BIN, 'cinder-manage'), '--config-file', _CONF,
        'db', 'sync'], 'cinder-manage')


def start(state):
    processes.gunicorn('cinder-api', 'cinder.wsgi.api', 1, PORTS['cinder'],
                       {}, argv='--config-file %s' % _CONF)
    for name in ('cinder-scheduler', 'cinder-volume'):
        processes.start(name, [os.path.join(BIN, name),
                               '--config-file', _CONF])
    processes.wait_for('cinder-api', lambda: http_ok(url('cinder')), 180,
                       ['cinder-api'], 'cinder-api')
    ks = keystone.Keystone()
    processes.wait_for('cinder-volume', lambda: _volume_up(ks), 180,
                       ['cinder-volume', 'cinder-scheduler'], 'cinder-volume')


def stop():
    processes.stop_many(PROCESSES, timeout=20)


def _volume_up(ks):
    try:
        services = http('GET', url('cinder', '/v3/%s/os-services?binary='
                                   'cinder-volume' % ks.project_id),
                        token=ks.token)[2]['services']
    except StepFailed:
        return False
    return any(s['state'] == 'up' for s in services)
