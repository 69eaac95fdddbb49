"""nova-compute, with the fake driver variant of this package loadable.

Run it exactly like ``nova-compute`` (same arguments)::

    python -m nova_delete_ext.tests.cloud.nova_compute --config-file nova.conf

with ``compute_driver = delete_ext_fake.StableNodeFakeDriver``. Nova only
loads virt drivers from ``nova.virt``, so this makes
:mod:`nova_delete_ext.tests.cloud.fake_virt` importable under that name and
then runs Nova's own ``nova-compute`` entry point, unchanged: the service,
its configuration parsing and so the loading of notification drivers (the
extension's activation) are Nova's.
"""

import importlib
import sys


def main():
    sys.argv[0] = 'nova-compute'
    # nova.cmd.compute decides on eventlet monkey patching at import time;
    # import it before anything else of Nova.
    from nova.cmd import compute
    fake_virt = importlib.import_module(
        'nova_delete_ext.tests.cloud.fake_virt')
    sys.modules[fake_virt.MODULE_ALIAS] = fake_virt
    return compute.main()


if __name__ == '__main__':
    sys.exit(main())
