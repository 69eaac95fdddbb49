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

"""``nova-delete-ext-status upgrade check``: is this node ready.

Built on oslo.upgradecheck like ``nova-status upgrade check``. It reads
``nova.conf`` of the node it runs on and checks what the service would
meet at start-up, without starting it. Exit codes are oslo.upgradecheck's:
0 every check passed, 1 a warning, 2 a failure, 255 the command itself
failed.
"""

import collections
import os
import sys

import nova.conf
from oslo_messaging import opts as messaging_opts
from oslo_serialization import jsonutils
from oslo_upgradecheck import upgradecheck

from nova_delete_ext import compat
from nova_delete_ext import conf as ext_conf
from nova_delete_ext import exception
from nova_delete_ext import hooks
from nova_delete_ext.hooks import mixed
from nova_delete_ext import policies
from nova_delete_ext.policies import base
from nova_delete_ext.policies import capture
from nova_delete_ext.policies import capture_files
from nova_delete_ext.policies import recycle
from nova_delete_ext import sinks

CONF = nova.conf.CONF
DRIVER = 'nova_delete_ext'

Result = upgradecheck.Result
Code = upgradecheck.Code


def _register_messaging_opts(conf):
    # [oslo_messaging_notifications] is registered by oslo.messaging when a
    # notifier is built, which this command never does.
    for group, opts in messaging_opts.list_opts():
        if group == 'oslo_messaging_notifications':
            conf.register_opts(opts, group=group)


def _writable_dir(path):
    return os.path.isdir(path) and os.access(path, os.W_OK | os.X_OK)


#: How much of the end of the record file the mixed configuration check
#: reads, and how many of the API deletes recorded there it looks at.
_TAIL_BYTES = 1024 * 1024
_RECENT_API_DELETES = 100


def _recent_api_deletes(path):
    """The last delete records nova-compute wrote for API requests."""
    with open(path, 'rb') as f:
        f.seek(0, os.SEEK_END)
        f.seek(max(0, f.tell() - _TAIL_BYTES))
        lines = f.read().decode('utf-8', 'replace').splitlines()
    found = []
    for line in lines:
        try:
            record = jsonutils.loads(line)
        except ValueError:
            continue  # the first line of the tail, cut in two
        if (isinstance(record, dict) and
                record.get('kind', 'delete') == 'delete' and
                record.get('trigger') == 'api' and
                str(record.get('recorded_by')).startswith('compute@')):
            found.append(record)
    return found[-_RECENT_API_DELETES:]


class Checks(upgradecheck.UpgradeCommands):
    """The checks, in the order they are reported."""

    def __init__(self, conf=CONF):
        self.conf = conf
        ext_conf.register_opts(conf)
        _register_messaging_opts(conf)

    def _check_nova_release(self):
        version = compat.nova_version()
        tested = compat.tested_series(version)
        if tested is None:
            known = ', '.join('%s (Nova %s)' % each
                              for _, each in sorted(compat.TESTED.items()))
            return Result(Code.WARNING, 'Nova %s is not a release this '
                          'extension was tested on (%s). The hook point '
                          'check below says whether its methods still '
                          'match.' % (version, known))
        series, with_version = tested
        return Result(Code.SUCCESS, 'Nova %s, series %s: tested (with Nova '
                      '%s).' % (version, series, with_version))

    def _check_hook_points(self):
        found = hooks.problems()
        if found:
            return Result(Code.FAILURE, 'The installed Nova does not match '
                          'the extension: %s' % '; '.join(found))
        return Result(Code.SUCCESS, 'All %d Nova methods the extension uses '
                      'match the installed Nova.' % len(hooks.HOOK_POINTS))

    def _check_activation(self):
        drivers = self.conf.oslo_messaging_notifications.driver
        if DRIVER not in drivers:
            return Result(Code.WARNING, 'Not activated on this node: add %s '
                          'to [oslo_messaging_notifications]driver on the '
                          'nodes that run nova-api and nova-compute.'
                          % DRIVER)
        if not self.conf.delete_ext.enabled:
            return Result(Code.WARNING, 'Activated, but [delete_ext]enabled '
                          'is false: the extension changes nothing.')
        return Result(Code.SUCCESS, 'Activated through '
                      '[oslo_messaging_notifications]driver.')

    def _check_configuration(self):
        try:
            chain = policies.load(self.conf)
        except exception.ConfigInvalid as exc:
            return Result(Code.FAILURE, '%s. The service would not start.'
                          % exc)
        if not chain.policies:
            return Result(Code.SUCCESS, 'Valid; no policy enabled, deletes '
                          'are recorded only.')
        return Result(Code.SUCCESS, 'Valid; policies in force: %s.'
                      % ', '.join(chain.names))

    def _check_sinks(self):
        try:
            loaded = sinks.load(self.conf)
        except exception.ConfigInvalid as exc:
            return Result(Code.FAILURE, '%s. The service would not start.'
                          % exc)
        names = ', '.join(loaded.names)
        if 'file' not in loaded.names:
            return Result(Code.SUCCESS, 'Records go to: %s.' % names)
        path = self.conf.delete_ext.record_file
        if not path:
            return Result(Code.SUCCESS, 'Records go to: %s; no '
                          '[delete_ext]record_file, so the file sink writes '
                          'nothing.' % names)
        if os.path.exists(path):
            writable = os.access(path, os.W_OK)
        else:
            writable = _writable_dir(os.path.dirname(path) or '.')
        if not writable:
            return Result(Code.FAILURE, '[delete_ext]record_file %s is not '
                          'writable by this user; records would be lost.'
                          % path)
        return Result(Code.SUCCESS, 'Records go to: %s; record file %s is '
                      'writable.' % (names, path))

    def _check_capture_directory(self):
        if 'capture' not in self.conf.delete_ext.policies:
            return Result(Code.SUCCESS, 'capture is not enabled.')
        try:
            directory = base.read_options(
                self.conf, capture.GROUP)['directory']
        except exception.ConfigInvalid as exc:
            return Result(Code.FAILURE, str(exc))
        problem = capture_files.directory_problem(directory)
        if problem:
            return Result(Code.FAILURE, '[%s]directory %s.'
                          % (capture.GROUP, problem))
        if not os.path.isdir(directory):
            return Result(Code.SUCCESS, 'Capture directory %s will be '
                          'created at the first capture.' % directory)
        return Result(Code.SUCCESS, 'Capture directory %s is writable.'
                      % directory)

    def _check_recycle_retention(self):
        if 'recycle' not in self.conf.delete_ext.policies:
            return Result(Code.SUCCESS, 'recycle is not enabled.')
        try:
            base.read_options(self.conf, recycle.GROUP)
        except exception.ConfigInvalid as exc:
            return Result(Code.FAILURE, str(exc))
        interval = self.conf.reclaim_instance_interval
        if interval <= 0:
            return Result(Code.WARNING, '[DEFAULT]reclaim_instance_interval '
                          'is %d: nova-compute on this node would never '
                          'reclaim recycled servers. Set it above 0 on '
                          'every compute node (fine on a node that runs '
                          'only nova-api).' % interval)
        return Result(Code.SUCCESS, 'nova-compute reclaims recycled servers '
                      'about a minute after their retention.')

    def _check_policies_on_nova_api(self):
        path = self.conf.delete_ext.record_file
        if not path or not os.path.isfile(path):
            return Result(Code.SUCCESS, 'No record file here to tell whether '
                          'nova-api applies the policies nova-compute '
                          'applies.')
        try:
            records = _recent_api_deletes(path)
        except OSError as exc:
            return Result(Code.WARNING, 'Could not read the record file %s: '
                          '%s.' % (path, exc))
        missing = collections.Counter()
        last = None
        for record in records:
            names = [d[len(mixed.DECISION_PREFIX):-1]
                     for d in record.get('decisions') or ()
                     if str(d).startswith(mixed.DECISION_PREFIX)]
            missing.update(names)
            if names:
                last = record
        if last is None:
            return Result(Code.SUCCESS, 'nova-api applied the policies '
                          'nova-compute applies in the %d most recent API '
                          'deletes in %s.' % (len(records), path))
        return Result(Code.WARNING, 'The records in %s show that nova-api '
                      'did not apply policies this nova-compute applies: %s '
                      'of the %d most recent API deletes (the last requested '
                      'at %s, request %s). List the same policies in '
                      '[delete_ext]policies on every nova-api node and '
                      'compute node: a refusal on the compute host comes '
                      "after nova-api deleted a shelved server's snapshot or "
                      'confirmed a pending resize.' % (
                          path, ', '.join('%s in %d' % item for item in
                                          sorted(missing.items())),
                          len(records), last.get('requested_at'),
                          last.get('request_id')))

    _upgrade_checks = (
        ('Nova release', _check_nova_release),
        ('Hook points', _check_hook_points),
        ('Activation', _check_activation),
        ('Configuration', _check_configuration),
        ('Sinks', _check_sinks),
        ('Capture directory', _check_capture_directory),
        ('Recycle retention', _check_recycle_retention),
        ('Policies on nova-api', _check_policies_on_nova_api),
    )


def main(argv=None):
    """Entry point of ``nova-delete-ext-status``."""
    return upgradecheck.main(
        CONF, project='nova', upgrade_command=Checks(),
        argv=sys.argv[1:] if argv is None else argv)
