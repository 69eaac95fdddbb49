from oslo_config import cfg

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
        'audit_log',
        help="""
Path of the JSON-lines audit file.

When set, every delete record is appended to this file as one JSON object per
line, in addition to the INFO line logged through oslo.log. The file is
opened in append mode for each record and written with a single write, so
several workers may share one file and logrotate's ``create`` mode works.
When unset, records go to the service log only.

Possible values:

* An absolute path writable by the user the Nova service runs as.
* Unset (the default): no audit file.
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
]


def register_opts(conf):
    conf.register_group(delete_ext_group)
    conf.register_opts(delete_ext_opts, group=delete_ext_group)


def list_opts():
    return [(delete_ext_group, delete_ext_opts)]
