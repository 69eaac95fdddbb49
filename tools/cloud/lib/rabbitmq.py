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

"""RabbitMQ, from Debian's package: one that answers on 127.0.0.1:5672, or
a private server (and its epmd, started here so that its pid is known)."""

import os
import subprocess

from functions import log_path
from functions import port_open
from functions import save_state
from functions import say
from functions import write
import processes
from settings import BIN
from settings import DATA
from settings import ETC
from settings import HOST
from settings import LOGS
from settings import PORTS

APT_PACKAGES = {'rabbitmq-server': 'rabbitmq-server'}
PIP_PACKAGES = []
# down stops rabbit before epmd.
PROCESSES = ['rabbitmq', 'epmd']

_CONF = os.path.join(ETC, 'rabbitmq')


def transport_url(state):
    return 'rabbit://guest:guest@%s:%d/' % (HOST, state['rabbit']['port'])


def configure(state):
    """Use a RabbitMQ guest can log in to on 5672, or configure our own."""
    if port_open(5672) and not processes.alive('rabbitmq'):
        probe = subprocess.run(
            [os.path.join(BIN, 'python'), '-c',
             'import kombu; '
             'c = kombu.Connection("amqp://guest:guest@%s:5672//"); '
             'c.connect(); c.release()' % HOST], capture_output=True)
        if probe.returncode == 0:
            say('    using the RabbitMQ answering on %s:5672' % HOST)
            state['rabbit'] = {'external': True, 'port': 5672}
            save_state(state)
            return
    state['rabbit'] = {'external': False, 'port': PORTS['rabbit']}
    save_state(state)
    os.makedirs(os.path.join(DATA, 'rabbitmq'), exist_ok=True)
    write(os.path.join(_CONF, 'rabbitmq.conf'), '\n'.join([
        'listeners.tcp.default = %s:%d' % (HOST, PORTS['rabbit']),
        'loopback_users.guest = true',
        'management.tcp.ip = %s' % HOST,
        'log.file.level = info',
        '']))
    write(os.path.join(_CONF, 'enabled_plugins'), '[].\n')


def init(state):
    pass


def start(state):
    if state['rabbit']['external']:
        return
    env = _env()
    # epmd is started by us, in the foreground, so that its pid is ours.
    processes.start('epmd', ['epmd', '-address', HOST,
                             '-port', str(PORTS['epmd'])], env=env)
    processes.wait_for('epmd', lambda: port_open(PORTS['epmd']), 20,
                       ['epmd'], 'epmd')
    processes.start('rabbitmq', ['/usr/lib/rabbitmq/bin/rabbitmq-server'],
                    env=env)
    processes.wait_for('RabbitMQ', lambda: port_open(PORTS['rabbit']), 120,
                       ['rabbitmq'], 'rabbitmq')


def stop():
    for name in PROCESSES:
        processes.stop_many([name], timeout=60)


def _env():
    base = os.path.join(DATA, 'rabbitmq')
    return {
        'HOME': base,
        'RABBITMQ_NODENAME': 'cloud@localhost',
        'RABBITMQ_NODE_IP_ADDRESS': HOST,
        'RABBITMQ_NODE_PORT': str(PORTS['rabbit']),
        'RABBITMQ_DIST_PORT': str(PORTS['rabbit_dist']),
        'ERL_EPMD_ADDRESS': HOST,
        'ERL_EPMD_PORT': str(PORTS['epmd']),
        'RABBITMQ_CONFIG_FILE': os.path.join(_CONF, 'rabbitmq.conf'),
        'RABBITMQ_ENABLED_PLUGINS_FILE': os.path.join(_CONF,
                                                      'enabled_plugins'),
        'RABBITMQ_MNESIA_BASE': os.path.join(base, 'mnesia'),
        'RABBITMQ_LOG_BASE': LOGS,
        'RABBITMQ_LOGS': log_path('rabbitmq-server'),
        'RABBITMQ_PID_FILE': os.path.join(DATA, 'rabbitmq.pid'),
        'RABBITMQ_CONF_ENV_FILE': os.path.join(_CONF, 'env'),
        'RABBITMQ_ADVANCED_CONFIG_FILE': os.path.join(_CONF,
                                                      'advanced.config'),
    }
