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

from oslo_config import cfg

from nova_delete_ext.conf import types

capture_group = cfg.OptGroup(
    'delete_ext_capture',
    title='Diagnostics capture (the capture policy)',
    help="""
Options of the ``capture`` policy, active on nova-compute when
``[delete_ext]policies`` lists ``capture``. Before the hypervisor destroys a
server in one of the listed states, its console output and diagnostics are
saved to one file per delete, and the delete record names that file. A
failure to capture is logged and never stops the delete.
""")

capture_opts = [
    cfg.ListOpt(
        'states',
        item_type=types.vm_state(),
        default=['error'],
        help="""
vm_states whose servers are captured before they are destroyed.

Possible values:

* A comma-separated list of Nova vm_states.
"""),
    cfg.StrOpt(
        'directory',
        default='$state_path/delete_ext/captures',
        help="""
Directory for the capture files, one JSON file per delete.

It is created at the first capture if missing, with mode 0700; an existing
directory is left as it is (a WARNING is logged once if others than its
owner may read or enter it). The files are created with mode 0600. The
service refuses to start if the directory cannot be created or written to.

Possible values:

* A path, to a directory that the nova-compute user can create or write.

Related options:

* ``max_age`` and ``max_files``: which old files are removed.
"""),
    cfg.IntOpt(
        'max_bytes',
        default=1048576,
        min=4096,
        help="""
Largest console output kept per capture, in bytes.

Longer console output is cut to its last ``max_bytes`` bytes, where the
latest messages are.

Possible values:

* An integer, 4096 or more.
"""),
    cfg.FloatOpt(
        'driver_timeout',
        default=10.0,
        min=0.1,
        help="""
Seconds to wait for each virt driver call of a capture.

A capture asks the driver for the console output, then for the
diagnostics. A call that has not returned within ``driver_timeout`` is
abandoned: the capture notes the timeout in its ``errors`` and the delete
goes on, so a guest or hypervisor that no longer answers delays a delete by
at most twice this time. The abandoned call is left to finish in the
background; while 8 of them have not returned, later captures skip the
driver.

Possible values:

* A number of seconds, 0.1 or more.
"""),
    cfg.FloatOpt(
        'write_timeout',
        default=5.0,
        min=0.1,
        help="""
Seconds to wait for the capture directory: for the capture file to be
written, then again for old captures to be removed.

Each runs on a native thread of the extension's own (never on eventlet's
shared thread pool, which the libvirt driver needs). A file system that
has not answered within ``write_timeout`` (an NFS mount that stopped
answering) is left to answer in the background: the capture is
``failed`` and the delete goes on. While 8 such writes have not returned,
later captures do not write.

Possible values:

* A number of seconds, 0.1 or more.

Related options:

* ``directory``; ``[delete_ext]policy_timeout`` bounds the whole capture.
"""),
    cfg.IntOpt(
        'max_age',
        default=30 * 24 * 3600,
        min=0,
        help="""
Seconds after which a capture file is removed.

After each capture, files of the capture directory older than this are
removed. Their age is read from the time in their name; only files named
as captures are (``<instance uuid>-<time>.json``).

Possible values:

* 0: keep files whatever their age.
* A number of seconds; the default is 30 days.

Related options:

* ``max_files``: both limits apply.
"""),
    cfg.IntOpt(
        'max_files',
        default=1000,
        min=0,
        help="""
Largest number of capture files kept in the capture directory.

After each capture, the oldest capture files beyond this number are
removed.

Possible values:

* 0: no limit on the number of files.
* A positive integer.

Related options:

* ``max_age``: both limits apply.
"""),
]


def register_opts(conf):
    conf.register_group(capture_group)
    conf.register_opts(capture_opts, group=capture_group)


def list_opts():
    return [(capture_group, capture_opts)]
