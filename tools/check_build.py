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

"""Build the package as a release would, and install it as documented.

``tox -e build`` runs this. It builds the sdist, and the wheel from the
sdist, with pbr (``python -m build``), checks both with ``twine check
--strict``, then, for each maintained Nova series (each
``constraints/nova-<series>.txt``, or the series given as arguments),
makes a clean virtualenv, installs that series' Nova and the wheel with
that series' constraints, as a deployment installs the extension next to
its Nova, and runs from that virtualenv:

* ``nova-delete-ext-status upgrade check``, on a ``nova.conf`` that
  activates the extension with every built-in policy and writable paths:
  every check must pass (exit status 0), so the hook points match that
  Nova, the entry points of the installed wheel load the policies and the
  sinks, and the wheel's requirements are all there;
* with the first series only (they are the wheel's own, whatever the
  Nova): ``oslo-config-generator --namespace nova_delete_ext``, the
  options' entry point, and ``nova-delete-ext --help``.

uv makes the virtualenvs from its cache: a few seconds a series once the
cache holds the packages.
"""

import argparse
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

NOVA_CONF = """\
[DEFAULT]
reclaim_instance_interval = 3600
state_path = {tmp}/state

[oslo_messaging_notifications]
driver = nova_delete_ext

[delete_ext]
record_file = {tmp}/delete-records.jsonl
policies = protect,recycle,capture,verify

[delete_ext_recycle]
retention = active:86400,stopped:604800

[delete_ext_capture]
directory = {tmp}/captures
"""
#: What upgrade check must answer on that configuration: every check passed.
EXPECTED_STATUS = 0


#: The installed programs' own DeprecationWarnings (eventlet's) are noise,
#: and the first of them writes the byte code the next ones read (tox sets
#: PYTHONDONTWRITEBYTECODE, which would have each compile Nova again).
QUIET = dict(os.environ, PYTHONWARNINGS='ignore::DeprecationWarning')
QUIET.pop('PYTHONDONTWRITEBYTECODE', None)


def run(argv, **kwargs):
    print('+ %s' % ' '.join(argv), flush=True)
    started = time.monotonic()
    try:
        return subprocess.run(argv, check=True, env=QUIET, **kwargs)
    finally:
        print('  (%.1f s)' % (time.monotonic() - started), flush=True)


def build(dist):
    shutil.rmtree(dist, ignore_errors=True)
    # The sdist, then the wheel from it: the sdist must hold everything.
    run([sys.executable, '-m', 'build', '--installer', 'uv', '--outdir',
         dist, ROOT])
    built = sorted(glob.glob(os.path.join(dist, '*')))
    run([sys.executable, '-m', 'twine', 'check', '--strict'] + built)
    wheels = [path for path in built if path.endswith('.whl')]
    if len(wheels) != 1 or len(built) != 2:
        sys.exit('expected one sdist and one wheel, found %s' % built)
    return wheels[0]


def check_series(series, wheel, workdir, entry_points=True):
    constraints = os.path.join(ROOT, 'constraints', 'nova-%s.txt' % series)
    venv = os.path.join(workdir, 'venv-%s' % series)
    run(['uv', 'venv', '--quiet', '--python', sys.executable, venv])
    python = os.path.join(venv, 'bin', 'python')
    run(['uv', 'pip', 'install', '--quiet', '--python', python,
         '-c', constraints, 'nova', wheel])
    conf = os.path.join(workdir, 'nova-%s.conf' % series)
    tmp = os.path.join(workdir, 'node-%s' % series)
    os.makedirs(tmp)
    with open(conf, 'w') as f:
        f.write(NOVA_CONF.format(tmp=tmp))
    try:
        done = run([os.path.join(venv, 'bin', 'nova-delete-ext-status'),
                    '--config-file', conf, 'upgrade', 'check'],
                   capture_output=True, text=True)
    except subprocess.CalledProcessError as exc:
        done = exc
    print(done.stdout + done.stderr, flush=True)
    if done.returncode != EXPECTED_STATUS or (
            'Check: Hook points' not in done.stdout):
        sys.exit('%s: nova-delete-ext-status upgrade check exited with %d, '
                 'not %d' % (series, done.returncode, EXPECTED_STATUS))
    if not entry_points:
        return
    generated = run([os.path.join(venv, 'bin', 'oslo-config-generator'),
                     '--namespace', 'nova_delete_ext'],
                    capture_output=True, text=True)
    if '[delete_ext]' not in generated.stdout:
        sys.exit('%s: the options are not in oslo-config-generator\'s '
                 'output' % series)
    run([os.path.join(venv, 'bin', 'nova-delete-ext'), '--help'],
        stdout=subprocess.DEVNULL)


def main():
    every = sorted(os.path.basename(path)[len('nova-'):-len('.txt')]
                   for path in glob.glob(os.path.join(ROOT, 'constraints',
                                                      'nova-*.txt')))
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('series', nargs='*',
                        help='Nova series to install with, among %s '
                             '(default: all)' % ', '.join(every))
    parser.add_argument('--dist', default=os.path.join(ROOT, 'dist'),
                        help='where to build (emptied first)')
    args = parser.parse_args()
    unknown = sorted(set(args.series) - set(every))
    if unknown:
        parser.error('no constraints/nova-<series>.txt for %s'
                     % ', '.join(unknown))
    timings = []
    started = time.monotonic()
    wheel = build(args.dist)
    timings.append(('build and twine check', time.monotonic() - started))
    with tempfile.TemporaryDirectory(prefix='nova-delete-ext-build-') as wd:
        for index, series in enumerate(args.series or every):
            began = time.monotonic()
            # The entry points are the wheel's: one series checks them.
            check_series(series, wheel, wd, entry_points=index == 0)
            timings.append((series, time.monotonic() - began))
    for what, seconds in timings:
        print('%-24s %6.1f s' % (what, seconds))
    print('%s installs and passes upgrade check with Nova %s'
          % (os.path.basename(wheel), ', '.join(args.series or every)))


if __name__ == '__main__':
    main()
