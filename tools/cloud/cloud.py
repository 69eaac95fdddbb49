#!/usr/bin/env python3
"""An OpenStack on one machine, every service its own OS process.

Used through ``up.sh`` and ``down.sh`` next to this file::

    tools/cloud/up.sh            # build (if needed) and start everything
    tools/cloud/down.sh          # stop exactly what up.sh started
    python3 tools/cloud/cloud.py status|env|restart SERVICE

Standard library only: it runs with the system's python3 and builds the
virtual environment the services run from. Everything lives under
``$CLOUD_DIR`` (default ``.cloud`` at the root of the repository): the
virtual environment, configuration, data, pid files, and the logs of every
service in ``$CLOUD_DIR/logs``. Every service listens on 127.0.0.1 only.

MariaDB and RabbitMQ come from Debian's packages. When one already answers
on 127.0.0.1 at its usual port (and lets root, or guest, in), it is used and
never stopped; otherwise the package is installed if missing and a private
server is started from ``$CLOUD_DIR``.

The extension is installed into the services' environment (``pip install
-e`` of this repository) and activated as the installation guide says: the
lines of doc/source/install/index.rst, in the nova.conf of nova-api and of
nova-compute, nothing else. Their values come from devstack/settings, the
devstack plugin's defaults, so that both set the same options.
"""

import argparse
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

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
}

# The installer of the services' virtualenv: uv (pinned as in tox.ini's
# constraints environment), or pip with CLOUD_INSTALLER=pip.
INSTALLER = os.environ.get('CLOUD_INSTALLER', 'uv')
UV = 'uv==0.13.9'

PIP_PACKAGES = [
    'nova', 'openstack-placement', 'keystone', 'glance', 'neutron',
    'cinder', 'tempest', 'gunicorn', 'PyMySQL', 'python-openstackclient',
]

APT_PACKAGES = {'mariadb-server': 'mariadbd',
                'rabbitmq-server': 'rabbitmq-server'}

DATABASES = ['keystone', 'placement', 'glance', 'neutron', 'cinder',
             'nova_api', 'nova_cell0', 'nova_cell1']

SERVICE_USERS = ['placement', 'glance', 'nova', 'neutron', 'cinder']


# ---------------------------------------------------------------- output

class StepFailed(Exception):
    def __init__(self, message, logs=()):
        super().__init__(message)
        self.logs = logs


def say(text):
    print(text, flush=True)


def log_path(name):
    return os.path.join(LOGS, name + '.log')


def show_logs(names, lines=40):
    for name in names:
        path = name if os.path.isabs(name) else log_path(name)
        if not os.path.exists(path):
            continue
        with open(path, errors='replace') as f:
            tail = f.readlines()[-lines:]
        say('---- last %d lines of %s ----' % (len(tail), path))
        sys.stdout.write(''.join(tail))
        say('---- end of %s ----' % os.path.basename(path))


class Phases:
    """Prints each phase with its wall time; keeps them for the summary."""

    def __init__(self):
        self.times = []
        self.start = time.monotonic()

    def run(self, name, func, *args):
        say('==> %s' % name)
        t0 = time.monotonic()
        try:
            result = func(*args)
        except StepFailed as exc:
            took = time.monotonic() - t0
            say('<== %s FAILED after %.1fs: %s' % (name, took, exc))
            show_logs(exc.logs)
            raise
        took = time.monotonic() - t0
        self.times.append((name, took))
        say('<== %s: %.1fs' % (name, took))
        return result

    def summary(self):
        total = time.monotonic() - self.start
        say('Phase times:')
        for name, took in self.times:
            say('  %-28s %7.1fs' % (name, took))
        say('  %-28s %7.1fs' % ('total', total))


# ---------------------------------------------------------------- helpers

def once(state, key, func, *args):
    """Run ``func`` unless it already ran with this venv and this DB.

    Database syncs and bootstraps are idempotent but slow; a second up
    skips them while the virtual environment (the services' versions) and
    the database server are the ones they ran with.
    """
    stamp = '%s@%s' % (_venv_stamp(), state.get('db', {}).get('port'))
    with _STATE_LOCK:
        done = state.setdefault('done', {})
        if done.get(key) == stamp:
            return
    func(*args)
    with _STATE_LOCK:
        done[key] = stamp
        save_state(state)


# once() may run in the threads of phase_schemas.
_STATE_LOCK = threading.Lock()


def run(cmd, log=None, env=None, check=True, input=None, timeout=900):
    """Run a command; its output goes to ``log`` (a service log name)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    if log:
        os.makedirs(LOGS, exist_ok=True)
        with open(log_path(log), 'a') as out:
            out.write('\n$ %s\n' % ' '.join(cmd))
            out.flush()
            proc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT,
                                  env=full_env, input=input, timeout=timeout,
                                  text=True)
        output = None
    else:
        proc = subprocess.run(cmd, capture_output=True, env=full_env,
                              input=input, timeout=timeout, text=True)
        output = proc.stdout
    if check and proc.returncode:
        raise StepFailed('%s exited %d%s' % (
            ' '.join(cmd[:3]), proc.returncode,
            '' if log else ': ' + (proc.stderr or '')[-2000:]),
            logs=[log] if log else [])
    return output if log is None else proc.returncode


def port_open(port, host=HOST):
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def wait_for(what, test, timeout, logs=(), pid_name=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if test():
            return
        if pid_name and not alive(pid_name):
            raise StepFailed('%s: its process exited' % what, logs=logs)
        time.sleep(0.5)
    raise StepFailed('%s: not ready after %ds' % (what, timeout), logs=logs)


def http(method, url, body=None, token=None, headers=None, ok=(200,)):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header('Content-Type', 'application/json')
    req.add_header('Accept', 'application/json')
    if token:
        req.add_header('X-Auth-Token', token)
    for key, value in (headers or {}).items():
        req.add_header(key, value)
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            payload = resp.read()
            return resp.status, resp.headers, (json.loads(payload)
                                               if payload else None)
    except urllib.error.HTTPError as exc:
        payload = exc.read()
        if exc.code in ok:
            return exc.code, exc.headers, None
        raise StepFailed('%s %s: %d %s' % (method, url, exc.code,
                                           payload[:500]))


def http_ok(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status < 500
    except urllib.error.HTTPError as exc:
        return exc.code < 500
    except Exception:
        return False


def write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(text)
    os.chmod(path, mode)


def ini(sections):
    """Render ``[(section, [(key, value), ...]), ...]`` as an INI file."""
    out = []
    for section, items in sections:
        out.append('[%s]' % section)
        for key, value in items:
            out.append('%s = %s' % (key, value))
        out.append('')
    return '\n'.join(out)


def load_state():
    if os.path.exists(STATE):
        with open(STATE) as f:
            return json.load(f)
    return {}


def save_state(state):
    write(STATE, json.dumps(state, indent=2, sort_keys=True) + '\n')


# ------------------------------------------------------- processes by pid

def pid_file(name):
    return os.path.join(RUN, name + '.pid')


def read_pid(name):
    try:
        with open(pid_file(name)) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def alive(name):
    pid = read_pid(name)
    if not pid:
        return False
    try:
        with open('/proc/%d/stat' % pid) as f:
            state = f.read().rsplit(')', 1)[1].split()[0]
    except OSError:
        return False
    return state not in ('Z', 'X')


def _signature(cmd, env):
    """What a service was started with, as one digest.

    The command, the environment, and the content of every file (or
    directory's files) they name.
    """
    digest = hashlib.sha256()
    for item in list(cmd) + sorted('%s=%s' % kv for kv in env.items()):
        digest.update(item.encode() + b'\0')
        paths = re.split(r'[=;\s]', item)
        for path in paths:
            if os.path.isdir(path) and path.startswith(ETC):
                files = sorted(os.path.join(path, f) for f in os.listdir(path))
            else:
                files = [path]
            for f in files:
                if os.path.isfile(f) and f.startswith(ETC):
                    with open(f, 'rb') as fh:
                        digest.update(fh.read())
    return digest.hexdigest()


def start(name, cmd, env=None, cwd=None):
    """Start ``cmd`` in its own session; its pid goes to run/NAME.pid.

    A service already running is left alone, unless its command,
    environment or configuration files changed since it started: then it
    is restarted (so that up applies a new configuration).
    """
    env = env or {}
    signature = _signature(cmd, env)
    sig_file = os.path.join(RUN, name + '.sig')
    if alive(name):
        try:
            with open(sig_file) as f:
                same = f.read().strip() == signature
        except OSError:
            same = False
        if same:
            return False
        say('    %s: configuration changed, restarting' % name)
        stop(name)
    os.makedirs(RUN, exist_ok=True)
    os.makedirs(LOGS, exist_ok=True)
    full_env = dict(os.environ)
    full_env.update(env or {})
    out = open(log_path(name), 'a')
    out.write('\n==== %s starting: %s\n' % (
        time.strftime('%Y-%m-%d %H:%M:%S'), ' '.join(cmd)))
    out.flush()
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, env=full_env,
                            cwd=cwd or CLOUD_DIR, start_new_session=True)
    out.close()
    write(pid_file(name), '%d\n' % proc.pid)
    write(sig_file, signature + '\n')
    return True


def stop(name, sig=signal.SIGTERM, timeout=30):
    """Stop the process group that ``start`` began for ``name``."""
    pid = read_pid(name)
    if pid and alive(name):
        try:
            # start() made the process the leader of its own session and
            # group: signalling the group reaches its workers too
            # (gunicorn's, rabbit's children), and nothing else.
            os.killpg(pid, sig)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + timeout
        while alive(name) and time.monotonic() < deadline:
            time.sleep(0.2)
        if alive(name):
            os.killpg(pid, signal.SIGKILL)
            time.sleep(0.5)
        # Reap our own child if it is one (restart from this process).
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
    group_left = pid and _group_members(pid)
    if group_left:
        for member in group_left:
            try:
                os.kill(member, signal.SIGKILL)
            except ProcessLookupError:
                pass
    for path in (pid_file(name), os.path.join(RUN, name + '.sig')):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
    return pid


def _group_members(pgid):
    members = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % entry) as f:
                fields = f.read().rsplit(')', 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] not in ('Z', 'X'):
            members.append(int(entry))
    return members


def services_started():
    if not os.path.isdir(RUN):
        return []
    return sorted(f[:-4] for f in os.listdir(RUN) if f.endswith('.pid'))


# ------------------------------------------------ the extension's values

def devstack_settings():
    """The defaults of the devstack plugin, read from devstack/settings.

    Only the plain ``NAME=${NAME:-value}`` lines are read; defaults built
    from devstack's variables (paths) are the script's own.
    """
    values = {}
    pattern = re.compile(r'^(NOVA_DELETE_EXT_\w+)=\$\{\1:-([^$}]*)\}\s*$')
    with open(os.path.join(REPO, 'devstack', 'settings')) as f:
        for line in f:
            match = pattern.match(line.strip())
            if match:
                values[match.group(1)] = match.group(2)
    return values


def extension_sections(role, policies):
    """The nova.conf lines of the installation guide, plus the policies.

    ``role`` is ``api`` or ``compute``. The values are the devstack
    plugin's (devstack/settings), so both set the same options.
    """
    d = devstack_settings()
    sections = [
        ('oslo_messaging_notifications', [('driver', 'nova_delete_ext')]),
    ]
    ext = [('record_file', os.path.join(LOGS, 'delete-records.jsonl'))]
    if policies:
        ext.append(('policies', ','.join(policies)))
    sections.append(('delete_ext', ext))
    if 'protect' in policies:
        sections.append(('delete_ext_protect', [
            ('metadata_key', d['NOVA_DELETE_EXT_PROTECT_METADATA_KEY']),
            ('tag', d['NOVA_DELETE_EXT_PROTECT_TAG'])]))
    if 'recycle' in policies:
        # CLOUD_RECYCLE_RETENTION: part 3's reclaim wants seconds.
        sections.append(('delete_ext_recycle', [
            ('retention', os.environ.get(
                'CLOUD_RECYCLE_RETENTION',
                d['NOVA_DELETE_EXT_RECYCLE_RETENTION']))]))
    if 'capture' in policies:
        sections.append(('delete_ext_capture', [
            ('directory', os.path.join(DATA, 'nova-delete-ext', 'capture'))]))
    if 'verify' in policies:
        sections.append(('delete_ext_verify', [
            ('mode', os.environ.get('CLOUD_VERIFY_MODE',
                                    d['NOVA_DELETE_EXT_VERIFY_MODE']))]))
    return sections


def reclaim_interval(role):
    """``[DEFAULT]reclaim_instance_interval`` as the devstack plugin sets it.

    Only with recycle enabled, on nova-api and nova-compute (devstack sets
    it in the nova.conf every service reads). CLOUD_RECLAIM_INSTANCE_INTERVAL
    overrides the value (the reclaim scenario wants a short one).
    """
    if role not in ('api', 'compute') or 'recycle' not in cloud_policies():
        return []
    value = os.environ.get('CLOUD_RECLAIM_INSTANCE_INTERVAL') or \
        devstack_settings()['NOVA_DELETE_EXT_RECLAIM_INSTANCE_INTERVAL']
    return [('reclaim_instance_interval', value)]


def extension_active():
    """False with CLOUD_EXTENSION=0: Nova alone, as a benchmark compares."""
    return os.environ.get('CLOUD_EXTENSION', '1') not in ('0', 'false', 'no')


def cloud_policies():
    text = os.environ.get('CLOUD_POLICIES', 'protect,capture,verify')
    return [p.strip() for p in text.split(',') if p.strip()]


# ------------------------------------------------------------ the phases

def phase_packages(state):
    missing = [pkg for pkg, binary in APT_PACKAGES.items()
               if not (shutil.which(binary)
                       or os.path.exists('/usr/sbin/' + binary))]
    if not missing:
        say('    Debian packages present: %s' % ', '.join(APT_PACKAGES))
        return
    say('    installing %s' % ', '.join(missing))
    env = {'DEBIAN_FRONTEND': 'noninteractive'}
    # Debian would start the servers it installs; we start our own.
    policy = '/usr/sbin/policy-rc.d'
    own_policy = not os.path.exists(policy)
    if own_policy:
        write(policy, '#!/bin/sh\nexit 101\n', 0o755)
    try:
        run(['apt-get', 'update', '-qq'], log='apt', env=env)
        run(['apt-get', 'install', '-y', '-qq'] + missing, log='apt',
            env=env)
    finally:
        if own_policy:
            os.unlink(policy)
    state['apt_installed'] = missing
    save_state(state)


def _venv_stamp():
    digest = hashlib.sha256()
    for name in ('upper-constraints.txt', 'requirements.txt', 'setup.cfg'):
        with open(os.path.join(REPO, name), 'rb') as f:
            digest.update(f.read())
    digest.update(' '.join(PIP_PACKAGES).encode())
    digest.update(REPO.encode())
    return digest.hexdigest()


def phase_venv(state):
    stamp_file = os.path.join(VENV, '.cloud-stamp')
    stamp = _venv_stamp()
    if os.path.exists(stamp_file) and open(stamp_file).read() == stamp:
        say('    %s is up to date' % VENV)
        return
    if not os.path.exists(os.path.join(BIN, 'python')):
        run([PYTHON, '-m', 'venv', VENV], log='pip')
        run([os.path.join(BIN, 'pip'), 'install', '-q', '-U', 'pip'],
            log='pip')
    constraints = os.environ.get(
        'TOX_CONSTRAINTS_FILE', os.path.join(REPO, 'upper-constraints.txt'))
    wanted = ['-c', constraints] + PIP_PACKAGES + ['-e', REPO]
    if not (INSTALLER == 'uv' and _install_with_uv(wanted)):
        run([os.path.join(BIN, 'pip'), 'install'] + wanted, log='pip',
            timeout=1800)
    run([os.path.join(BIN, 'pip'), 'check'], log='pip', check=False)
    write(stamp_file, stamp)


def _install_with_uv(wanted):
    """Install with uv; False (and pip does it) if uv cannot.

    The same packages and constraints as pip, resolved to the same
    versions (the constraints pin every one): on this project's two-core
    machine, 30 s where pip took about four minutes.
    uv reads neither pip.conf nor PIP_* variables: where packages must
    come from a mirror only pip is told about, CLOUD_INSTALLER=pip.
    """
    try:
        run([os.path.join(BIN, 'pip'), 'install', '-q', UV], log='pip')
        run([os.path.join(BIN, 'uv'), 'pip', 'install', '--python',
             os.path.join(BIN, 'python')] + wanted, log='pip',
            timeout=1800)
    except (StepFailed, subprocess.TimeoutExpired) as exc:
        say('    uv could not install (%s); installing with pip' % exc)
        return False
    return True


def _mysql(sql, state):
    db = state['db']
    cmd = ['mariadb', '-uroot', '--batch', '--skip-column-names']
    if db.get('socket'):
        cmd.append('--socket=%s' % db['socket'])
    else:
        cmd += ['-h', HOST, '-P', str(db['port'])]
    return run(cmd + ['-e', sql])


def phase_mariadb(state):
    if state.get('db', {}).get('external') is None:
        state['db'] = {}
    db = state['db']
    if port_open(3306) and not alive('mariadb'):
        probe = subprocess.run(['mariadb', '-uroot', '-h', HOST, '-e',
                                'SELECT 1'], capture_output=True)
        if probe.returncode == 0:
            say('    using the MariaDB answering on %s:3306' % HOST)
            db.update(external=True, port=3306, socket=None)
            save_state(state)
            _create_databases(state)
            return
        say('    something answers on 3306 but root cannot log in; '
            'starting a private MariaDB')
    datadir = os.path.join(DATA, 'mysql')
    sock = os.path.join(RUN, 'mysqld.sock')
    db.update(external=False, port=PORTS['mysql'], socket=sock)
    save_state(state)
    if not os.path.isdir(os.path.join(datadir, 'mysql')):
        os.makedirs(datadir, exist_ok=True)
        run(['mariadb-install-db', '--no-defaults', '--user=root',
             '--datadir=%s' % datadir,
             '--auth-root-authentication-method=socket',
             '--skip-test-db'], log='mariadb')
    start('mariadb', ['mariadbd', '--no-defaults', '--user=root',
                      '--datadir=%s' % datadir, '--socket=%s' % sock,
                      '--port=%d' % PORTS['mysql'], '--bind-address=%s' % HOST,
                      '--pid-file=%s' % os.path.join(DATA, 'mysqld.pid'),
                      '--max-connections=1000',
                      '--innodb-buffer-pool-size=256M',
                      '--innodb-flush-log-at-trx-commit=0',
                      '--skip-name-resolve'])
    wait_for('MariaDB', lambda: os.path.exists(sock) and
             port_open(PORTS['mysql']), 60, ['mariadb'], 'mariadb')
    _create_databases(state)


def _create_databases(state):
    statements = []
    for name in DATABASES:
        statements.append('CREATE DATABASE IF NOT EXISTS %s '
                          'CHARACTER SET utf8mb4' % name)
    statements.append("CREATE USER IF NOT EXISTS 'cloud'@'127.0.0.1' "
                      "IDENTIFIED BY '%s'" % PASSWORD)
    statements.append("GRANT ALL PRIVILEGES ON *.* TO 'cloud'@'127.0.0.1'")
    statements.append('FLUSH PRIVILEGES')
    _mysql('; '.join(statements), state)


def db_url(state, name):
    return 'mysql+pymysql://cloud:%s@%s:%d/%s?charset=utf8mb4' % (
        PASSWORD, HOST, state['db']['port'], name)


def phase_rabbitmq(state):
    if port_open(5672) and not alive('rabbitmq'):
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
    base = os.path.join(DATA, 'rabbitmq')
    os.makedirs(base, exist_ok=True)
    write(os.path.join(ETC, 'rabbitmq', 'rabbitmq.conf'), '\n'.join([
        'listeners.tcp.default = %s:%d' % (HOST, PORTS['rabbit']),
        'loopback_users.guest = true',
        'management.tcp.ip = %s' % HOST,
        'log.file.level = info',
        '']))
    write(os.path.join(ETC, 'rabbitmq', 'enabled_plugins'), '[].\n')
    env = rabbit_env()
    # epmd is started by us, in the foreground, so that its pid is ours.
    start('epmd', ['epmd', '-address', HOST, '-port', str(PORTS['epmd'])],
          env=env)
    wait_for('epmd', lambda: port_open(PORTS['epmd']), 20, ['epmd'], 'epmd')
    start('rabbitmq', ['/usr/lib/rabbitmq/bin/rabbitmq-server'], env=env)
    wait_for('RabbitMQ', lambda: port_open(PORTS['rabbit']), 120,
             ['rabbitmq'], 'rabbitmq')


def rabbit_env():
    base = os.path.join(DATA, 'rabbitmq')
    return {
        'HOME': base,
        'RABBITMQ_NODENAME': 'cloud@localhost',
        'RABBITMQ_NODE_IP_ADDRESS': HOST,
        'RABBITMQ_NODE_PORT': str(PORTS['rabbit']),
        'RABBITMQ_DIST_PORT': str(PORTS['rabbit_dist']),
        'ERL_EPMD_ADDRESS': HOST,
        'ERL_EPMD_PORT': str(PORTS['epmd']),
        'RABBITMQ_CONFIG_FILE': os.path.join(ETC, 'rabbitmq', 'rabbitmq.conf'),
        'RABBITMQ_ENABLED_PLUGINS_FILE': os.path.join(ETC, 'rabbitmq',
                                                      'enabled_plugins'),
        'RABBITMQ_MNESIA_BASE': os.path.join(base, 'mnesia'),
        'RABBITMQ_LOG_BASE': LOGS,
        'RABBITMQ_LOGS': log_path('rabbitmq-server'),
        'RABBITMQ_PID_FILE': os.path.join(DATA, 'rabbitmq.pid'),
        'RABBITMQ_CONF_ENV_FILE': os.path.join(ETC, 'rabbitmq', 'env'),
        'RABBITMQ_ADVANCED_CONFIG_FILE': os.path.join(ETC, 'rabbitmq',
                                                      'advanced.config'),
    }


def transport_url(state):
    return 'rabbit://guest:guest@%s:%d/' % (HOST, state['rabbit']['port'])


def url(service, path=''):
    return 'http://%s:%d%s' % (HOST, PORTS[service], path)


def keystone_auth(user, project='service'):
    return [('auth_type', 'password'),
            ('auth_url', url('keystone', '/v3')),
            ('username', user), ('password', PASSWORD),
            ('user_domain_name', 'Default'),
            ('project_name', project),
            ('project_domain_name', 'Default')]


def authtoken(user):
    return ('keystone_authtoken', [
        ('www_authenticate_uri', url('keystone', '/v3')),
        ('service_token_roles_required', 'true'),
    ] + keystone_auth(user))


def gunicorn(name, module, workers, port, env, argv=''):
    """Serve ``module``'s ``application`` with gunicorn (sync workers)."""
    env = dict(env, WSGI_MODULE=module, WSGI_PROG=name, WSGI_ARGV=argv)
    cmd = [os.path.join(BIN, 'gunicorn'), '--name', name,
           '--workers', str(workers), '--bind', '%s:%d' % (HOST, port),
           '--timeout', '300', '--graceful-timeout', '10',
           '--no-control-socket',
           'nova_delete_ext.tests.cloud.wsgi:application']
    return start(name, cmd, env=env)


# -- keystone

def schema_keystone(state):
    """keystone.conf, and Keystone's database schema."""
    conf = os.path.join(ETC, 'keystone', 'keystone.conf')
    write(conf, ini([
        ('DEFAULT', [('use_stderr', 'true')]),
        ('database', [('connection', db_url(state, 'keystone'))]),
        # bcrypt's fewest rounds: every Tempest run creates users and
        # authenticates them; at the default 12 rounds each password check
        # costs about 0.3 s of CPU on this 2-core machine. Test cloud only.
        ('identity', [('password_hash_rounds', '4')]),
        ('token', [('provider', 'fernet')]),
        ('fernet_tokens', [('key_repository',
                            os.path.join(DATA, 'keystone', 'fernet-keys'))]),
        ('credential', [('key_repository',
                         os.path.join(DATA, 'keystone', 'credential-keys'))]),
    ]))
    manage = [os.path.join(BIN, 'keystone-manage'), '--config-file', conf]
    for d in ('fernet-keys', 'credential-keys'):
        os.makedirs(os.path.join(DATA, 'keystone', d), exist_ok=True)
    once(state, 'keystone-db', run, manage + ['db_sync'], 'keystone-manage')
    return conf, manage


def phase_keystone(state):
    conf, manage = schema_keystone(state)
    if not os.listdir(os.path.join(DATA, 'keystone', 'fernet-keys')):
        run(manage + ['fernet_setup', '--keystone-user', 'root',
                      '--keystone-group', 'root'], log='keystone-manage')
    if not os.listdir(os.path.join(DATA, 'keystone', 'credential-keys')):
        run(manage + ['credential_setup', '--keystone-user', 'root',
                      '--keystone-group', 'root'], log='keystone-manage')
    once(state, 'keystone-bootstrap', run, manage + [
        'bootstrap', '--bootstrap-password', PASSWORD,
        '--bootstrap-admin-url', url('keystone', '/v3'),
        '--bootstrap-public-url', url('keystone', '/v3'),
        '--bootstrap-internal-url', url('keystone', '/v3'),
        '--bootstrap-region-id', REGION], 'keystone-manage')
    gunicorn('keystone', 'keystone.wsgi.api', 2,
             PORTS['keystone'], {'OS_KEYSTONE_CONFIG_FILES': conf})
    wait_for('Keystone', lambda: http_ok(url('keystone', '/v3')), 120,
             ['keystone'], 'keystone')


class Keystone:
    """Just enough of the identity API, idempotent, with urllib."""

    def __init__(self):
        _, headers, body = http('POST', url('keystone', '/v3/auth/tokens'), {
            'auth': {'identity': {'methods': ['password'], 'password': {
                'user': {'name': 'admin', 'domain': {'name': 'Default'},
                         'password': PASSWORD}}},
                     'scope': {'project': {'name': 'admin',
                                           'domain': {'name': 'Default'}}}}},
            ok=(201,))
        self.token = headers['X-Subject-Token']
        self.project_id = body['token']['project']['id']

    def call(self, method, path, body=None, ok=(200,)):
        return http(method, url('keystone', '/v3' + path), body, self.token,
                    ok=ok)[2]

    def find(self, kind, **filters):
        query = '&'.join('%s=%s' % kv for kv in filters.items())
        found = self.call('GET', '/%s?%s' % (kind, query))[kind]
        return found[0] if found else None

    def ensure(self, kind, body, **filters):
        found = self.find(kind, **filters)
        if found:
            return found
        return self.call('POST', '/' + kind, {kind[:-1]: body},
                         ok=(201,))[kind[:-1]]

    def grant(self, project_id, user_id, role_id):
        self.call('PUT', '/projects/%s/users/%s/roles/%s'
                  % (project_id, user_id, role_id), ok=(204,))


def phase_registrations(state):
    ks = Keystone()
    service_project = ks.ensure('projects', {
        'name': 'service', 'domain_id': 'default'}, name='service')
    roles = {name: ks.ensure('roles', {'name': name}, name=name)['id']
             for name in ('admin', 'member', 'reader', 'service')}
    for user in SERVICE_USERS:
        u = ks.ensure('users', {'name': user, 'password': PASSWORD,
                                'domain_id': 'default'}, name=user)
        ks.grant(service_project['id'], u['id'], roles['admin'])
        ks.grant(service_project['id'], u['id'], roles['service'])
    catalog = [
        ('placement', 'placement', url('placement')),
        ('glance', 'image', url('glance')),
        ('nova', 'compute', url('nova', '/v2.1')),
        ('neutron', 'network', url('neutron')),
    ]
    if WITH_CINDER:
        catalog += [
            ('cinderv3', 'volumev3', url('cinder', '/v3/$(project_id)s')),
            ('cinder', 'block-storage', url('cinder', '/v3/$(project_id)s')),
        ]
    for name, stype, endpoint in catalog:
        service = ks.ensure('services', {'name': name, 'type': stype},
                            type=stype)
        for interface in ('public', 'internal', 'admin'):
            existing = ks.find('endpoints', service_id=service['id'],
                               interface=interface)
            if existing and existing['url'] != endpoint:
                ks.call('DELETE', '/endpoints/%s' % existing['id'],
                        ok=(204,))
                existing = None
            if not existing:
                ks.call('POST', '/endpoints', {'endpoint': {
                    'service_id': service['id'], 'interface': interface,
                    'url': endpoint, 'region_id': REGION}}, ok=(201,))


# -- placement

def schema_placement(state):
    conf_dir = os.path.join(ETC, 'placement')
    write(os.path.join(conf_dir, 'placement.conf'), ini([
        ('DEFAULT', [('use_stderr', 'true')]),
        ('placement_database', [('connection', db_url(state, 'placement'))]),
        ('api', [('auth_strategy', 'keystone')]),
        authtoken('placement'),
    ]))
    env = {'OS_PLACEMENT_CONFIG_DIR': conf_dir}
    once(state, 'placement-db', run, [
        os.path.join(BIN, 'placement-manage'), '--config-dir', conf_dir,
        'db', 'sync'], 'placement-manage', env)
    return env


def phase_placement(state):
    env = schema_placement(state)
    gunicorn('placement', 'placement.wsgi.api', PLACEMENT_WORKERS,
             PORTS['placement'], env)
    wait_for('Placement', lambda: http_ok(url('placement')), 120,
             ['placement'], 'placement')


# -- glance

def schema_glance(state):
    conf_dir = os.path.join(ETC, 'glance')
    images = os.path.join(DATA, 'glance')
    write(os.path.join(conf_dir, 'glance-api.conf'), ini([
        ('DEFAULT', [('use_stderr', 'true'),
                     ('enabled_backends', 'fs:file'),
                     ('transport_url', transport_url(state))]),
        ('database', [('connection', db_url(state, 'glance'))]),
        ('paste_deploy', [('flavor', 'keystone')]),
        authtoken('glance'),
        ('glance_store', [('default_backend', 'fs')]),
        ('fs', [('filesystem_store_datadir', os.path.join(images, 'images'))]),
        ('os_glance_staging_store', [(
            'filesystem_store_datadir', os.path.join(images, 'staging'))]),
        ('os_glance_tasks_store', [(
            'filesystem_store_datadir', os.path.join(images, 'tasks'))]),
        ('oslo_concurrency', [('lock_path', os.path.join(DATA, 'locks'))]),
    ]))
    shutil.copy(os.path.join(VENV, 'etc', 'glance', 'glance-api-paste.ini'),
                os.path.join(conf_dir, 'glance-api-paste.ini'))
    for d in ('images', 'staging', 'tasks'):
        os.makedirs(os.path.join(images, d), exist_ok=True)
    env = {'OS_GLANCE_CONFIG_DIR': conf_dir}
    once(state, 'glance-db', run, [
        os.path.join(BIN, 'glance-manage'), '--config-file',
        os.path.join(conf_dir, 'glance-api.conf'), 'db_sync'],
        'glance-manage', env)
    return env


def phase_glance(state):
    env = schema_glance(state)
    gunicorn('glance', 'glance.wsgi.api', 1, PORTS['glance'],
             env)
    wait_for('Glance', lambda: http_ok(url('glance')), 120, ['glance'],
             'glance')


def admin_token():
    return Keystone().token


def phase_image(state):
    token = admin_token()
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


# -- neutron

def schema_neutron(state):
    conf_dir = os.path.join(ETC, 'neutron')
    os.makedirs(conf_dir, exist_ok=True)
    shutil.copy(os.path.join(VENV, 'etc', 'neutron', 'api-paste.ini'),
                os.path.join(conf_dir, 'api-paste.ini'))
    conf = os.path.join(conf_dir, 'neutron.conf')
    write(conf, ini([
        ('DEFAULT', [('use_stderr', 'true'),
                     ('core_plugin', 'ml2'),
                     ('service_plugins', ''),
                     ('auth_strategy', 'keystone'),
                     ('transport_url', transport_url(state)),
                     ('state_path', os.path.join(DATA, 'neutron')),
                     ('api_paste_config', os.path.join(conf_dir,
                                                       'api-paste.ini')),
                     ('notify_nova_on_port_status_changes', 'true'),
                     ('notify_nova_on_port_data_changes', 'true'),
                     ('rpc_workers', '0'), ('rpc_state_report_workers', '0')]),
        ('database', [('connection', db_url(state, 'neutron'))]),
        authtoken('neutron'),
        ('nova', keystone_auth('nova') + [('region_name', REGION)]),
        ('placement', keystone_auth('placement') + [('region_name', REGION)]),
        ('ml2', [('type_drivers', 'flat,vxlan'),
                 ('tenant_network_types', 'vxlan'),
                 ('mechanism_drivers', 'delete_ext_fake'),
                 ('extension_drivers', 'port_security')]),
        ('ml2_type_vxlan', [('vni_ranges', '1:1000')]),
        ('ml2_type_flat', [('flat_networks', 'public')]),
        ('oslo_concurrency', [('lock_path', os.path.join(DATA, 'locks'))]),
    ]))
    once(state, 'neutron-db', run, [
        os.path.join(BIN, 'neutron-db-manage'), '--config-file', conf,
        'upgrade', 'heads'], 'neutron-db-manage')
    return conf_dir


def phase_neutron(state):
    conf_dir = schema_neutron(state)
    gunicorn('neutron', 'neutron.wsgi.api', 1, PORTS['neutron'],
             {'OS_NEUTRON_CONFIG_DIR': conf_dir,
              'OS_NEUTRON_CONFIG_FILES': 'neutron.conf'})
    wait_for('Neutron', lambda: http_ok(url('neutron')), 180, ['neutron'],
             'neutron')


def phase_network(state):
    token = admin_token()
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


# -- nova

def nova_sections(state, role):
    """nova.conf of one process: ``api``, ``conductor``, ``compute``."""
    state_path = os.path.join(DATA, 'nova', role)
    common = [
        ('DEFAULT', [('use_stderr', 'true'),
                     ('transport_url', transport_url(state)),
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
         + reclaim_interval(role)),
        ('api', [('auth_strategy', 'keystone')]),
        ('api_database', [('connection', db_url(state, 'nova_api'))]),
        ('database', [('connection', db_url(state, 'nova_cell1'))]),
        authtoken('nova'),
        ('service_user', [('send_service_user_token', 'true')]
         + keystone_auth('nova')),
        ('placement', keystone_auth('placement') + [('region_name', REGION)]),
        ('neutron', keystone_auth('neutron') + [('region_name', REGION)]),
        ('glance', [('region_name', REGION)]),
        ('cinder', [('os_region_name', REGION)] + keystone_auth('cinder')),
        ('conductor', [('workers', '1')]),
        ('scheduler', [('workers', '1'),
                       ('discover_hosts_in_cells_interval', '-1')]),
        ('oslo_concurrency', [('lock_path', os.path.join(DATA, 'locks'))]),
        ('vnc', [('enabled', 'false')]),
        ('wsgi', [('api_paste_config', os.path.join(ETC, 'nova', 'api',
                                                    'api-paste.ini'))]),
    ]
    if role in ('api', 'compute') and extension_active():
        common += extension_sections(role, cloud_policies())
    return common


def nova_conf(role):
    return os.path.join(ETC, 'nova', role, 'nova.conf')


def write_nova_confs(state):
    """Write the nova.conf of each role; return the roles that changed."""
    changed = []
    for role in ('api', 'conductor', 'compute'):
        text = ini(nova_sections(state, role))
        path = nova_conf(role)
        if not os.path.exists(path) or open(path).read() != text:
            changed.append(role)
            write(path, text)
        os.makedirs(os.path.join(DATA, 'nova', role), exist_ok=True)
    shutil.copy(os.path.join(VENV, 'etc', 'nova', 'api-paste.ini'),
                os.path.join(ETC, 'nova', 'api', 'api-paste.ini'))
    return changed


def nova_manage(args, log='nova-manage', check=True):
    return run([os.path.join(BIN, 'nova-manage'), '--config-file',
                nova_conf('conductor')] + args, log=log, check=check)


def phase_nova_db(state):
    write_nova_confs(state)
    once(state, 'nova-db', _nova_db_sync, state)


def _nova_db_sync(state):
    nova_manage(['api_db', 'sync'])
    nova_manage(['cell_v2', 'map_cell0', '--database_connection',
                 db_url(state, 'nova_cell0')])
    cells = run([os.path.join(BIN, 'nova-manage'), '--config-file',
                 nova_conf('conductor'), 'cell_v2', 'list_cells'])
    if ' cell1 ' not in cells:
        nova_manage(['cell_v2', 'create_cell', '--name', 'cell1',
                     '--verbose'])
    nova_manage(['db', 'sync'])


def start_nova_api():
    gunicorn('nova-api', 'nova.wsgi.osapi_compute',
             NOVA_API_WORKERS, PORTS['nova'],
             {'OS_NOVA_CONFIG_DIR': os.path.join(ETC, 'nova', 'api'),
              'OS_NOVA_CONFIG_FILES': 'api-paste.ini;nova.conf'})


def start_nova_compute():
    start('nova-compute', [os.path.join(BIN, 'python'), '-m',
                           'nova_delete_ext.tests.cloud.nova_compute',
                           '--config-file', nova_conf('compute')])


def phase_nova(state):
    write_nova_confs(state)
    start('nova-conductor', [os.path.join(BIN, 'nova-conductor'),
                             '--config-file', nova_conf('conductor')])
    start('nova-scheduler', [os.path.join(BIN, 'nova-scheduler'),
                             '--config-file', nova_conf('conductor')])
    start_nova_api()
    start_nova_compute()
    wait_for('nova-api', lambda: http_ok(url('nova')), 180, ['nova-api'],
             'nova-api')
    token = admin_token()
    wait_for('nova-compute service', lambda: _compute_up(token), 180,
             ['nova-compute', 'nova-conductor'], 'nova-compute')
    nova_manage(['cell_v2', 'discover_hosts', '--verbose'])
    wait_for('hypervisor', lambda: _hypervisor_up(token), 120,
             ['nova-compute', 'nova-scheduler'], 'nova-compute')


def _nova_get(token, path):
    return http('GET', url('nova', '/v2.1' + path), token=token,
                headers={'OpenStack-API-Version': 'compute 2.53'})[2]


def _compute_up(token, since=''):
    """nova-compute is up (and has reported since ``since``, UTC ISO)."""
    try:
        services = _nova_get(token, '/os-services?binary=nova-compute')
    except StepFailed:
        return False
    return any(s['state'] == 'up' and (s['updated_at'] or '') > since
               for s in services['services'])


def _hypervisor_up(token):
    try:
        hvs = _nova_get(token, '/os-hypervisors')['hypervisors']
    except StepFailed:
        return False
    return any(h['state'] == 'up' for h in hvs)


def phase_flavors(state):
    token = admin_token()
    wanted = [('1', 'm1.tiny', 1, 128, 1), ('2', 'm1.micro', 1, 192, 1)]
    for fid, name, vcpus, ram, disk in wanted:
        try:
            _nova_get(token, '/flavors/%s' % fid)
            continue
        except StepFailed:
            pass
        http('POST', url('nova', '/v2.1/flavors'), {'flavor': {
            'id': fid, 'name': name, 'vcpus': vcpus, 'ram': ram,
            'disk': disk}}, token=token)
    state['flavors'] = [w[0] for w in wanted]
    save_state(state)


# -- cinder

def schema_cinder(state):
    conf_dir = os.path.join(ETC, 'cinder')
    os.makedirs(conf_dir, exist_ok=True)
    shutil.copy(os.path.join(VENV, 'etc', 'cinder', 'api-paste.ini'),
                os.path.join(conf_dir, 'api-paste.ini'))
    shutil.copy(os.path.join(VENV, 'etc', 'cinder', 'resource_filters.json'),
                os.path.join(conf_dir, 'resource_filters.json'))
    conf = os.path.join(conf_dir, 'cinder.conf')
    write(conf, ini([
        ('DEFAULT', [('use_stderr', 'true'),
                     ('transport_url', transport_url(state)),
                     ('state_path', os.path.join(DATA, 'cinder')),
                     ('auth_strategy', 'keystone'),
                     ('api_paste_config', os.path.join(conf_dir,
                                                       'api-paste.ini')),
                     ('resource_query_filters_file',
                      os.path.join(conf_dir, 'resource_filters.json')),
                     ('enabled_backends', 'fake'),
                     ('my_ip', HOST),
                     ('host', 'storage1')]),
        ('database', [('connection', db_url(state, 'cinder'))]),
        authtoken('cinder'),
        ('nova', keystone_auth('nova') + [('region_name', REGION)]),
        ('fake', [('volume_driver',
                   'cinder.tests.fake_driver.FakeLoggingVolumeDriver'),
                  ('volume_backend_name', 'fake')]),
        ('oslo_concurrency', [('lock_path', os.path.join(DATA, 'locks'))]),
    ]))
    os.makedirs(os.path.join(DATA, 'cinder'), exist_ok=True)
    once(state, 'cinder-db', run, [
        os.path.join(BIN, 'cinder-manage'), '--config-file', conf,
        'db', 'sync'], 'cinder-manage')
    return conf


def phase_cinder(state):
    conf = schema_cinder(state)
    gunicorn('cinder-api', 'cinder.wsgi.api', 1, PORTS['cinder'], {},
             argv='--config-file %s' % conf)
    start('cinder-scheduler', [os.path.join(BIN, 'cinder-scheduler'),
                               '--config-file', conf])
    start('cinder-volume', [os.path.join(BIN, 'cinder-volume'),
                            '--config-file', conf])
    wait_for('cinder-api', lambda: http_ok(url('cinder')), 180,
             ['cinder-api'], 'cinder-api')
    ks = Keystone()
    wait_for('cinder-volume', lambda: _cinder_volume_up(ks), 180,
             ['cinder-volume', 'cinder-scheduler'], 'cinder-volume')


def _cinder_volume_up(ks):
    try:
        services = http('GET', url('cinder', '/v3/%s/os-services?binary='
                                   'cinder-volume' % ks.project_id),
                        token=ks.token)[2]['services']
    except StepFailed:
        return False
    return any(s['state'] == 'up' for s in services)


# -- every service's database schema at once

def phase_schemas(state):
    """Write the services' configuration and sync their schemas at once.

    Each sync is a Python program of its own (keystone-manage,
    nova-manage, neutron-db-manage, ...), mostly busy importing and
    running migrations: one after the other they took about 260 s of a
    first up on two cores, side by side about half. Each service's phase
    later finds its schema done (once()).
    """
    jobs = [schema_keystone, schema_placement, schema_glance,
            schema_neutron, phase_nova_db]
    if WITH_CINDER:
        jobs.append(schema_cinder)
    failures = []

    def job(func):
        t0 = time.monotonic()
        try:
            func(state)
        except Exception as exc:
            failures.append(exc)
            say('    %s FAILED: %s' % (func.__name__, exc))
        else:
            say('    %s: %.1fs' % (func.__name__, time.monotonic() - t0))

    threads = [threading.Thread(target=job, args=(f,)) for f in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        exc = failures[0]
        raise StepFailed('%d schema sync(s) failed; the first: %s'
                         % (len(failures), exc),
                         logs=getattr(exc, 'logs', ()))


# ---------------------------------------------------------------- commands

def up(args):
    for d in (CLOUD_DIR, ETC, DATA, RUN, LOGS):
        os.makedirs(d, exist_ok=True)
    state = load_state()
    phases = Phases()
    steps = [
        ('Debian packages', phase_packages),
        ('virtual environment', phase_venv),
        ('MariaDB', phase_mariadb),
        ('RabbitMQ', phase_rabbitmq),
        ('database schemas', phase_schemas),
        ('Keystone', phase_keystone),
        ('service users, endpoints', phase_registrations),
        ('Placement', phase_placement),
        ('Glance', phase_glance),
        ('images', phase_image),
        ('Neutron', phase_neutron),
        ('network', phase_network),
        ('Nova databases', phase_nova_db),
        ('Nova services', phase_nova),
        ('flavors', phase_flavors),
    ]
    if WITH_CINDER:
        steps.append(('Cinder', phase_cinder))
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


# down stops the OpenStack services together, then the message bus and
# the database they used.
INFRA_ORDER = ['rabbitmq', 'epmd', 'mariadb']


def stop_many(names, timeout):
    """SIGTERM every process group in ``names`` at once, wait, SIGKILL."""
    pids = {name: read_pid(name) for name in names}
    for name, pid in pids.items():
        if pid and alive(name):
            try:
                os.killpg(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(alive(n) for n in names):
        time.sleep(0.2)
    for name in names:
        # stop() SIGKILLs what is left, sweeps the group, removes the files.
        stop(name, timeout=5)
        say('stopped %-16s pid %s' % (name, pids[name]))


def down(args):
    names = services_started()
    stop_many([n for n in names if n not in INFRA_ORDER], timeout=20)
    for name in INFRA_ORDER:
        if name in names:
            stop_many([name], timeout=60)
    state = load_state()
    state['up'] = False
    if os.path.exists(CLOUD_DIR):
        save_state(state)
    if args.purge:
        keep = os.path.join(CLOUD_DIR, 'venv') if args.keep_venv else None
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
    for name in services_started():
        ok = alive(name)
        code |= 0 if ok else 1
        say('%-16s pid %-8s %s' % (name, read_pid(name),
                                   'running' if ok else 'NOT running'))
    return code


def restart(args):
    """Restart Nova services (e.g. with another policy set).

    All the services named are stopped, then started, then waited for:
    nova-api and nova-compute start side by side, which halves the pause
    between two test parts.
    """
    unknown = set(args.services) - {'nova-api', 'nova-compute'}
    if unknown:
        raise SystemExit('restart knows nova-api and nova-compute')
    state = load_state()
    write_nova_confs(state)
    for name in args.services:
        stop(name, sig=signal.SIGKILL if args.kill else signal.SIGTERM)
    since = time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime())
    starts = {'nova-api': start_nova_api, 'nova-compute': start_nova_compute}
    for name in args.services:
        starts[name]()
    # nova-api first: the compute service is checked through its API.
    for name in sorted(args.services, key=lambda n: n != 'nova-api'):
        if name == 'nova-api':
            wait_for('nova-api', lambda: http_ok(url('nova')), 180,
                     ['nova-api'], 'nova-api')
        else:
            token = admin_token()
            wait_for('nova-compute', lambda: _compute_up(token, since), 180,
                     ['nova-compute'], 'nova-compute')
        say('restarted %s' % name)
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
        'nova_conf': {r: nova_conf(r) for r in ('api', 'compute',
                                                'conductor')},
        'record_file': os.path.join(LOGS, 'delete-records.jsonl'),
        'run': RUN, 'compute_state_path': os.path.join(DATA, 'nova',
                                                       'compute'),
        'protect_tag': devstack_settings()['NOVA_DELETE_EXT_PROTECT_TAG'],
    }, indent=2))
    return 0


def tempest_conf(args):
    """Write a Tempest workspace's tempest.conf for this cloud."""
    state = load_state()
    d = devstack_settings()
    policies = cloud_policies()
    images = state['images']
    flavors = state['flavors']
    path = os.path.join(args.workspace, 'etc', 'tempest.conf')
    write(path, ini([
        ('DEFAULT', [('log_file', os.path.join(LOGS, 'tempest.log')),
                     ('use_stderr', 'false')]),
        ('auth', [('admin_username', 'admin'),
                  ('admin_password', PASSWORD),
                  ('admin_project_name', 'admin'),
                  ('admin_domain_name', 'Default'),
                  ('use_dynamic_credentials', 'true'),
                  ('create_isolated_networks', 'false'),
                  ('tempest_roles', 'member')]),
        ('identity', [('uri_v3', url('keystone', '/v3')),
                      ('auth_version', 'v3'), ('region', REGION)]),
        ('identity-feature-enabled', [('api_v2', 'false')]),
        ('compute', [('image_ref', images[0]),
                     ('image_ref_alt', images[1]),
                     ('flavor_ref', flavors[0]),
                     ('flavor_ref_alt', flavors[1]),
                     ('fixed_network_name', 'shared'),
                     ('min_compute_nodes', '1'),
                     ('max_microversion', 'latest'),
                     ('shelved_offload_time', '-1'),
                     ('build_timeout', os.environ.get(
                         'CLOUD_BUILD_TIMEOUT', '300')),
                     ('region', REGION)]),
        ('compute-feature-enabled', [
            ('resize', 'true'), ('shelve', 'true'), ('pause', 'true'),
            ('suspend', 'true'), ('console_output', 'true'),
            ('cold_migration', 'false'), ('live_migration', 'false'),
            ('vnc_console', 'false'), ('spice_console', 'false'),
            ('serial_console', 'false'), ('rescue', 'true'),
            ('attach_encrypted_volume', 'false')]),
        ('network', [('region', REGION), ('shared_physical_network',
                                          'false')]),
        ('network-feature-enabled', [('api_extensions', 'all')]),
        ('image', [('region', REGION)]),
        ('image-feature-enabled', [('api_v2', 'true')]),
        ('volume', [('region', REGION), ('catalog_type', 'volumev3'),
                    ('backend_names', 'fake'),
                    ('storage_protocol', 'iSCSI'),
                    ('build_timeout', os.environ.get(
                        'CLOUD_BUILD_TIMEOUT', '300'))]),
        ('validation', [('run_validation', 'false')]),
        # A 2-core machine shared with other work answers slowly at times.
        ('service-clients', [('http_timeout', os.environ.get(
            'CLOUD_HTTP_TIMEOUT', '300'))]),
        ('service_available', [
            ('nova', 'true'), ('neutron', 'true'), ('glance', 'true'),
            ('cinder', 'true' if WITH_CINDER else 'false'),
            ('swift', 'false'), ('horizon', 'false')]),
        ('delete_ext_feature_enabled', [
            (p, 'true' if p in policies else 'false')
            for p in ('protect', 'recycle', 'capture', 'verify')]),
        ('delete_ext', [
            ('protect_metadata_key',
             d['NOVA_DELETE_EXT_PROTECT_METADATA_KEY']),
            ('protect_tag', d['NOVA_DELETE_EXT_PROTECT_TAG'])]),
    ]))
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
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == '__main__':
    sys.exit(main())
