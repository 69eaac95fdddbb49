# Nova's functional harness needs its concurrency mode chosen before anything
# else is imported: eventlet monkey patching, or native threading when
# OS_NOVA_DISABLE_EVENTLET_PATCHING=1 (as nova-compute runs in production).
from nova import monkey_patch  # noqa: E402

monkey_patch.patch()
