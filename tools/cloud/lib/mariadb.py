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

"""MariaDB, from Debian's package: one that answers on 127.0.0.1:3306, or
a private server run from ``$CLOUD_DIR/data``."""

import os
import subprocess

from functions import port_open
from functions import run
from functions import save_state
from functions import say
import processes
from settings import DATA
from settings import HOST
from settings import PASSWORD
from settings import PORTS
from settings import RUN

APT_PACKAGES = {'mariadb-server': 'mariadbd'}
PIP_PACKAGES = ['PyMySQL']
PROCESSES = ['mariadb']

DATABASES = ['keystone', 'placement', 'glance', 'neutron', 'cinder',
             'nova_api', 'nova_cell0', 'nova_cell1',
             # nova-delete-ext's record database (lib/collector).
             'nova_delete_ext']

_DATADIR = os.path.join(DATA, 'mysql')
_SOCKET = os.path.join(RUN, 'mysqld.sock')


def url(state, name):
    """The SQLAlchemy URL of database ``name``."""
    return 'mysql+pymysql://cloud:%s@%s:%d/%s?charset=utf8mb4' % (
        PASSWORD, HOST, state['db']['port'], name)


def configure(state):
    """Use a MariaDB root can log in to on 3306, or a private one."""
    if state.get('db', {}).get('external') is None:
        state['db'] = {}
    db = state['db']
    if port_open(3306) and not processes.alive('mariadb'):
        probe = subprocess.run(['mariadb', '-uroot', '-h', HOST, '-e',
                                'SELECT 1'], capture_output=True)
        if probe.returncode == 0:
            say('    using the MariaDB answering on %s:3306' % HOST)
            db.update(external=True, port=3306, socket=None)
            save_state(state)
            return
        say('    something answers on 3306 but root cannot log in; '
            'starting a private MariaDB')
    db.update(external=False, port=PORTS['mysql'], socket=_SOCKET)
    save_state(state)


def start(state):
    if state['db']['external']:
        return
    if not os.path.isdir(os.path.join(_DATADIR, 'mysql')):
        os.makedirs(_DATADIR, exist_ok=True)
        run(['mariadb-install-db', '--no-defaults', '--user=root',
             '--datadir=%s' % _DATADIR,
             '--auth-root-authentication-method=socket',
             '--skip-test-db'], log='mariadb')
    processes.start('mariadb', [
        'mariadbd', '--no-defaults', '--user=root',
        '--datadir=%s' % _DATADIR, '--socket=%s' % _SOCKET,
        '--port=%d' % PORTS['mysql'], '--bind-address=%s' % HOST,
        '--pid-file=%s' % os.path.join(DATA, 'mysqld.pid'),
        '--max-connections=1000',
        '--innodb-buffer-pool-size=256M',
        '--innodb-flush-log-at-trx-commit=0',
        '--skip-name-resolve'])
    processes.wait_for('MariaDB', lambda: os.path.exists(_SOCKET) and
                       port_open(PORTS['mysql']), 60, ['mariadb'], 'mariadb')


def init(state):
    """Every service's database, and the user they all log in as."""
    statements = []
    for name in DATABASES:
        statements.append('CREATE DATABASE IF NOT EXISTS %s '
                          'CHARACTER SET utf8mb4' % name)
    statements.append("CREATE USER IF NOT EXISTS 'cloud'@'127.0.0.1' "
                      "IDENTIFIED BY '%s'" % PASSWORD)
    statements.append("GRANT ALL PRIVILEGES ON *.* TO 'cloud'@'127.0.0.1'")
    statements.append('FLUSH PRIVILEGES')
    _mysql('; '.join(statements), state)


def stop():
    processes.stop_many(PROCESSES, timeout=60)


def _mysql(sql, state):
    db = state['db']
    cmd = ['mariadb', '-uroot', '--batch', '--skip-column-names']
    if db.get('socket'):
        cmd.append('--socket=%s' % db['socket'])
    else:
        cmd += ['-h', HOST, '-P', str(db['port'])]
    return run(cmd + ['-e', sql])
