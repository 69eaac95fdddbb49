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
