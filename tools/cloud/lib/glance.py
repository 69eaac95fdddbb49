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

"""Glance under gunicorn, file store; the two 64 KiB raw images Tempest
boots (``create_images``)."""

import os
import shutil
import urllib.request

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
from settings import PORTS
from settings import url
from settings import VENV

APT_PACKAGES = {}
PIP_PACKAGES = ['glance']
PROCESSES = ['glance']
USER = 'glance'
CATALOG = [('glance', 'image', url('glance'))]

_CONF_DIR = os.path.join(ETC, 'glance')
_CONF = os.path.join(_CONF_DIR, 'glance-api.conf')
_IMAGES = os.path.join(DATA, 'glance')
_ENV = {'OS_GLANCE_CONFIG_DIR': _CONF_DIR}


def configure(state):
    write(_CONF, ini([
        ('DEFAULT', [('use_stderr', 'true'),
                     ('enabled_backends', 'fs:file'),
                     ('transport_url', rabbitmq.transport_url(state))]),
        ('database', [('connection', mariadb.url(state, 'glance'))]),
        ('paste_deploy', [('flavor', 'keystone')]),
        keystone.authtoken('glance'),
        ('glance_store', [('default_backend', 'fs')]),
        ('fs', [('filesystem_store_datadir',
                 os.path.join(_IMAGES, 'images'))]),
        ('os_glance_staging_store', [(
            'filesystem_store_datadir', os.path.join(_IMAGES, 'staging'))]),
        ('os_glance_tasks_store', [(
            'filesystem_store_datadir', os.path.join(_IMAGES, 'tasks'))]),
        ('oslo_concurrency', [('lock_path', os.path.join(DATA, 'locks'))]),
    ]))
    shutil.copy(os.path.join(VENV, 'etc', 'glance', 'glance-api-paste.ini'),
                os.path.join(_CONF_DIR, 'glance-api-paste.ini'))
    for d in ('images', 'staging', 'tasks'):
        os.makedirs(os.path.join(_IMAGES, d), exist_ok=True)


def init(state):
    once(state, 'glance-db', run, [
        os.path.join(BIN, 'glance-manage'), '--config-file', _CONF,
        'db_sync'], 'glance-manage', _ENV)


def start(state):
    processes.gunicorn('glance', 'glance.wsgi.api', 1, PORTS['glance'], _ENV)
    processes.wait_for('Glance', lambda: http_ok(url('glance')), 120,
                       ['glance'], 'glance')


def stop():
    processes.stop_many(PROCESSES, timeout=20)


def create_images(state):
    """Two public raw images, ``tiny`` and ``tiny-alt``: state['images']."""
    token = keystone.admin_token()
    ids = []
    for name in ('tiny', 'tiny-alt'):
        images = http('GET', url('glance', '/v2/images?name=%s' % name),
                      token=token)[2]['images']
        image = images[0] if images else None
        if image and image['status'] != 'active':
            http('DELETE', url('glance', '/v2/images/%s' % image['id']),
                 token=token, ok=(204,))
            image = None
        if not image:
            image = http('POST', url('glance', '/v2/images'), {
                'name': name, 'disk_format': 'raw',
                'container_format': 'bare', 'visibility': 'public'},
                token=token, ok=(201,))[2]
            req = urllib.request.Request(
                url('glance', '/v2/images/%s/file' % image['id']),
                data=b'\0' * 65536, method='PUT')
            req.add_header('Content-Type', 'application/octet-stream')
            req.add_header('X-Auth-Token', token)
            urllib.request.urlopen(req, timeout=60).read()
        ids.append(image['id'])
    state['images'] = ids
    save_state(state)
