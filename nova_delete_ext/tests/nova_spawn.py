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

"""Nova's own ``spawn`` on every release the suite runs on.

The extension runs no work on Nova's pools (its after-delete work has
workers of its own), but Nova runs the hooks on its threads; the tests
spawn through Nova as Nova does, to see the hooks there.
"""

try:
    # Nova 34 (2026.2): background work goes to the executors of
    # nova.thread_pool_factory; nova.utils.spawn is gone.
    from nova import thread_pool_factory as _spawner
except ImportError:
    # Nova 31 (2025.1): nova.utils.spawn, a green thread of Nova's default
    # green pool. Nova 32 and 33 (2025.2, 2026.1): nova.utils.spawn, Nova's
    # default executor, green or native as the service runs.
    from nova import utils as _spawner


def spawn(func, *args, **kwargs):
    """Run ``func`` in the background as Nova's own ``spawn`` does.

    The request context goes along. Looked up at each call, so that
    whatever stubs Nova's ``spawn`` (a test fixture) applies here too.
    """
    return _spawner.spawn(func, *args, **kwargs)


def wait(handle, timeout):
    """What the spawned call returned: a future, or a GreenThread on 31."""
    if hasattr(handle, 'result'):
        return handle.result(timeout=timeout)
    return handle.wait()
