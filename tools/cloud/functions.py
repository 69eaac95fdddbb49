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

"""What every phase and service uses (devstack's ``functions-common``).

Output and failure (``say``, ``StepFailed``, ``Phases``), commands
(``run``), files (``write``, ``ini``), HTTP with urllib (``http``), and the
state that ``up`` keeps between runs (``load_state``, ``once``).
Standard library only: it runs with the system's python3.
"""

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

from settings import HOST
from settings import LOGS
from settings import STATE
from settings import VENV


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


# once() runs in the threads of the schema phase.
_STATE_LOCK = threading.Lock()
#: Written by the virtualenv phase: what the services' versions are.
VENV_STAMP = os.path.join(VENV, '.cloud-stamp')


def once(state, key, func, *args):
    """Run ``func`` unless it already ran with this venv and this DB.

    Database syncs and bootstraps are idempotent but slow; a second up
    skips them while the virtual environment (the services' versions) and
    the database server are the ones they ran with.
    """
    with open(VENV_STAMP) as f:
        stamp = '%s@%s' % (f.read(), state.get('db', {}).get('port'))
    with _STATE_LOCK:
        done = state.setdefault('done', {})
        if done.get(key) == stamp:
            return
    func(*args)
    with _STATE_LOCK:
        done[key] = stamp
        save_state(state)
