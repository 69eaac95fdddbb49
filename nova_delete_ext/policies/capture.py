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

"""The ``capture`` policy: keep what an errored server showed, before it goes.

In nova-compute, before the hypervisor destroys a server deleted from one
of ``[delete_ext_capture]states``, its console output and diagnostics are
read from the virt driver and written to one JSON file per delete. Each
part that cannot be read is noted in the file; a file that cannot be
written is logged. Neither stops the delete.

A capture is bounded: each driver call has ``driver_timeout`` seconds,
diagnostics are asked of a running guest only, what is written is masked
for passwords, keys and tokens (:mod:`.capture_mask`) and readable by the
Nova user only, and old files are removed after ``max_age`` seconds or
beyond ``max_files`` files.
"""

from nova.compute import power_state
from nova.objects import base as obj_base
from oslo_log import log as logging
from oslo_utils import timeutils

from nova_delete_ext.conf import capture as capture_conf
from nova_delete_ext import deadline
from nova_delete_ext import exception
from nova_delete_ext.policies import base
from nova_delete_ext.policies import capture_files
from nova_delete_ext.policies import capture_mask
from nova_delete_ext import states

LOG = logging.getLogger(__name__)

GROUP = 'delete_ext_capture'
#: Console bytes masked before the last ``max_bytes`` are kept, so that a
#: secret whose key the cut leaves out is still masked.
_MASK_MARGIN = 8192
#: What the time limits and their count of calls given up name
#: (:mod:`nova_delete_ext.deadline`).
DRIVER = 'virt driver'
FILES = 'capture directory'


def _error_text(exc):
    return capture_mask.mask('%s: %s' % (type(exc).__name__, exc))


def _console(output, max_bytes):
    """The end of the console ``output``, masked: (text, truncated)."""
    if isinstance(output, bytes):
        output = output.decode('utf-8', 'replace')
    encoded = output.encode('utf-8')
    window = encoded[-(max_bytes + _MASK_MARGIN):]
    masked = capture_mask.mask(
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
            # On a native thread of the extension's own, with a time limit:
            # a file system that hangs holds that thread, never eventlet's
            # green threads nor its shared tpool.
            path = deadline.call_native(
                opts.write_timeout, FILES, capture_files.write,
                opts.directory, event.instance.uuid, data)
        except (OSError, ValueError, TypeError,
                deadline.CallTimedOut) as exc:
            LOG.warning('Could not save the capture of this server before '
                        'its delete: %s', exc, instance=event.instance)
            return self.decision('failed')
        LOG.info('Saved console output and diagnostics to %s', path,
                 instance=event.instance)
        try:
            removed = deadline.call_native(
                opts.write_timeout, FILES, capture_files.prune,
                opts.directory, opts.max_age, opts.max_files)
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
            console = deadline.call(timeout, DRIVER,
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
            diagnostics = deadline.call(timeout, DRIVER,
                                        driver.get_instance_diagnostics,
                                        instance)
            data['diagnostics'] = _primitive(diagnostics)
        except Exception as exc:
            data['errors']['diagnostics'] = _error_text(exc)
        return data
