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

# Nova's functional harness needs its concurrency mode chosen before anything
# else is imported: eventlet monkey patching, or native threading when
# OS_NOVA_DISABLE_EVENTLET_PATCHING=1 (as nova-compute runs in production).
import os

from nova import monkey_patch  # noqa: E402

if hasattr(monkey_patch, 'patch'):
    # Nova 32 and later (2025.2+): patching is a call.
    monkey_patch.patch()
elif os.environ.get('OS_NOVA_DISABLE_EVENTLET_PATCHING', '').lower() in (
        '1', 'true', 'yes'):
    # Nova 31 (2025.1) patches eventlet as nova.monkey_patch is imported,
    # unless told not to; it has no native threading mode to run in then.
    raise RuntimeError('Nova 31 has no native threading mode: run the '
                       'functional tests with '
                       'OS_NOVA_DISABLE_EVENTLET_PATCHING=0')
