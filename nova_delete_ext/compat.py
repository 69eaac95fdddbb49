"""What differs between the Nova releases the extension supports.

Nova 31 (2025.1), 32 (2025.2), 33 (2026.1) and 34 (2026.2). Everything
else the extension uses of Nova, the hook points included, is the same in
all four; the release matrix in ``tox.ini`` checks that. And what differs
between Nova's two concurrency modes: eventlet (the only one of Nova 31)
and native threading (Nova 32 and later).
"""

import importlib.metadata
import sys

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


def on_native_thread(func, *args):
    """``func(*args)`` on a native thread when eventlet patched threads.

    For a call that may block in the kernel, a write to a file system that
    stopped answering (NFS): under eventlet every thread of the extension
    is a green thread, and such a call would hold all green threads of the
    process, Nova's deletes with them. It goes to eventlet's pool of native
    threads (``tpool``), as Nova's libvirt driver sends its blocking calls;
    the calling green thread waits without holding the others. Never for
    calls through green sockets (a notifier, a REST client): those must
    stay on green threads. In native threading mode, ``func`` runs here.
    """
    if _eventlet_patched():
        from eventlet import tpool
        return tpool.execute(func, *args)
    return func(*args)
