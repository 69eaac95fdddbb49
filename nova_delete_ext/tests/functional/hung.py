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

"""A call that blocks in the kernel, as a write to a hung NFS mount does."""

import sys
import time


def _blocking_sleep():
    """A sleep that holds the OS thread, as a write to a hung NFS mount does.

    In eventlet mode ``time.sleep`` is patched to yield to other green
    threads; a write stuck in the kernel does not.
    """
    patcher = sys.modules.get('eventlet.patcher')
    if patcher is not None and patcher.is_monkey_patched('time'):
        return patcher.original('time').sleep
    return time.sleep


class HungCall:
    """Stands for a write to a file system that stopped answering.

    Calls ``write`` in the end, after holding the thread that called,
    without yielding, until the test sets ``released`` (or :data:`LIMIT`
    seconds pass, so that a regression fails the test instead of hanging
    it).
    """

    LIMIT = 30.0

    def __init__(self, write):
        self.write = write
        self.released = False
        self.entered = 0
        self.given_up = False

    def __call__(self, *args, **kwargs):
        self.entered += 1
        sleep = _blocking_sleep()
        started = time.monotonic()
        while not self.released:
            if time.monotonic() - started > self.LIMIT:
                self.given_up = True
                break
            sleep(0.05)
        return self.write(*args, **kwargs)
