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

from nova_delete_ext import programs

delete_ext_group = cfg.OptGroup(
    'delete_ext',
    title='nova-delete-ext options',
    help="""
Options of nova-delete-ext, the extension that writes one state-aware record
for every instance deletion and applies cleanup policies.

The extension is activated by adding ``nova_delete_ext`` to
``[oslo_messaging_notifications]driver`` on nova-api and nova-compute.
""")

delete_ext_opts = [
    cfg.BoolOpt(
        'enabled',
        default=True,
        help="""
Install the delete hooks when the service starts.

With ``false`` the ``nova_delete_ext`` notification driver loads but changes
nothing in Nova: no record is written and no policy applies.

Related options:

* ``[oslo_messaging_notifications]driver`` must list ``nova_delete_ext`` for
  the extension to be loaded at all.
"""),
    cfg.StrOpt(
        'record_file',
        deprecated_name='audit_log',
        help="""
Path of the JSON-lines record file, written by the ``file`` sink.

Every delete record is appended to this file as one JSON object per line.
The file is opened in append mode for each record and written with a single
write, so several workers may share one file and logrotate's ``create`` mode
works. Lines are written by a background writer, never by the thread that
serves the delete.

Possible values:

* An absolute path writable by the user the Nova service runs as.
* Unset (the default): the ``file`` sink writes nothing.

Related options:

* ``sinks`` must list ``file`` (it does by default).
"""),
    cfg.ListOpt(
        'sinks',
        default=['file'],
        help="""
Where delete records go besides the service log.

Each name is a plugin of the ``nova_delete_ext.sinks`` entry point namespace.
The service log always gets one INFO line per record. The built-in sinks are
``file`` (the JSON-lines ``record_file``) and ``notification`` (an
oslo.messaging notification per record, on the notification transport and
with the notifier Nova itself uses). An unknown name stops the service from
starting with one error naming it.

Possible values:

* A comma-separated list of sink names, e.g. ``file,notification``.
* Empty: records go to the service log only.

Related options:

* ``record_file``: where the ``file`` sink writes.
* ``[notifications]notification_format``: which of Nova's notifiers the
  ``notification`` sink uses.
* ``sink_queue_size``, ``sink_stop_timeout``, ``sink_retry_age``.
"""),
    cfg.FloatOpt(
        'policy_timeout',
        default=10.0,
        min=0.0,
        help="""
Seconds a policy may take to decide on a delete while Nova waits.

Applies to the moments Nova waits for: ``on_request`` in nova-api, and
``before_destroy``, ``on_restore`` and ``retention`` (asked in the periodic
reclaim) in nova-compute. A policy that has not decided by then counts as
failed: a fail-closed policy (``protect``) refuses the delete, with a
message that says so; any other is skipped and logged (the restore goes
ahead; the reclaim asks the next policy, in the end Nova's
``reclaim_instance_interval``). Nova never waits longer.

Possible values:

* A number of seconds; 0 waits without a limit (not recommended).

Related options:

* ``policies``.
"""),
    cfg.IntOpt(
        'sink_queue_size',
        default=1000,
        min=1,
        help="""
Records waiting for a sink's background writer, at most.

Deletes never wait for a sink: when a sink is slower than the deletes (a
file system that stopped answering, a message broker that is down), records
beyond this many are dropped and the number dropped is logged.

Related options:

* ``sink_retry_age``: while a record is tried again, the records after it
  wait in this queue.
"""),
    cfg.FloatOpt(
        'sink_retry_age',
        default=300.0,
        min=0.0,
        help="""
Seconds a record that a sink could not write is kept and tried again.

When a sink fails to write a record with an error that may pass (for the
``file`` sink any ``OSError``: a FIFO whose reader is not there yet, a disk
full for a moment, an NFS error), the record stays at the head of the
sink's queue and is tried again after 0.5 s, then twice as long each time,
up to 30 s between tries, until it is this many seconds old, counted from
when it was queued; the records after it wait behind it. Only then is it
dropped and counted as lost, or earlier if the queue fills up or the
service stops. A WARNING says when a sink starts failing.

Possible values:

* 0: a record that cannot be written is dropped at the first failure.
* A number of seconds; the default is 5 minutes.

Related options:

* ``sink_queue_size``.
"""),
    cfg.FloatOpt(
        'sink_stop_timeout',
        default=5.0,
        min=0.0,
        help="""
Seconds a stopping service waits for the sinks to write the records queued.
"""),
    cfg.ListOpt(
        'policies',
        default=[],
        help="""
Cleanup policies to apply, in this order.

Each name is a plugin of the ``nova_delete_ext.policies`` entry point
namespace. The built-in ones are ``protect`` (deletion protection),
``recycle`` (soft delete with a retention per vm_state), ``capture`` (save
console output and diagnostics before an errored server is destroyed) and
``verify`` (check after the delete that nothing leaked, and optionally
repair). Each has its own option group. An unknown name, or a policy whose
options are not valid, stops the service from starting with one error that
names the option and the value.

Possible values:

* A comma-separated list of policy names, e.g. ``protect,recycle,verify``.
* Empty (the default): deletes are recorded, no policy applies.

Related options:

* ``[delete_ext_protect]``, ``[delete_ext_recycle]``, ``[delete_ext_capture]``
  and ``[delete_ext_verify]``: the options of the built-in policies.
"""),
    cfg.IntOpt(
        'after_delete_workers',
        default=2,
        min=1,
        help="""
Threads that run the work after a delete, at most.

The policies that act after a delete has finished (``verify``, and any
plugin's ``after_delete``) run on these threads of the extension's own,
never on Nova's thread pools and never on the thread that serves the
delete. The delete record is written when the delete finishes; each check
writes a record of its own (``kind`` ``check``) when it is done.

Related options:

* ``after_delete_queue_size``.
"""),
    cfg.IntOpt(
        'after_delete_queue_size',
        default=100,
        min=1,
        help="""
Deletes waiting for an after-delete worker, at most.

When this many are waiting, the work after a further delete is not done:
its check record says ``outcome`` ``skipped`` and why, and the delete
itself never waits. ``nova-delete-ext sweep`` finds later what a skipped
check would have found.

Related options:

* ``after_delete_workers``.
"""),
    programs.PROGRAMS_OPT,
]


def register_opts(conf):
    conf.register_group(delete_ext_group)
    conf.register_opts(delete_ext_opts, group=delete_ext_group)


def list_opts():
    return [(delete_ext_group, delete_ext_opts)]
