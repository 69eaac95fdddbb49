"""One delete attempt under observation.

An :class:`Attempt` is opened when a delete enters a hook, collects what
the hooks further down see (the path Nova takes, the steps on the way) and
is finished exactly once with the outcome, which writes the record.

Every piece of extension code on Nova's delete path runs inside
:meth:`Attempt.guard` or :func:`begin`: an exception there is logged once
with the instance and swallowed, so a bug in the extension or an unwritable
record file never changes what Nova does.
"""

import contextlib
import contextvars
import time

from oslo_log import log as logging

from nova_delete_ext import compat
from nova_delete_ext import conf as ext_conf
from nova_delete_ext import record as rec
from nova_delete_ext import sinks
from nova_delete_ext import states

LOG = logging.getLogger(__name__)

# ContextVars rather than threading.local: they are per green thread under
# eventlet (greenlet keeps a context per greenlet) and per thread in native
# threading mode, whatever was imported before monkey patching.
API_ATTEMPT = contextvars.ContextVar('nova_delete_ext_api_attempt',
                                     default=None)
COMPUTE_TRIGGER = contextvars.ContextVar('nova_delete_ext_compute_trigger',
                                         default=None)
# The decisions of an API delete that a policy turned into another kind of
# delete, for the record of the delete Nova then does.
REDIRECTED = contextvars.ContextVar('nova_delete_ext_redirected',
                                    default=None)


def log_internal_error(instance):
    LOG.exception('nova-delete-ext failed while observing this delete; '
                  'Nova carries on with the delete unchanged.',
                  instance=instance)


class Attempt:
    """A delete attempt and the record it will write."""

    def __init__(self, context, instance, delete_type, trigger, side,
                 state=None, requested_at=None):
        self.context = context
        self.instance = instance
        #: The virt driver, when the delete runs on the compute host.
        self.driver = None
        #: The shelve snapshot the instance had, for the policies.
        self.shelve_image_id = None
        #: The policies nova-api applied, as it carried them.
        self.api_policies = None
        self.state = state or states.InstanceState.of(instance)
        self.record = rec.DeleteRecord(
            instance_uuid=instance.uuid,
            project_id=instance.project_id,
            user_id=instance.user_id,
            request_id=getattr(context, 'request_id', None),
            vm_state=self.state.vm_state,
            task_state=self.state.task_state,
            power_state=self.state.power_state,
            host=self.state.host,
            delete_type=delete_type,
            trigger=trigger,
            requested_at=requested_at or rec.utcnow_iso(),
            recorded_by='%s@%s' % (side, ext_conf.CONF.host))
        self._started = time.monotonic()
        self._error_logged = False
        self._finished = False

    @contextlib.contextmanager
    def guard(self):
        """Run extension code; log its first failure, never raise it."""
        try:
            yield
        except Exception:
            if not self._error_logged:
                self._error_logged = True
                log_internal_error(self.instance)

    def finish(self, outcome, path=None, released=(), retained=(),
               error=None, then=None):
        """Complete the record and write it; only the first call counts.

        :param then: called with this attempt in the background before the
            record is written, for work that must not delay the delete
            (the policies that act after a delete).
        """
        if self._finished:
            return
        self._finished = True
        with self.guard():
            record = self.record
            record.outcome = outcome
            record.path = path or record.path
            record.released = sorted(released)
            record.retained = sorted(retained)
            if error is not None:
                record.error = rec.describe_error(error)
            record.duration_ms = round(
                (time.monotonic() - self._started) * 1000.0, 3)
            if then is None:
                sinks.emit(record)
            else:
                compat.spawn(self._then_write, then)

    def _then_write(self, then):
        try:
            with self.guard():
                then(self)
        finally:
            with self.guard():
                sinks.emit(self.record)

    def abandon(self):
        """Finish without a record: another attempt records this delete."""
        self._finished = True


def begin(context, instance, delete_type, trigger, side, **kwargs):
    """Open an :class:`Attempt`, or return None if that itself fails."""
    try:
        return Attempt(context, instance, delete_type, trigger, side,
                       **kwargs)
    except Exception:
        log_internal_error(instance)
        return None
