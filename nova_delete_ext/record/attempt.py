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

"""One delete attempt under observation.

An :class:`Attempt` is opened when a delete enters a hook, collects what
the hooks further down see (the path Nova takes, the steps on the way) and
is finished exactly once with the outcome, which writes the record at once.
Work after the delete (the ``after_delete`` policies) goes to the
extension's own workers (:mod:`nova_delete_ext.record.after`) and writes a
check record of its own when it is done.

Every piece of extension code on Nova's delete path runs inside
:meth:`Attempt.guard` or :func:`begin`: an exception there is logged once
with the instance and swallowed, so a bug in the extension or an unwritable
record file never changes what Nova does.
"""

import contextlib
import contextvars
import copy
import time

from oslo_log import log as logging

from nova_delete_ext import conf as ext_conf
from nova_delete_ext import record as rec
from nova_delete_ext.record import after
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
# The attempt whose after-delete work runs on this thread, for what the
# policies need beyond their event (see checking()).
_CHECKING = contextvars.ContextVar('nova_delete_ext_checking', default=None)

#: The error of a record written without the hook (see Attempt.unhooked).
_UNHOOKED = ('nova-delete-ext failed in its hook (see the service log), so '
             'no policy was applied')

#: Delete types whose compute-host delete deallocates the network.
_DEALLOCATING = (rec.DELETE, rec.FORCE_DELETE)


def checking():
    """The :class:`Attempt` whose after-delete work runs here, or None."""
    return _CHECKING.get()


def log_internal_error(instance):
    LOG.exception('nova-delete-ext failed while observing this delete; '
                  'Nova carries on with the delete unchanged.',
                  instance=instance)


class Attempt:
    """A delete attempt and the record it will write."""

    def __init__(self, context, instance, delete_type, trigger, side,
                 state=None, requested_at=None, unhooked=False):
        self.context = context
        #: True when the extension's hook failed and Nova's method ran
        #: without it (see hooks.installer.HookPoint.fallback): the record
        #: then has no policy's decision, and its error says why.
        self.unhooked = unhooked
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
        #: The instance's network info before Nova deallocated it, or None
        #: (see :meth:`_network_info`).
        self.network_info = self._network_info(instance, side, delete_type)
        self._started = time.monotonic()
        self._error_logged = False
        self._finished = False

    @staticmethod
    def _network_info(instance, side, delete_type):
        """The network info Nova is about to deallocate, if at hand.

        Its VIFs tell the ports Nova created from those the user brought
        (``preserve_on_delete``), which a repair deletes or only unbinds;
        deallocating the network empties the cache, so it is kept from
        here. Read when the instance has it loaded; on the compute host
        also loaded for a delete, which costs nothing, as Nova's own delete
        loads it right after from the same object. Never raises: unknown
        is None.
        """
        try:
            if not instance.obj_attr_is_set('info_cache'):
                if side != 'compute' or delete_type not in _DEALLOCATING:
                    return None
            cache = instance.info_cache
            if cache is None or cache.network_info is None:
                return None
            return copy.deepcopy(cache.network_info)
        except Exception:
            LOG.debug('Network info not read', exc_info=True,
                      instance=instance)
            return None

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

        :param then: called with this attempt on the extension's own
            workers once the record is written, for work that must not
            delay the delete (the policies that act after a delete). It
            sees a copy of the record; what it puts there goes into a
            check record of its own.
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
            notes = [_UNHOOKED] if self.unhooked else []
            if error is not None:
                notes.append(rec.describe_error(error))
            if notes:
                record.error = '; '.join(notes)
            record.duration_ms = round(
                (time.monotonic() - self._started) * 1000.0, 3)
            sinks.emit(record)
        if then is not None:
            with self.guard():
                self._submit(then)

    def _submit(self, then):
        check = rec.CheckRecord.of(self.record)
        executor = after.active()
        if executor.submit(lambda: self._check(then, check)):
            return
        check.outcome = rec.CHECK_SKIPPED
        if executor.stopping:
            check.error = 'the service is stopping'
        else:
            check.error = ('no after-delete worker was free: %d checks '
                           'are waiting already '
                           '([delete_ext]after_delete_queue_size)'
                           % executor.queue_size)
        check.checked_at = rec.utcnow_iso()
        _SKIPS.count(check.error)
        sinks.emit(check)

    def _check(self, then, check):
        """Run ``then`` on a copy of the record; write the check record."""
        started = time.monotonic()
        checked = None
        token = _CHECKING.set(self)
        try:
            # What is logged names the request, as on Nova's own threads.
            if hasattr(self.context, 'update_store'):
                self.context.update_store()
            checked = _Checked(self)
            then(checked)
            check.outcome = rec.CHECKED
        except Exception as exc:
            log_internal_error(self.instance)
            check.outcome = rec.CHECK_FAILED
            check.error = rec.describe_error(exc)
        finally:
            _CHECKING.reset(token)
        try:
            if checked is not None:
                check.decisions = list(checked.record.decisions)
                for name in rec.CheckRecord.POLICY_FIELDS:
                    value = getattr(checked.record, name)
                    if value is not None:
                        setattr(check, name, value)
            check.duration_ms = round(
                (time.monotonic() - started) * 1000.0, 3)
            check.checked_at = rec.utcnow_iso()
        finally:
            sinks.emit(check)

    def abandon(self):
        """Finish without a record: another attempt records this delete."""
        self._finished = True


class _SkipReport:
    """Warn of skipped checks at most once per :data:`INTERVAL` seconds."""

    INTERVAL = 60.0

    def __init__(self):
        self.skipped = 0
        self._last = None

    def count(self, why):
        self.skipped += 1
        now = time.monotonic()
        if self._last is not None and now - self._last < self.INTERVAL:
            return
        LOG.warning('nova-delete-ext skipped the check after %d delete(s): '
                    '%s. Their check records say so; nova-delete-ext sweep '
                    'finds what they would have found.', self.skipped, why)
        self.skipped = 0
        self._last = now


_SKIPS = _SkipReport()


class _Checked:
    """An attempt as the after-delete work sees it.

    The same attempt, with a copy of its record in which the policies'
    decisions and fields start empty: the record itself is written already
    and may be read by a sink's writer meanwhile.
    """

    def __init__(self, attempt):
        self._attempt = attempt
        self.record = copy.deepcopy(attempt.record)
        self.record.decisions = []
        for name in rec.CheckRecord.POLICY_FIELDS:
            setattr(self.record, name, None)

    def __getattr__(self, name):
        return getattr(self._attempt, name)


def begin(context, instance, delete_type, trigger, side, **kwargs):
    """Open an :class:`Attempt`, or return None if that itself fails."""
    try:
        return Attempt(context, instance, delete_type, trigger, side,
                       **kwargs)
    except Exception:
        log_internal_error(instance)
        return None
