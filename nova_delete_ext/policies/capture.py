"""The ``capture`` policy: keep what an errored server showed, before it goes.

In nova-compute, before the hypervisor destroys a server deleted from one
of ``[delete_ext_capture]states``, its console output and diagnostics are
read from the virt driver and written to one JSON file per delete. Each
part that cannot be read is noted in the file; a file that cannot be
written is logged. Neither stops the delete.

A capture is bounded: each driver call has ``driver_timeout`` seconds,
diagnostics are asked of a running guest only, what is written is masked
for passwords and readable by the Nova user only, and old files are
removed after ``max_age`` seconds or beyond ``max_files`` files.
"""

import threading

from nova.compute import power_state
from nova.objects import base as obj_base
from oslo_log import log as logging
from oslo_utils import strutils
from oslo_utils import timeutils

from nova_delete_ext import compat
from nova_delete_ext.conf import capture as capture_conf
from nova_delete_ext import exception
from nova_delete_ext.policies import base
from nova_delete_ext.policies import capture_files
from nova_delete_ext import states

LOG = logging.getLogger(__name__)

GROUP = 'delete_ext_capture'
#: Console bytes masked before the last ``max_bytes`` are kept, so that a
#: secret whose key the cut leaves out is still masked.
_MASK_MARGIN = 8192
#: Abandoned driver calls still running beyond which captures stop
#: asking the driver: a hypervisor that hangs costs threads, not more.
_MAX_ABANDONED = 8

_abandoned = set()
_abandoned_lock = threading.Lock()


class DriverTimeout(Exception):
    """A virt driver call of a capture did not return in time."""


def _call_driver(timeout, context, func, *args):
    """``func(*args)`` on a thread of its own, waited on for ``timeout``.

    The thread is a daemon of this module, not one of Nova's pools: an
    abandoned call holds nothing Nova needs and never delays its exit.
    Under eventlet, ``threading`` is green and this works the same.

    :raises DriverTimeout: ``func`` has not returned in time; it is left
        to finish in the background.
    """
    with _abandoned_lock:
        _abandoned.difference_update(
            [thread for thread in _abandoned if not thread.is_alive()])
        if len(_abandoned) >= _MAX_ABANDONED:
            raise DriverTimeout(
                'not asked: %d earlier calls to the virt driver have not '
                'returned' % len(_abandoned))
    done = threading.Event()
    outcome = {}

    def run():
        update_store = getattr(context, 'update_store', None)
        if update_store is not None:
            # Log lines of the call carry the delete's request id.
            update_store()
        try:
            outcome['result'] = func(*args)
        except Exception as exc:
            outcome['error'] = exc
        finally:
            done.set()

    thread = threading.Thread(target=run, name='delete-ext-capture',
                              daemon=True)
    thread.start()
    if not done.wait(timeout):
        with _abandoned_lock:
            _abandoned.add(thread)
        raise DriverTimeout('no answer from the virt driver within %g s; '
                            'the call was abandoned' % timeout)
    if 'error' in outcome:
        raise outcome['error']
    return outcome.get('result')


def _error_text(exc):
    return strutils.mask_password('%s: %s' % (type(exc).__name__, exc))


def _console(output, max_bytes):
    """The end of the console ``output``, masked: (text, truncated)."""
    if isinstance(output, bytes):
        output = output.decode('utf-8', 'replace')
    encoded = output.encode('utf-8')
    window = encoded[-(max_bytes + _MASK_MARGIN):]
    masked = strutils.mask_password(
        window.decode('utf-8', 'replace')).encode('utf-8')
    truncated = len(window) < len(encoded) or len(masked) > max_bytes
    # The end of the console holds the latest messages.
    return masked[-max_bytes:].decode('utf-8', 'replace'), truncated


def _primitive(value):
    """Plain data for JSON from a Nova object, its lists included."""
    if isinstance(value, (list, tuple)):
        return [_primitive(item) for item in value]
    if isinstance(value, dict):
        return {key: _primitive(item) for key, item in value.items()}
    if isinstance(value, obj_base.NovaObject):
        return {key: _primitive(getattr(value, key))
                for key in value.obj_fields if value.obj_attr_is_set(key)}
    return value


class Capture(base.DeletePolicy):
    """Save console output and diagnostics before a destroy."""

    def register_opts(self, conf):
        capture_conf.register_opts(conf)

    def validate(self):
        values = base.read_options(self.conf, GROUP)
        problem = capture_files.directory_problem(values['directory'])
        if problem:
            raise exception.ConfigInvalid(option='[%s]directory' % GROUP,
                                          reason=problem)

    def before_destroy(self, event):
        opts = self.conf[GROUP]
        if (event.driver is None or
                not base.applies_in(opts.states, event.state.vm_state)):
            return None
        data = self._collect(event, opts)
        try:
            # A hung file system holds a native thread, not the green
            # ones (eventlet mode), so the policy's time limit still ends
            # the wait.
            path = compat.on_native_thread(
                capture_files.write, opts.directory, event.instance.uuid,
                data)
        except (OSError, ValueError, TypeError) as exc:
            LOG.warning('Could not save the capture of this server before '
                        'its delete: %s', exc, instance=event.instance)
            return self.decision('failed')
        LOG.info('Saved console output and diagnostics to %s', path,
                 instance=event.instance)
        try:
            removed = compat.on_native_thread(
                capture_files.prune, opts.directory, opts.max_age,
                opts.max_files)
        except Exception as exc:
            LOG.warning('Could not remove old captures from %s: %s',
                        opts.directory, exc)
        else:
            if removed:
                LOG.info('Removed %d old capture files from %s', removed,
                         opts.directory)
        return self.decision('saved', fields={'capture': path})

    def _collect(self, event, opts):
        instance, driver = event.instance, event.driver
        timeout = opts.driver_timeout
        data = {
            'instance_uuid': instance.uuid,
            'captured_at': timeutils.utcnow(with_timezone=True).isoformat(),
            'request_id': getattr(event.context, 'request_id', None),
            'vm_state': event.state.vm_state,
            'task_state': event.state.task_state,
            'power_state': event.state.power_state,
            'host': event.state.host,
            'trigger': event.trigger,
            'errors': {},
            'skipped': {},
        }
        try:
            console = _call_driver(timeout, event.context,
                                   driver.get_console_output,
                                   event.context, instance)
            data['console_output'], data['console_truncated'] = _console(
                console, opts.max_bytes)
        except Exception as exc:
            data['errors']['console_output'] = _error_text(exc)
        if instance.power_state != power_state.RUNNING:
            # A guest that is not running has no live statistics, and
            # some drivers fail or wait when asked for them.
            data['skipped']['diagnostics'] = (
                'the guest is not running (power_state %s)' %
                states.power_state_name(instance.power_state))
            return data
        try:
            diagnostics = _call_driver(timeout, event.context,
                                       driver.get_instance_diagnostics,
                                       instance)
            data['diagnostics'] = _primitive(diagnostics)
        except Exception as exc:
            data['errors']['diagnostics'] = _error_text(exc)
        return data
