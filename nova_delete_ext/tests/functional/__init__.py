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
