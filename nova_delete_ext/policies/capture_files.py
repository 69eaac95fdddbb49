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

"""Where the capture policy keeps its files, and how long.

One JSON file per capture, ``<instance uuid>-<stamp>.json``, 0600 in a
directory created 0700 whatever the umask, written aside and renamed so a
reader never sees half a file; old ones pruned by age and count.
"""

import datetime
import os
import re
import stat

from oslo_log import log as logging
from oslo_serialization import jsonutils
from oslo_utils import fileutils
from oslo_utils import timeutils

LOG = logging.getLogger(__name__)

# Exact modes, whatever the service's umask: captures hold what a guest
# printed, for the Nova user's eyes only.
_FILE_MODE = 0o600
_DIR_MODE = 0o700
_STAMP = '%Y%m%dT%H%M%S.%fZ'
#: The names of capture files, ``<instance uuid>-<stamp>.json``; the
#: only files pruning looks at.
_NAME = re.compile(r'^[0-9a-fA-F-]{36}-(\d{8}T\d{6}\.\d{6}Z)\.json$')
# Directories already warned about for their mode, in this process.
_warned_directories = set()


def _ensure_directory(directory):
    """Create ``directory`` 0700 if missing; warn once if others may read.

    An existing directory is the operator's: its mode is left alone.
    """
    try:
        st = os.stat(directory)
    except FileNotFoundError:
        fileutils.ensure_tree(os.path.dirname(os.path.abspath(directory)))
        try:
            os.mkdir(directory, _DIR_MODE)
        except FileExistsError:
            return  # created meanwhile by a concurrent capture
        # mkdir applies the umask, chmod does not.
        os.chmod(directory, _DIR_MODE)
        return
    mode = stat.S_IMODE(st.st_mode)
    if (stat.S_ISDIR(st.st_mode) and mode & 0o077 and
            directory not in _warned_directories):
        _warned_directories.add(directory)
        LOG.warning('The capture directory %(dir)s has mode %(mode)04o: '
                    'users other than its owner may read or list the '
                    'captures. It is left as it is; make it 0700.',
                    {'dir': directory, 'mode': mode})


def prune(directory, max_age, max_files):
    """Remove old captures of ``directory``; the number removed.

    Captures older than ``max_age`` seconds and the oldest beyond
    ``max_files`` files are removed (0: no limit). Their time is read from
    their name, with one listing of the directory; files not named as
    captures are left alone.
    """
    if not max_age and not max_files:
        return 0
    captures = []
    for name in os.listdir(directory):
        match = _NAME.match(name)
        if match:
            try:
                taken = datetime.datetime.strptime(match.group(1), _STAMP)
            except ValueError:
                continue
            captures.append((taken, name))
    captures.sort(reverse=True)
    doomed = captures[max_files:] if max_files else []
    kept = captures[:max_files] if max_files else captures
    if max_age:
        oldest = timeutils.utcnow() - datetime.timedelta(seconds=max_age)
        doomed += [capture for capture in kept if capture[0] < oldest]
    removed = 0
    for _taken, name in doomed:
        try:
            os.unlink(os.path.join(directory, name))
        except FileNotFoundError:
            continue  # removed by a concurrent capture
        removed += 1
    return removed


def directory_problem(directory):
    """Why captures cannot be written to ``directory``, or None.

    A missing directory is fine if this user can create it: it is created
    at the first capture, so checking the configuration (the service's
    start, ``nova-delete-ext-status``) changes nothing on disk.
    """
    if not directory:
        return 'is empty'
    existing = os.path.abspath(directory)
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        return '%r cannot be created: %r is not a directory' % (directory,
                                                                existing)
    if not os.access(existing, os.W_OK | os.X_OK):
        if existing == os.path.abspath(directory):
            return '%r is not writable by this service' % directory
        return '%r cannot be created: %r is not writable by this service' % (
            directory, existing)
    return None


def write(directory, instance_uuid, data):
    """Write ``data`` as the capture of ``instance_uuid``; its path."""
    _ensure_directory(directory)
    stamp = timeutils.utcnow().strftime(_STAMP)
    path = os.path.join(directory,
                        '%s-%s.json' % (instance_uuid, stamp))
    text = jsonutils.dumps(data, sort_keys=True,
                           indent=1).encode('utf-8')
    # Written aside and renamed: a reader never sees half a file.
    partial = path + '.partial'
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                 _FILE_MODE)
    try:
        with os.fdopen(fd, 'wb') as f:
            # os.open applies the umask, fchmod does not.
            os.fchmod(f.fileno(), _FILE_MODE)
            f.write(text)
        os.replace(partial, path)
    except BaseException:
        # No half file left behind: pruning only sees whole captures.
        try:
            os.unlink(partial)
        except OSError:
            pass
        raise
    return path
