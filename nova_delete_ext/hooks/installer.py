"""Check, install and remove wrappers around methods of Nova's classes."""

import ast
import dataclasses
import functools
import importlib
import inspect
import threading
import typing

from oslo_log import log as logging

from nova_delete_ext import exception

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
    order and kinds, not as text (see :func:`incompatibility`). A point
    without a hook is a method the hooks call: it is checked, not wrapped.
    """

    owner: str
    name: str
    signature: str
    hook: typing.Callable | None

    @property
    def qualname(self):
        return '%s.%s' % (self.owner, self.name)

    def owner_class(self):
        module_name, _, class_name = self.owner.rpartition('.')
        return getattr(importlib.import_module(module_name), class_name)


def _unwrap(func):
    return getattr(func, ORIGINAL_ATTR, func)


_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY,
               inspect.Parameter.POSITIONAL_OR_KEYWORD)
# Stands for any default in an expected signature: only whether a
# parameter has one matters, never its value.
_DEFAULT = object()


def parse_signature(text):
    """An :class:`inspect.Signature` from its text, without running it.

    Annotations and default values are read by ``ast`` and dropped: the
    check never looks at them.

    :raises SyntaxError, ValueError: ``text`` is not a signature.
    """
    func = ast.parse('def f%s: pass' % text).body[0]
    args = func.args
    param = inspect.Parameter
    params = []
    positional = ([(a, param.POSITIONAL_ONLY) for a in args.posonlyargs]
                  + [(a, param.POSITIONAL_OR_KEYWORD) for a in args.args])
    first_default = len(positional) - len(args.defaults)
    for index, (arg, arg_kind) in enumerate(positional):
        default = _DEFAULT if index >= first_default else param.empty
        params.append(param(arg.arg, arg_kind, default=default))
    if args.vararg:
        params.append(param(args.vararg.arg, param.VAR_POSITIONAL))
    for arg, default in zip(args.kwonlyargs, args.kw_defaults):
        params.append(param(arg.arg, param.KEYWORD_ONLY,
                            default=param.empty if default is None
                            else _DEFAULT))
    if args.kwarg:
        params.append(param(args.kwarg.arg, param.VAR_KEYWORD))
    return inspect.Signature(params)


def _split(sig):
    """(positional parameters, keyword-only by name, *args, **kwargs)."""
    params = list(sig.parameters.values())
    positional = [p for p in params if p.kind in _POSITIONAL]
    keyword = {p.name: p for p in params
               if p.kind == inspect.Parameter.KEYWORD_ONLY}
    var_pos = any(p.kind == inspect.Parameter.VAR_POSITIONAL for p in params)
    var_kw = any(p.kind == inspect.Parameter.VAR_KEYWORD for p in params)
    return positional, keyword, var_pos, var_kw


def _required(param):
    return param.default is inspect.Parameter.empty


def incompatibility(expected, actual):
    """Why a method with signature ``actual`` breaks the hooks, or None.

    The hooks rely on the parameters of ``expected`` (both are
    :class:`inspect.Signature`): the positional ones first, with these
    names, in this order and of this kind; the keyword-only ones by name;
    ``*args`` and ``**kwargs`` if it has them (their names do not matter to
    a caller). Whatever Nova adds that no existing caller has to pass is
    accepted: an annotation, a default, a new parameter with a default
    (positional after the known ones, or keyword-only), ``*args`` or
    ``**kwargs``; the wrapper passes such arguments on to Nova's method
    without showing them to the hook. A parameter removed, renamed,
    reordered or of another kind, a default removed, or a new required
    parameter is a mismatch.
    """
    exp_pos, exp_kw, exp_var_pos, exp_var_kw = _split(expected)
    act_pos, act_kw, act_var_pos, act_var_kw = _split(actual)
    act_pos_names = [p.name for p in act_pos]
    # What the hooks rely on, first.
    for index, param in enumerate(exp_pos):
        if index >= len(act_pos):
            if param.name in act_kw:
                return 'parameter %r is keyword-only' % param.name
            return 'parameter %r is missing' % param.name
        found = act_pos[index]
        if found.name != param.name:
            return ('parameter %d is %r, not %r'
                    % (index + 1, found.name, param.name))
        if found.kind != param.kind:
            return 'parameter %r is %s' % (param.name, found.kind.description)
        if _required(found) and not _required(param):
            return 'parameter %r has no default any more' % param.name
    for name, param in exp_kw.items():
        found = act_kw.get(name)
        if found is None:
            if name in act_pos_names:
                return 'parameter %r is not keyword-only' % name
            return 'parameter %r is missing' % name
        if _required(found) and not _required(param):
            return 'parameter %r has no default any more' % name
    if exp_var_pos and not act_var_pos:
        return '*args is missing'
    if exp_var_kw and not act_var_kw:
        return '**kwargs is missing'
    # Then what Nova added: no existing caller may have to pass it.
    for param in act_pos[len(exp_pos):]:
        if exp_var_pos:
            # It would take an argument that went into *args.
            return 'new positional parameter %r' % param.name
        if _required(param):
            return 'new required parameter %r' % param.name
    for name, param in act_kw.items():
        if name not in exp_kw and _required(param):
            return 'new required keyword-only parameter %r' % name
    return None


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
                expected = parse_signature(point.signature)
            except (SyntaxError, ValueError) as exc:
                problem = ('%s: expected signature %s unreadable (%s)'
                           % (point.qualname, point.signature, exc))
            else:
                reason = incompatibility(expected, actual)
                if reason is not None:
                    problem = ('%s: expected signature %s, found %s (%s)'
                               % (point.qualname, point.signature, actual,
                                  reason))
        if problem is not None:
            found.append(problem)
    return found


def _extras(expected, actual):
    """What the hook must not be given, when Nova's method takes more.

    Returns None when every call can go to the hook as it is. Otherwise
    ``(n_pos, new_pos, known_kw)``: the hook takes ``n_pos`` positional
    arguments (None: any number), the ones after them are for Nova's
    parameters ``new_pos`` (empty: pass them on by position); it takes the
    keyword arguments ``known_kw`` (None: any).
    """
    exp_pos, exp_kw, exp_var_pos, exp_var_kw = _split(expected)
    act_pos, act_kw, act_var_pos, act_var_kw = _split(actual)
    new = act_pos[len(exp_pos):]
    more_pos = not exp_var_pos and bool(new or act_var_pos)
    more_kw = not exp_var_kw and bool(
        new or act_var_kw or set(act_kw) - set(exp_kw))
    if not more_pos and not more_kw:
        return None
    n_pos = None if exp_var_pos else len(exp_pos)
    new_pos = [p.name for p in new]
    if any(p.kind == inspect.Parameter.POSITIONAL_ONLY for p in new):
        new_pos = []
    known_kw = None if exp_var_kw else frozenset(
        [p.name for p in exp_pos] + list(exp_kw))
    return n_pos, new_pos, known_kw


def _wrap(original, hook, extras=None):
    if extras is None:
        @functools.wraps(original)
        def wrapper(*args, **kwargs):
            return hook(original, *args, **kwargs)
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
                return hook(original, *args, **kwargs)

            def bound(*a, **k):
                return original(*a, *more_args, **k, **more_kwargs)
            return hook(bound, *args, **kwargs)
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
                    extras = _extras(
                        parse_signature(point.signature),
                        inspect.signature(_unwrap(
                            inspect.getattr_static(cls, point.name))))
                    setattr(cls, point.name,
                            _wrap(original, point.hook, extras))
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
