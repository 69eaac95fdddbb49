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

"""nova-delete-ext-collector, as the admin guide deploys it.

The records nova-api and nova-compute send as notifications (``sinks =
file,notification``, ``lib/delete_ext``) go through the cloud's RabbitMQ
into a record database on its MariaDB, ``nova_delete_ext``, created with
``nova-delete-ext db sync``. The collector also reads Nova's API and cell
databases for its gauges, every :data:`POLL_INTERVAL` seconds, and serves
its metrics on 127.0.0.1 for the cloud's Prometheus (``lib/prometheus``).

Its configuration file is the one ``nova-delete-ext records`` reads on
this cloud too (:func:`conf`). A second collector of the same listener
pool, ``nova-delete-ext-collector-2``, is started only by the scenario
that shows two collectors sharing the work (``cloud.py start``); its file
adds only a metrics port of its own to the first one's.
"""

import os

from functions import http_ok
from functions import ini
from functions import once
from functions import run
from functions import write
from lib import mariadb
from lib import rabbitmq
import processes
from settings import BIN
from settings import ETC
from settings import HOST
from settings import PORTS

APT_PACKAGES = {}
PIP_PACKAGES = []
PROCESSES = ['nova-delete-ext-collector', 'nova-delete-ext-collector-2']
DATABASE = 'nova_delete_ext'
#: Seconds between two polls of Nova's cells: a few, so that a scenario
#: sees a server stuck in deleting within seconds.
POLL_INTERVAL = 2

_DIR = os.path.join(ETC, 'nova-delete-ext')
_PORTS = {'nova-delete-ext-collector': PORTS['collector'],
          'nova-delete-ext-collector-2': PORTS['collector2']}


def conf(name='nova-delete-ext-collector'):
    """The configuration files of collector ``name``, in their order."""
    files = [os.path.join(_DIR, 'nova-delete-ext.conf')]
    if name != PROCESSES[0]:
        files.append(os.path.join(_DIR, name + '.conf'))
    return files


def metrics_url(name='nova-delete-ext-collector'):
    return 'http://%s:%d/metrics' % (HOST, _PORTS[name])


def configure(state):
    write(conf()[0], ini([
        ('DEFAULT', [('use_stderr', 'true'),
                     ('transport_url', rabbitmq.transport_url(state))]),
        # Nova's databases, for the gauges: the collector reads the cell
        # mappings and each cell as the sweep does.
        ('api_database', [('connection', mariadb.url(state, 'nova_api'))]),
        ('database', [('connection', mariadb.url(state, 'nova_cell1'))]),
        ('delete_ext_collector', [
            ('connection', mariadb.url(state, DATABASE)),
            ('metrics_host', HOST),
            ('metrics_port', str(_PORTS[PROCESSES[0]])),
            ('poll_interval', str(POLL_INTERVAL)),
            # The scenario that stops MariaDB wants the retries to come
            # soon after it is back.
            ('max_retry_interval', '5')]),
    ]))
    for name in PROCESSES[1:]:
        write(conf(name)[1], ini([('delete_ext_collector', [
            ('metrics_port', str(_PORTS[name]))])]))


def init(state):
    once(state, 'nova-delete-ext-db', db_sync)


def db_sync():
    run([os.path.join(BIN, 'nova-delete-ext'), 'db', 'sync',
         '--config-file', conf()[0]], log='nova-delete-ext-db-sync')


def start(state, name=PROCESSES[0]):
    cmd = [os.path.join(BIN, 'nova-delete-ext-collector')]
    for path in conf(name):
        cmd += ['--config-file', path]
    processes.start(name, cmd)
    processes.wait_for(name, lambda: http_ok(metrics_url(name)), 120,
                       [name], name)


def stop():
    processes.stop_many(PROCESSES, timeout=30)
