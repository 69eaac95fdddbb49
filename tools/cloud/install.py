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

"""Installing what the services declare: their ``APT_PACKAGES`` from
Debian, their ``PIP_PACKAGES`` into one virtualenv (devstack's
``install_package`` and ``inc/python``)."""

import hashlib
import os
import shutil
import subprocess

from functions import run
from functions import save_state
from functions import say
from functions import StepFailed
from functions import VENV_STAMP
from functions import write
from settings import BIN
from settings import INSTALLER
from settings import PYTHON
from settings import REPO
from settings import UV
from settings import VENV

#: What no single service owns: the WSGI server, and the client for
#: people at the cloud (``openrc``).
PIP_PACKAGES = ['gunicorn', 'python-openstackclient']


def debian_packages(state, services):
    """Install the Debian packages of ``services`` that are missing."""
    wanted = {}
    for service in services:
        wanted.update(service.APT_PACKAGES)
    missing = [pkg for pkg, binary in wanted.items()
               if not (shutil.which(binary)
                       or os.path.exists('/usr/sbin/' + binary))]
    if not missing:
        say('    Debian packages present: %s' % ', '.join(wanted))
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


def pip_packages(services):
    """Every distribution the services' virtualenv needs, in order."""
    wanted = []
    for service in services:
        wanted += [p for p in service.PIP_PACKAGES
                   if p.startswith('-') or p not in wanted]
    return wanted + [p for p in PIP_PACKAGES if p not in wanted]


def _stamp(packages):
    digest = hashlib.sha256()
    for name in ('upper-constraints.txt', 'requirements.txt', 'setup.cfg'):
        with open(os.path.join(REPO, name), 'rb') as f:
            digest.update(f.read())
    digest.update(' '.join(packages).encode())
    for package in packages:
        # A distribution of this repository, like tools/cloud/fakes.
        project = os.path.join(package, 'pyproject.toml')
        if os.path.isfile(project):
            with open(project, 'rb') as f:
                digest.update(f.read())
    digest.update(REPO.encode())
    return digest.hexdigest()


def virtualenv(state, services):
    """The services' virtualenv, with ``pip_packages(services)``.

    Rebuilt only when the constraints, the requirements, setup.cfg or the
    package list changed (the stamp ``once`` also reads).
    """
    packages = pip_packages(services)
    stamp = _stamp(packages)
    if os.path.exists(VENV_STAMP) and open(VENV_STAMP).read() == stamp:
        say('    %s is up to date' % VENV)
        return
    if not os.path.exists(os.path.join(BIN, 'python')):
        run([PYTHON, '-m', 'venv', VENV], log='pip')
        run([os.path.join(BIN, 'pip'), 'install', '-q', '-U', 'pip'],
            log='pip')
    constraints = os.environ.get(
        'TOX_CONSTRAINTS_FILE', os.path.join(REPO, 'upper-constraints.txt'))
    wanted = ['-c', constraints] + packages
    if not (INSTALLER == 'uv' and _install_with_uv(wanted)):
        run([os.path.join(BIN, 'pip'), 'install'] + wanted, log='pip',
            timeout=1800)
    run([os.path.join(BIN, 'pip'), 'check'], log='pip', check=False)
    write(VENV_STAMP, stamp)


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
