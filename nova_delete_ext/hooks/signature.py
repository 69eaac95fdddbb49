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

"""Whether a Nova method still fits a hook, by its parameters.

A hook relies on the parameters it was written for: their names, order and
kinds. A Nova release may add an annotation, a default or a new optional
parameter without breaking it; a removed, renamed or reordered parameter,
or a new required one, does. :func:`incompatibility` tells which, and
:func:`extras` what a wrapper must hold back from a hook when Nova's
method takes more than the hook knows.
"""

import ast
import inspect


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


def extras(expected, actual):
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
