from oslo_config import cfg

from nova_delete_ext.conf import types

verify_group = cfg.OptGroup(
    'delete_ext_verify',
    title='Leak verification (the verify policy)',
    help="""
Options of the ``verify`` policy. After a delete has finished, in the
background, it checks that the instance left nothing behind: placement
allocations, Neutron ports bound to it, Cinder volume attachments, the
shelve snapshot image and, when the delete ran on the compute host, the
domain on the hypervisor. Which checks run depends on the state the instance
was deleted from. Enable it where deletes finish: nova-compute, and nova-api
for the deletes it does itself.
""")

verify_opts = [
    cfg.StrOpt(
        'mode',
        default='report',
        choices=[
            ('report', 'Log a WARNING per leak and list the leaks in the '
                       'delete record.'),
            ('repair', 'Also remove each leak with Nova\'s own service '
                       'clients and list what was repaired in the record. '
                       'Ports are unbound, never deleted; volumes are never '
                       'touched, only their attachment records.'),
        ],
        help="""
What to do about a leak found after a delete.
"""),
    cfg.ListOpt(
        'states',
        item_type=types.vm_state(),
        help="""
vm_states whose deletes are verified.

Unset, deletes from every vm_state are verified.

Possible values:

* A comma-separated list of Nova vm_states.
"""),
]


def register_opts(conf):
    conf.register_group(verify_group)
    conf.register_opts(verify_opts, group=verify_group)


def list_opts():
    return [(verify_group, verify_opts)]
