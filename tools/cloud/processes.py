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

"""The services' processes, known by their pid files only.

``start`` runs a command in its own session and writes ``run/NAME.pid``;
``stop`` signals that process group and nothing else (never a process
found by its name). devstack's ``run_process``/``stop_process``.
"""

import hashlib
import os
import re
import signal
import subprocess
import time

from functions import log_path
from functions import say
from functions import StepFailed
from functions import write
from settings import BIN
from settings import CLOUD_DIR
from settings import ETC
from settings import HOST
from settings import LOGS
from settings import RUN


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


def wait_for(what, test, timeout, logs=(), pid_name=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if test():
            return
        if pid_name and not alive(pid_name):
            raise StepFailed('%s: its process exited' % what, logs=logs)
        time.sleep(0.5)
    raise StepFailed('%s: not ready after %ds' % (what, timeout), logs=logs)


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


def gunicorn(name, module, workers, port, env, argv=''):
    """Serve ``module``'s ``application`` with gunicorn (sync workers).

    Through ``nova_delete_ext.tests.cloud.wsgi``, which sets ``sys.argv``
    from WSGI_ARGV and imports the service's own WSGI module.
    """
    env = dict(env, WSGI_MODULE=module, WSGI_PROG=name, WSGI_ARGV=argv)
    cmd = [os.path.join(BIN, 'gunicorn'), '--name', name,
           '--workers', str(workers), '--bind', '%s:%d' % (HOST, port),
           '--timeout', '300', '--graceful-timeout', '10',
           '--no-control-socket',
           'nova_delete_ext.tests.cloud.wsgi:application']
    return start(name, cmd, env=env)


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


def stop_many(names, timeout):
    """SIGTERM every process group in ``names`` at once, wait, SIGKILL.

    Names without a pid file (never started here) are left out.
    """
    names = [n for n in names if os.path.exists(pid_file(n))]
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


def started():
    """The names of the processes with a pid file, sorted."""
    if not os.path.isdir(RUN):
        return []
    return sorted(f[:-4] for f in os.listdir(RUN) if f.endswith('.pid'))
