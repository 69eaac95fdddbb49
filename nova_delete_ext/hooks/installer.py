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

"""Check, install and remove wrappers around methods of Nova's classes."""

import dataclasses
import functools
import importlib
import inspect
import threading
import typing

from nova import exception as nova_exception
from oslo_log import log as logging

from nova_delete_ext import exception
from nova_delete_ext.hooks import signature

LOG = logging.getLogger(__name__)

# Set on every wrapper: the function it replaced.
ORIGINAL_ATTR = '_nova_delete_ext_original'


@dataclasses.dataclass(frozen=True)
class HookPoint:
    """A method of a Nova class the extension wraps.

    ``hook`` is called as ``hook(original, *args, **kwargs)`` in place of
    the method; ``signature`` is written like a signature ``inspect``
    prints, e.g. ``'(self, context, instance, bdms)'``: the parameters the
    hook relies on. It is checked before anything is installed, by names,
    order and kinds, not as text (see :mod:`.signature`). A point without
    a hook is a method the hooks call: it is checked, not wrapped.
    """

    owner: str
    name: str
    signature: str
    hook: typing.Callable | None
    #: Called when the hook itself failed before Nova's method ran: True
    #: lets Nova's method run as if unhooked (the default), False lets the
    #: failure propagate, for a hook whose policies must fail closed.
    may_fall_back: typing.Callable[[], bool] | None = None
    #: Called like ``hook`` in its place when it failed before Nova's
    #: method ran: Nova's method without the policies, observed only to
    #: write the record the hook would have written (a hook that records
    #: the delete). None: Nova's method alone.
    fallback: typing.Callable | None = None

    @property
    def qualname(self):
        return '%s.%s' % (self.owner, self.name)

    def owner_class(self):
        module_name, _, class_name = self.owner.rpartition('.')
        return getattr(importlib.import_module(module_name), class_name)


def _unwrap(func):
    return getattr(func, ORIGINAL_ATTR, func)


def _actual_signature(point):
    """(the method's signature, None) or (None, the problem)."""
    try:
        cls = point.owner_class()
    except (ImportError, AttributeError, ValueError) as exc:
        return None, '%s: class not found (%s)' % (point.qualname, exc)
    func = inspect.getattr_static(cls, point.name, None)
    if func is None or not callable(func):
        return None, '%s: method not found' % point.qualname
    try:
        return inspect.signature(_unwrap(func)), None
    except (TypeError, ValueError) as exc:
        return None, ('%s: signature unreadable (%s)'
                      % (point.qualname, exc))


def problems(points):
    """Describe every hook point that does not match the installed Nova."""
    found = []
    for point in points:
        actual, problem = _actual_signature(point)
        if problem is None:
            try:
                expected = signature.parse_signature(point.signature)
            except (SyntaxError, ValueError) as exc:
                problem = ('%s: expected signature %s unreadable (%s)'
                           % (point.qualname, point.signature, exc))
            else:
                reason = signature.incompatibility(expected, actual)
                if reason is not None:
                    problem = ('%s: expected signature %s, found %s (%s)'
                               % (point.qualname, point.signature, actual,
                                  reason))
        if problem is not None:
            found.append(problem)
    return found


class _Tracked:
    """Nova's method as a hook calls it, and how that call ended."""

    def __init__(self, original):
        self.original = original
        setattr(self, ORIGINAL_ATTR, original)
        self.called = False
        self.returned = False
        self.result = None
        self.error = None

    def __call__(self, *args, **kwargs):
        self.called = True
        try:
            self.result = self.original(*args, **kwargs)
        except BaseException as exc:
            self.error = exc
            raise
        self.returned = True
        return self.result


def _began_in_extension(exc):
    """Whether ``exc`` was raised by the extension's own code."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and tb.tb_frame.f_globals.get(
        '__name__', '').startswith('nova_delete_ext')


def _call_hook(point, hook, original, args, kwargs):
    """``hook(original, ...)``; a failure of the hook's own never reaches Nova.

    Nova's exceptions, and a refusal (Nova's exceptions are how a hook
    answers: a denial is Nova's ``InstanceIsLocked``), propagate as they
    are. Any other exception raised by the extension's own code is logged;
    Nova's method then runs through the point's fallback, or as if
    unhooked, or its result is returned if it ran already: it never runs
    twice.
    """
    tracked = _Tracked(original)
    try:
        return hook(tracked, *args, **kwargs)
    except Exception as exc:
        _raise_unless_own(tracked, exc)
        if (not tracked.called and point.may_fall_back is not None and
                not point.may_fall_back()):
            raise
        LOG.exception('nova-delete-ext failed in its hook on %s; Nova '
                      'carries on as it would without the extension.',
                      point.qualname)
        if tracked.returned:
            return tracked.result
        return _fall_back(point, original, args, kwargs)


def _fall_back(point, original, args, kwargs):
    """Nova's method in place of a failed hook, through ``point.fallback``.

    The fallback is extension code too: its own failure is logged and
    Nova's method runs alone, once.
    """
    if point.fallback is None:
        return original(*args, **kwargs)
    tracked = _Tracked(original)
    try:
        return point.fallback(tracked, *args, **kwargs)
    except Exception as exc:
        _raise_unless_own(tracked, exc)
        LOG.exception('nova-delete-ext could not record the delete '
                      'without its hook on %s either.', point.qualname)
        if tracked.returned:
            return tracked.result
        return original(*args, **kwargs)


def _raise_unless_own(tracked, exc):
    """Raise what Nova raised; return if ``exc`` is the extension's failure.

    Nova's method's error propagates even when the hook then failed too;
    so do Nova's exceptions the hook raised itself (a refusal) and anything
    raised outside the extension's code.
    """
    if exc is tracked.error:
        raise exc
    if tracked.error is not None:
        raise tracked.error from exc
    if (isinstance(exc, nova_exception.NovaException) or
            not _began_in_extension(exc)):
        raise exc


def _wrap(point, original, extras=None):
    hook = point.hook
    if extras is None:
        @functools.wraps(original)
        def wrapper(*args, **kwargs):
            return _call_hook(point, hook, original, args, kwargs)
    else:
        n_pos, new_pos, known_kw = extras

        @functools.wraps(original)
        def wrapper(*args, **kwargs):
            more_args, more_kwargs = (), {}
            if n_pos is not None and len(args) > n_pos:
                args, more_args = args[:n_pos], args[n_pos:]
                if len(more_args) <= len(new_pos):
                    # By name: the hook may pass its own by keyword.
                    more_kwargs.update(zip(new_pos, more_args))
                    more_args = ()
            if known_kw is not None:
                for name in [k for k in kwargs if k not in known_kw]:
                    more_kwargs[name] = kwargs.pop(name)
            if not more_args and not more_kwargs:
                return _call_hook(point, hook, original, args, kwargs)

            def bound(*a, **k):
                return original(*a, *more_args, **k, **more_kwargs)
            return _call_hook(point, hook, bound, args, kwargs)
    setattr(wrapper, ORIGINAL_ATTR, original)
    return wrapper


class Installer:
    """Installs a set of hook points all together, or not at all."""

    def __init__(self, points):
        self.points = tuple(points)
        self._lock = threading.Lock()
        # (class, name, the attribute the class had itself or None)
        self._replaced = []

    @property
    def installed(self):
        return bool(self._replaced)

    def install(self):
        """Wrap every hook point; return False if already installed.

        :raises HookMismatch: naming every method that does not match; in
            that case nothing at all is changed.
        """
        with self._lock:
            if self._replaced:
                return False
            found = problems(self.points)
            if found:
                raise exception.HookMismatch(problems='; '.join(found))
            try:
                for point in self.points:
                    if point.hook is None:
                        continue
                    cls = point.owner_class()
                    own = cls.__dict__.get(point.name)
                    original = getattr(cls, point.name)
                    extras = signature.extras(
                        signature.parse_signature(point.signature),
                        inspect.signature(_unwrap(
                            inspect.getattr_static(cls, point.name))))
                    setattr(cls, point.name, _wrap(point, original, extras))
                    self._replaced.append((cls, point.name, own))
            except Exception:
                self._restore()
                raise
            LOG.info('nova-delete-ext hooked into %d Nova methods',
                     len(self._replaced))
            return True

    def uninstall(self):
        """Put back exactly what was there; return False if not installed."""
        with self._lock:
            if not self._replaced:
                return False
            self._restore()
            return True

    def _restore(self):
        for cls, name, own in reversed(self._replaced):
            if own is None:
                # The method came from a base class: drop our override.
                delattr(cls, name)
            else:
                setattr(cls, name, own)
        self._replaced = []
