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

"""What differs between the Nova releases the extension supports.

Nova 31 (2025.1), 32 (2025.2), 33 (2026.1) and 34 (2026.2). Everything
else the extension uses of Nova, the hook points included, is the same in
all four; the release matrix in ``tox.ini`` checks that. And what differs
between Nova's two concurrency modes: eventlet (the only one of Nova 31)
and native threading (Nova 32 and later).
"""

import importlib.metadata
import os
import sys
import threading

#: The Nova releases this extension was tested on: major version -> (series,
#: the version the release matrix of ``tox.ini`` runs). Keep in step with
#: ``constraints/`` and the installation guide's table.
TESTED = {
    31: ('2025.1', '31.3.1'),
    32: ('2025.2', '32.2.1'),
    33: ('2026.1', '33.0.2'),
    34: ('2026.2', '34.0.0'),
}


def nova_version():
    """The installed Nova's version, as its distribution says."""
    return importlib.metadata.version('nova')


def tested_series(version):
    """``(series, version tested)`` of ``version``'s release, or None."""
    try:
        major = int(version.split('.', 1)[0])
    except ValueError:
        return None
    return TESTED.get(major)


def _eventlet_patched():
    # Never import eventlet here: in native threading mode Nova forbids it.
    patcher = sys.modules.get('eventlet.patcher')
    return patcher is not None and patcher.is_monkey_patched('thread')


def native_threading():
    """The ``threading`` module of native threads, in either mode.

    Under eventlet, ``threading`` makes green threads: a call blocked in
    the kernel on one of them (a write to a file system that stopped
    answering) holds every green thread of the process. eventlet keeps the
    module it patched, as its own ``tpool`` does to start its threads.
    """
    if _eventlet_patched():
        return sys.modules['eventlet.patcher'].original('threading')
    return threading


def native_event():
    """An event a native thread sets and any thread may wait for.

    ``set()``, ``is_set()``, ``wait(timeout)``, and ``close()`` once
    nobody waits any more. Under eventlet, a green thread that waited on a
    native lock would stop every other: it waits instead for a pipe to
    become readable, which eventlet's hub watches, and the native thread
    closes the other end. In native threading mode, ``threading.Event``.
    """
    if _eventlet_patched():
        return _PipeEvent()
    event = threading.Event()
    event.close = lambda: None
    return event


class _Expired(Exception):
    pass


class _PipeEvent:

    def __init__(self):
        self._read, self._write = os.pipe()
        self._set = False

    def set(self):
        self._set = True
        os.close(self._write)

    def is_set(self):
        return self._set

    def wait(self, timeout=None):
        from eventlet import hubs
        if not self._set and (timeout is None or timeout > 0):
            try:
                hubs.trampoline(self._read, read=True, timeout=timeout,
                                timeout_exc=_Expired)
            except _Expired:
                pass
        return self._set

    def close(self):
        os.close(self._read)
