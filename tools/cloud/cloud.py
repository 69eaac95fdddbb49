#!/usr/bin/env python3
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

"""An OpenStack on one machine, every service its own OS process.

Used through ``up.sh`` and ``down.sh`` next to this file::

    tools/cloud/up.sh            # build (if needed) and start everything
    tools/cloud/down.sh          # stop exactly what up.sh started
    python3 tools/cloud/cloud.py status|env|restart SERVICE

This is the main script, devstack's ``stack.sh``: the phases of ``up``
and the other commands. Each service is a module of ``lib/`` with the
same verbs (configure, init, start, stop; see ``lib/__init__.py``);
``functions.py`` has what they share, ``processes.py`` starts and stops
processes by their pid files, ``settings.py`` says where everything is,
``install.py`` builds the virtualenv.

Standard library only: it runs with the system's python3 and builds the
virtual environment the services run from. Everything lives under
``$CLOUD_DIR`` (default ``.cloud`` at the root of the repository): the
virtual environment, configuration, data, pid files, and the logs of every
service in ``$CLOUD_DIR/logs``. Every service listens on 127.0.0.1 only.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

from functions import load_state
from functions import Phases
from functions import save_state
from functions import say
from functions import StepFailed
from functions import write
import install
from lib import cinder
from lib import collector
from lib import delete_ext
from lib import glance
from lib import keystone
from lib import mariadb
from lib import neutron
from lib import nova
from lib import placement
from lib import prometheus
from lib import rabbitmq
from lib import tempest
import processes
from settings import CLOUD_DIR
from settings import COMPUTE_HOST
from settings import DATA
from settings import ETC
from settings import LOGS
from settings import PASSWORD
from settings import REGION
from settings import RUN
from settings import url
from settings import VENV
from settings import WITH_CINDER

#: What runs, in the order it starts; the message bus and the database
#: first (``INFRA``, stopped last).
INFRA = [mariadb, rabbitmq]
OPENSTACK = [keystone, placement, glance, neutron, nova] + (
    [cinder] if WITH_CINDER else []) + [collector, prometheus]
SERVICES = INFRA + OPENSTACK
#: What the virtualenv has: every service (Cinder too), the extension,
#: Tempest.
INSTALLED = [nova, placement, keystone, glance, neutron, cinder, tempest,
             mariadb, rabbitmq, delete_ext, collector, prometheus]


def phase_schemas(state):
    """Every service's ``init`` at once: schemas, keys, bootstrap.

    Each sync is a Python program of its own (keystone-manage,
    nova-manage, neutron-db-manage, ...), mostly busy importing and
    running migrations: one after the other they took about 260 s of a
    first up on two cores, side by side about half.
    """
    failures = []

    def job(service):
        t0 = time.monotonic()
        try:
            service.init(state)
        except Exception as exc:
            failures.append(exc)
            say('    %s FAILED: %s' % (service.__name__, exc))
        else:
            say('    %s: %.1fs' % (service.__name__,
                                   time.monotonic() - t0))

    threads = [threading.Thread(target=job, args=(s,)) for s in OPENSTACK]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        exc = failures[0]
        raise StepFailed('%d schema sync(s) failed; the first: %s'
                         % (len(failures), exc),
                         logs=getattr(exc, 'logs', ()))


def _each(*verbs):
    """One phase that runs ``verbs`` (functions of the state) in turn."""
    def phase(state):
        for verb in verbs:
            verb(state)
    return phase


def up(args):
    for d in (CLOUD_DIR, ETC, DATA, RUN, LOGS):
        os.makedirs(d, exist_ok=True)
    state = load_state()
    phases = Phases()
    steps = [
        ('Debian packages',
         lambda s: install.debian_packages(s, SERVICES)),
        ('virtual environment', lambda s: install.virtualenv(s, INSTALLED)),
        ('MariaDB', _each(mariadb.configure, mariadb.start, mariadb.init)),
        ('RabbitMQ', _each(rabbitmq.configure, rabbitmq.start)),
        ('configuration', _each(*[s.configure for s in OPENSTACK])),
        ('database schemas', phase_schemas),
        ('Keystone', keystone.start),
        ('service users, endpoints', lambda s: keystone.register(SERVICES)),
        ('Placement', placement.start),
        ('Glance', glance.start),
        ('images', glance.create_images),
        ('Neutron', neutron.start),
        ('network', neutron.create_network),
        # Before Nova: its listener pool's queue exists before the first
        # record is sent.
        ('collector', collector.start),
        ('Nova services', nova.start),
        ('flavors', nova.create_flavors),
        ('Prometheus', prometheus.start),
    ]
    if WITH_CINDER:
        steps.append(('Cinder', cinder.start))
    try:
        for name, func in steps:
            phases.run(name, func, state)
    except StepFailed:
        phases.summary()
        say('The cloud did not come up; logs are in %s' % LOGS)
        return 1
    except subprocess.TimeoutExpired as exc:
        phases.summary()
        say('The cloud did not come up: %s timed out' % exc.cmd[0])
        return 1
    state['up'] = True
    save_state(state)
    write_openrc()
    phases.summary()
    say('Cloud up. Credentials: %s' % os.path.join(CLOUD_DIR, 'openrc'))
    return 0


def write_openrc():
    write(os.path.join(CLOUD_DIR, 'openrc'), '\n'.join([
        'export OS_AUTH_URL=%s' % url('keystone', '/v3'),
        'export OS_USERNAME=admin',
        'export OS_PASSWORD=%s' % PASSWORD,
        'export OS_PROJECT_NAME=admin',
        'export OS_USER_DOMAIN_NAME=Default',
        'export OS_PROJECT_DOMAIN_NAME=Default',
        'export OS_REGION_NAME=%s' % REGION,
        'export OS_IDENTITY_API_VERSION=3',
        '']), 0o600)


def down(args):
    """Stop the OpenStack services together, then the bus and the DB.

    Every process with a pid file, so that one a changed script no longer
    knows is stopped too.
    """
    infra = [n for s in INFRA for n in s.PROCESSES]
    processes.stop_many([n for n in processes.started() if n not in infra],
                        timeout=20)
    for service in reversed(INFRA):
        service.stop()
    state = load_state()
    state['up'] = False
    if os.path.exists(CLOUD_DIR):
        save_state(state)
    if args.purge:
        keep = VENV if args.keep_venv else None
        for entry in os.listdir(CLOUD_DIR):
            path = os.path.join(CLOUD_DIR, entry)
            if path == keep:
                continue
            if entry == 'logs' and args.keep_logs:
                continue
            if os.path.isdir(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)
        say('removed %s%s' % (CLOUD_DIR, ' (kept the venv)' if keep else ''))
    return 0


def status(args):
    code = 0
    for name in processes.started():
        ok = processes.alive(name)
        code |= 0 if ok else 1
        say('%-16s pid %-8s %s' % (name, processes.read_pid(name),
                                   'running' if ok else 'NOT running'))
    return code


def restart(args):
    """Restart services (Nova's with another policy set, the collector).

    All the services named are stopped, then started, then waited for:
    nova-api and nova-compute start side by side, which halves the pause
    between two test parts.
    """
    state = load_state()
    starts = {'nova-api': nova.start_api, 'nova-compute': nova.start_compute,
              collector.PROCESSES[0]: lambda: collector.start(state)}
    if set(args.services) - set(starts):
        raise SystemExit('restart knows %s' % ', '.join(sorted(starts)))
    nova.configure(state)
    for name in args.services:
        processes.stop(name, sig=signal.SIGKILL if args.kill
                       else signal.SIGTERM)
    since = nova.utcnow()
    for name in args.services:
        starts[name]()
    # nova-api first: the compute service is checked through its API.
    for name in sorted(args.services, key=lambda n: n != 'nova-api'):
        if name == 'nova-api':
            nova.wait_api()
        elif name == 'nova-compute':
            nova.wait_compute(since)
        say('restarted %s' % name)
    return 0


#: What a scenario may stop and start again by itself: the database under
#: the collector, and the second collector of its pool.
_STARTS = {
    'mariadb': mariadb.start,
    collector.PROCESSES[1]: lambda s: collector.start(
        s, collector.PROCESSES[1]),
}


def start_one(args):
    _STARTS[args.service](load_state())
    say('started %s' % args.service)
    return 0


def stop_one(args):
    state = load_state()
    if args.service == 'mariadb' and state['db']['external']:
        raise SystemExit('the MariaDB on %s is not the cloud\'s own: not '
                         'stopped' % state['db']['port'])
    processes.stop(args.service, timeout=60)
    say('stopped %s' % args.service)
    return 0


def env(args):
    state = load_state()
    print(json.dumps({
        'cloud_dir': CLOUD_DIR, 'venv': VENV, 'logs': LOGS,
        'keystone': url('keystone', '/v3'), 'password': PASSWORD,
        'region': REGION, 'images': state.get('images'),
        'flavors': state.get('flavors'), 'network': state.get('network'),
        'network_name': 'shared', 'compute_host': COMPUTE_HOST,
        'cinder': WITH_CINDER,
        'nova_conf': {r: nova.conf(r) for r in ('api', 'compute',
                                                'conductor')},
        'record_file': delete_ext.RECORD_FILE,
        'collector_conf': collector.conf(),
        'collector_metrics': {n: collector.metrics_url(n)
                              for n in collector.PROCESSES},
        'prometheus': prometheus.url(),
        'transport_url': rabbitmq.transport_url(state),
        # Where a scenario reads (or ages) what Nova's cell holds, and
        # the server on which the record store's migrations are tested.
        'cell_database': mariadb.url(state, 'nova_cell1'),
        'mysql_admin_url': mariadb.url(state, ''),
        'run': RUN, 'compute_state_path': os.path.join(DATA, 'nova',
                                                       'compute'),
        'protect_tag': delete_ext.devstack_settings()[
            'NOVA_DELETE_EXT_PROTECT_TAG'],
    }, indent=2))
    return 0


def tempest_conf(args):
    """Write a Tempest workspace's tempest.conf for this cloud."""
    path = tempest.configure_workspace(load_state(), args.workspace)
    say('wrote %s' % path)
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    sub = parser.add_subparsers(dest='command', required=True)
    sub.add_parser('up').set_defaults(func=up)
    p = sub.add_parser('down')
    p.add_argument('--purge', action='store_true',
                   help='also remove CLOUD_DIR (data, configuration)')
    p.add_argument('--keep-venv', action='store_true')
    p.add_argument('--keep-logs', action='store_true')
    p.set_defaults(func=down)
    sub.add_parser('status').set_defaults(func=status)
    sub.add_parser('env').set_defaults(func=env)
    p = sub.add_parser('tempest-conf')
    p.add_argument('workspace')
    p.set_defaults(func=tempest_conf)
    p = sub.add_parser('restart')
    p.add_argument('--kill', action='store_true',
                   help='SIGKILL instead of SIGTERM')
    p.add_argument('services', nargs='+')
    p.set_defaults(func=restart)
    for verb, func in (('start', start_one), ('stop', stop_one)):
        p = sub.add_parser(verb)
        p.add_argument('service', choices=sorted(_STARTS))
        p.set_defaults(func=func)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == '__main__':
    sys.exit(main())
