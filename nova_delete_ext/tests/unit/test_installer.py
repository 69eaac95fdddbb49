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

"""Tests of the hook installer, on small fake classes and on Nova's own."""

import inspect
import threading
import typing

import ddt

from nova_delete_ext import exception
from nova_delete_ext import hooks
from nova_delete_ext.hooks import installer
from nova_delete_ext.hooks import signature
from nova_delete_ext.tests.unit import base

HERE = __name__


class _Unreadable:
    """A callable whose signature ``inspect`` cannot read."""

    __signature__ = 'not a signature'

    def __call__(self, *args):
        return args


class FakeBase:

    def inherited(self, a, b=2):
        return ('inherited', self, a, b)


class Fake(FakeBase):

    def own(self, context, instance):
        return ('own', self, context, instance)

    def other(self, x, *args, **kwargs):
        return ('other', x, args, kwargs)

    not_callable = 42
    unreadable = _Unreadable()


class Variants:
    """Variants of ``(self, context, instance, bdms)``, one per change.

    As a later Nova may have its methods.
    """

    # Accepted: no caller that works with the expected signature breaks.
    def annotated(self, context: typing.Any, instance: object,
                  bdms: list | None) -> None:
        return ('annotated', context, instance, bdms)

    def default_added(self, context, instance, bdms=None):
        return ('default_added', context, instance, bdms)

    def new_optional(self, context, instance, bdms, extra=None):
        return ('new_optional', context, instance, bdms, extra)

    def new_keyword_only(self, context, instance, bdms, *, extra=None):
        return ('new_keyword_only', context, instance, bdms, extra)

    def kwargs_added(self, context, instance, bdms, **kwargs):
        return ('kwargs_added', context, instance, bdms, kwargs)

    def args_added(self, context, instance, bdms, *args):
        return ('args_added', context, instance, bdms, args)

    # Mismatches: a caller, or the hook, would break.
    def renamed(self, context, instance, block_device_mappings):
        pass

    def removed(self, context, instance):
        pass

    def reordered(self, context, bdms, instance):
        pass

    def new_required(self, context, instance, bdms, extra):
        pass

    def new_required_keyword_only(self, context, instance, bdms, *, extra):
        pass

    def new_in_the_middle(self, context, extra=None, instance=None,
                          bdms=None):
        pass

    def keyword_only(self, context, instance, *, bdms):
        pass

    def positional_only(self, context, instance, bdms, /):
        pass

    def bare(self, *args, **kwargs):
        pass


VARIANTS = {name: Variants.__dict__[name] for name in (
    'annotated', 'default_added', 'new_optional', 'new_keyword_only',
    'kwargs_added', 'args_added')}
EXPECTED = '(self, context, instance, bdms)'


def _variant(name, signature=EXPECTED, hook=None):
    return _point(name, signature, hook, owner=HERE + '.Variants')


class FakeSibling(FakeBase):
    """Inherits ``inherited`` too: hooking Fake must not touch it."""


# The functions Nova-like code had before any test ran.
OWN = Fake.__dict__['own']
OTHER = Fake.__dict__['other']
INHERITED = FakeBase.__dict__['inherited']


def _record_hook(calls, tag):
    def hook(original, *args, **kwargs):
        # The wrapper hands Nova's method on through a tracker of its own.
        calls.append((tag, getattr(original, installer.ORIGINAL_ATTR),
                      args, kwargs))
        return (tag, original(*args, **kwargs))
    return hook


def _point(name, signature, hook=None, owner=HERE + '.Fake'):
    return installer.HookPoint(owner, name, signature,
                               hook or (lambda original, *a, **k: None))


def _own_attrs(*classes):
    """Every attribute each class defines itself, by identity."""
    return [dict(cls.__dict__) for cls in classes]


class InstallerTestBase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.calls = []
        self.before = _own_attrs(Fake, FakeBase, FakeSibling)
        self.addCleanup(self._assert_restored)

    def _installer(self, points):
        inst = installer.Installer(points)
        # Registered after _assert_restored: runs before it.
        self.addCleanup(inst.uninstall)
        return inst

    def _assert_restored(self):
        after = _own_attrs(Fake, FakeBase, FakeSibling)
        for before, now in zip(self.before, after):
            self.assertEqual(set(before), set(now))
            for name, value in before.items():
                if name == '__dict__' or name == '__weakref__':
                    continue
                self.assertIs(value, now[name], name)

    def _points(self):
        return (
            _point('own', '(self, context, instance)',
                   _record_hook(self.calls, 'own-hook')),
            _point('other', '(self, x, *args, **kwargs)',
                   _record_hook(self.calls, 'other-hook')),
            _point('inherited', '(self, a, b=2)',
                   _record_hook(self.calls, 'inherited-hook')),
        )


class HookPointTest(base.TestCase):

    def test_qualname(self):
        point = _point('own', '()')
        self.assertEqual(HERE + '.Fake.own', point.qualname)

    def test_owner_class(self):
        self.assertIs(Fake, _point('own', '()').owner_class())

    def test_owner_class_missing(self):
        missing = _point('own', '()', owner=HERE + '.Nope')
        self.assertRaises(AttributeError, missing.owner_class)
        self.assertRaises(ImportError, _point(
            'own', '()', owner='nova_delete_ext.no_such_module.Cls'
        ).owner_class)


class ProblemsTest(InstallerTestBase):

    def test_none_for_matching_points(self):
        self.assertEqual([], installer.problems(self._points()))

    def test_wrong_signature(self):
        found = installer.problems(
            [_point('own', '(self, context, instance, extra)')])
        self.assertEqual(
            [HERE + '.Fake.own: expected signature '
             '(self, context, instance, extra), found '
             "(self, context, instance) (parameter 'extra' is missing)"],
            found)

    def test_missing_method(self):
        self.assertEqual([HERE + '.Fake.gone: method not found'],
                         installer.problems([_point('gone', '(self)')]))

    def test_not_callable(self):
        self.assertEqual(
            [HERE + '.Fake.not_callable: method not found'],
            installer.problems([_point('not_callable', '(self)')]))

    def test_missing_class(self):
        found = installer.problems(
            [_point('own', '(self)', owner=HERE + '.Missing')])
        self.assertEqual(1, len(found))
        self.assertTrue(found[0].startswith(
            HERE + '.Missing.own: class not found ('), found)

    def test_missing_module(self):
        found = installer.problems(
            [_point('own', '(self)', owner='nova_delete_ext.nope.Cls')])
        self.assertEqual(1, len(found))
        self.assertIn('nova_delete_ext.nope.Cls.own: class not found',
                      found[0])

    def test_owner_without_module(self):
        # rpartition('.') gives the module name '' and import_module('')
        # raises ValueError, which problems() does not expect.
        found = installer.problems([_point('own', '(self)', owner='Fake')])
        self.assertEqual(1, len(found))
        self.assertIn('Fake.own: class not found', found[0])

    def test_unreadable_signature(self):
        found = installer.problems([_point('unreadable', '(self)')])
        self.assertEqual(1, len(found))
        self.assertTrue(found[0].startswith(
            HERE + '.Fake.unreadable: signature unreadable ('), found)

    def test_every_problem_named(self):
        found = installer.problems(
            self._points() + (_point('gone', '(self)'),
                              _point('own', '(self)')))
        self.assertEqual(2, len(found))
        self.assertIn('Fake.gone', found[0])
        self.assertIn('Fake.own', found[1])

    def test_sees_through_installed_wrappers(self):
        inst = self._installer(self._points())
        inst.install()
        self.assertEqual([], installer.problems(self._points()))


class InstallTest(InstallerTestBase):

    def test_install_wraps_every_point(self):
        inst = self._installer(self._points())
        self.assertFalse(inst.installed)
        self.assertTrue(inst.install())
        self.assertTrue(inst.installed)
        for name, original in (('own', OWN), ('other', OTHER),
                               ('inherited', INHERITED)):
            wrapper = Fake.__dict__[name]
            self.assertIsNot(original, wrapper)
            self.assertIs(original,
                          getattr(wrapper, installer.ORIGINAL_ATTR))
            self.assertEqual(original.__name__, wrapper.__name__)
            self.assertEqual(original.__doc__, wrapper.__doc__)
            self.assertEqual(str(inspect.signature(original)),
                             str(inspect.signature(wrapper)))
        # The base class and its other subclasses are untouched.
        self.assertIs(INHERITED, FakeBase.__dict__['inherited'])
        self.assertNotIn('inherited', FakeSibling.__dict__)

    def test_hook_called_with_original(self):
        inst = self._installer(self._points())
        inst.install()
        obj = Fake()
        self.assertEqual(('own-hook', ('own', obj, 'ctx', 'inst')),
                         obj.own('ctx', instance='inst'))
        self.assertEqual(('other-hook', ('other', 1, (2,), {'k': 3})),
                         obj.other(1, 2, k=3))
        self.assertEqual(('inherited-hook', ('inherited', obj, 'a', 2)),
                         obj.inherited('a'))
        self.assertEqual([
            ('own-hook', OWN, (obj, 'ctx'), {'instance': 'inst'}),
            ('other-hook', OTHER, (obj, 1, 2), {'k': 3}),
            ('inherited-hook', INHERITED, (obj, 'a'), {}),
        ], self.calls)
        # The sibling still gets the plain base method.
        sibling = FakeSibling()
        self.assertEqual(('inherited', sibling, 'a', 2),
                         sibling.inherited('a'))
        self.assertEqual(3, len(self.calls))

    def test_refusal_propagates(self):
        # A hook answers as Nova does, with Nova's exceptions (a denial is
        # InstanceIsLocked); its own failures are the subject of
        # test_hook_failures.
        def hook(original, *args, **kwargs):
            raise exception.DeleteProtected(reason='protected')
        inst = self._installer([_point('own', '(self, context, '
                                       'instance)', hook)])
        inst.install()
        self.assertRaises(exception.DeleteProtected, Fake().own, 1, 2)

    def test_idempotent(self):
        inst = self._installer(self._points())
        self.assertTrue(inst.install())
        wrappers = {n: Fake.__dict__[n] for n in ('own', 'other',
                                                  'inherited')}
        self.assertFalse(inst.install())
        for name, wrapper in wrappers.items():
            self.assertIs(wrapper, Fake.__dict__[name])
            # Not wrapped twice.
            self.assertNotIn(installer.ORIGINAL_ATTR, vars(
                getattr(wrapper, installer.ORIGINAL_ATTR)))
        obj = Fake()
        obj.own(1, 2)
        self.assertEqual(1, len(self.calls))

    def test_uninstall_restores_exact_originals(self):
        inst = self._installer(self._points())
        inst.install()
        self.assertTrue(inst.uninstall())
        self.assertFalse(inst.installed)
        self.assertIs(OWN, Fake.__dict__['own'])
        self.assertIs(OTHER, Fake.__dict__['other'])
        # Inherited: our override is deleted, not replaced by a copy.
        self.assertNotIn('inherited', Fake.__dict__)
        self.assertIs(INHERITED, Fake.inherited)
        self._assert_restored()
        obj = Fake()
        self.assertEqual(('own', obj, 1, 2), obj.own(1, 2))
        self.assertEqual([], self.calls)

    def test_uninstall_when_not_installed(self):
        inst = self._installer(self._points())
        self.assertFalse(inst.uninstall())
        inst.install()
        self.assertTrue(inst.uninstall())
        self.assertFalse(inst.uninstall())

    def test_reinstall_after_uninstall(self):
        inst = self._installer(self._points())
        for _ in range(3):
            self.assertTrue(inst.install())
            self.assertIs(OWN, getattr(Fake.__dict__['own'],
                                       installer.ORIGINAL_ATTR))
            self.assertTrue(inst.uninstall())
            self.assertIs(OWN, Fake.__dict__['own'])

    def test_two_installers_nest(self):
        first = self._installer(self._points()[:1])
        second = self._installer(
            [_point('own', '(self, context, instance)',
                    _record_hook(self.calls, 'second'))])
        first.install()
        first_wrapper = Fake.__dict__['own']
        second.install()
        self.assertEqual(('second', ('own-hook', ('own', None, 1, 2))),
                         Fake.own(None, 1, 2))
        second.uninstall()
        self.assertIs(first_wrapper, Fake.__dict__['own'])
        first.uninstall()
        self.assertIs(OWN, Fake.__dict__['own'])

    def test_concurrent_install_installs_once(self):
        inst = self._installer(self._points())
        results = []
        start = threading.Barrier(8)

        def run():
            start.wait()
            results.append(inst.install())

        threads = [threading.Thread(target=run) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        self.assertEqual([True] + [False] * 7, sorted(results, reverse=True))
        self.assertIs(OWN, getattr(Fake.__dict__['own'],
                                   installer.ORIGINAL_ATTR))


class MismatchTest(InstallerTestBase):

    def _assert_nothing_installed(self, inst):
        self.assertFalse(inst.installed)
        self.assertIs(OWN, Fake.__dict__['own'])
        self.assertIs(OTHER, Fake.__dict__['other'])
        self.assertNotIn('inherited', Fake.__dict__)
        self._assert_restored()
        self.assertFalse(inst.uninstall())

    def _check(self, bad, *names):
        # The bad point last: the good ones before it would be installed
        # first by an installer that did not check everything beforehand.
        inst = self._installer(self._points() + tuple(bad))
        exc = self.assertRaises(exception.HookMismatch, inst.install)
        for name in names:
            self.assertIn(name, str(exc))
        self.assertTrue(str(exc).startswith(
            'nova-delete-ext cannot hook into the installed Nova, nothing '
            'was installed: '))
        self._assert_nothing_installed(inst)
        return exc

    def test_wrong_signature(self):
        exc = self._check([_point('own', '(self, context)')],
                          HERE + '.Fake.own', '(self, context)',
                          '(self, context, instance)')
        self.assertIn('problems', exc.kwargs)

    def test_missing_method(self):
        self._check([_point('gone', '(self)')], HERE + '.Fake.gone',
                    'method not found')

    def test_missing_class(self):
        self._check([_point('own', '(self)', owner=HERE + '.Missing')],
                    HERE + '.Missing.own', 'class not found')

    def test_every_mismatch_named(self):
        self._check([_point('gone', '(self)'),
                     _point('inherited', '(self, b, a=2)'),
                     _point('x', '(self)', owner=HERE + '.Missing')],
                    'Fake.gone', 'Fake.inherited', 'Missing.x')

    def test_mismatch_first(self):
        inst = self._installer((_point('gone', '(self)'),)
                               + self._points())
        self.assertRaises(exception.HookMismatch, inst.install)
        self._assert_nothing_installed(inst)

    def test_mismatch_then_fixed_points(self):
        # A failed install leaves the installer usable.
        inst = self._installer(self._points() + (
            _point('own', '(self)'),))
        self.assertRaises(exception.HookMismatch, inst.install)
        inst.points = self._points()
        self.assertTrue(inst.install())
        self.assertIn(installer.ORIGINAL_ATTR, vars(Fake.__dict__['own']))


class RollbackTest(InstallerTestBase):
    """A setattr failing midway leaves every class as it was."""

    def _immutable_point(self):
        # ``dict`` is an immutable built-in type: setattr on it raises
        # TypeError, after the checks have passed.
        return installer.HookPoint(
            'builtins.dict', 'get', str(inspect.signature(dict.get)),
            lambda original, *a, **k: None)

    def test_setattr_failure_rolls_back(self):
        inst = self._installer(self._points()
                               + (self._immutable_point(),))
        self.assertEqual([], installer.problems(inst.points))
        self.assertRaises(TypeError, inst.install)
        self.assertFalse(inst.installed)
        self.assertIs(OWN, Fake.__dict__['own'])
        self.assertIs(OTHER, Fake.__dict__['other'])
        self.assertNotIn('inherited', Fake.__dict__)
        self._assert_restored()
        self.assertEqual({'a': 1}.get('a'), 1)
        self.assertFalse(inst.uninstall())

    def test_failure_in_the_middle(self):
        points = self._points()
        inst = self._installer(
            points[:2] + (self._immutable_point(),) + points[2:])
        self.assertRaises(TypeError, inst.install)
        self.assertFalse(inst.installed)
        self._assert_restored()

    def test_install_after_rollback(self):
        inst = self._installer(self._points()
                               + (self._immutable_point(),))
        self.assertRaises(TypeError, inst.install)
        inst.points = self._points()
        self.assertTrue(inst.install())
        self.assertTrue(inst.uninstall())
        self._assert_restored()


@ddt.ddt
class CompatibilityTest(base.TestCase):
    """Nova's methods are checked by parameters, not by their text."""

    @ddt.data(*VARIANTS)
    def test_accepted(self, name):
        self.assertEqual([], installer.problems([_variant(name)]))

    @ddt.data(
        ('renamed', "parameter 4 is 'block_device_mappings', not 'bdms'"),
        ('removed', "parameter 'bdms' is missing"),
        ('reordered', "parameter 3 is 'bdms', not 'instance'"),
        ('new_required', "new required parameter 'extra'"),
        ('new_required_keyword_only',
         "new required keyword-only parameter 'extra'"),
        ('new_in_the_middle', "parameter 3 is 'extra', not 'instance'"),
        ('keyword_only', "parameter 'bdms' is keyword-only"),
        ('positional_only', "parameter 'self' is positional-only"),
        ('bare', "parameter 'context' is missing"),
    )
    @ddt.unpack
    def test_mismatch(self, name, reason):
        found = installer.problems([_variant(name)])
        self.assertEqual(
            ['%s.Variants.%s: expected signature %s, found %s (%s)'
             % (HERE, name, EXPECTED,
                inspect.signature(getattr(Variants, name)), reason)],
            found)

    @ddt.data(
        # Expected signature, method, why it does not fit.
        ('(self, context, instance, bdms=None)', 'new_optional',
         "parameter 'bdms' has no default any more"),
        ('(self, context, instance, *, bdms)', 'new_optional',
         "parameter 'bdms' is not keyword-only"),
        ('(self, context, instance, *, bdms=None)', 'new_keyword_only',
         "parameter 'bdms' is not keyword-only"),
        ('(self, context, instance, bdms, *, extra=None)',
         'new_required_keyword_only',
         "parameter 'extra' has no default any more"),
        ('(self, context, instance, bdms, **kw)', 'new_keyword_only',
         '**kwargs is missing'),
        ('(self, context, instance, bdms, *args)', 'new_optional',
         '*args is missing'),
        ('(self, context, *args)', 'args_added',
         "new positional parameter 'instance'"),
    )
    @ddt.unpack
    def test_mismatch_of_other_expectations(self, expected, name, reason):
        found = installer.problems([_variant(name, expected)])
        self.assertEqual(1, len(found))
        self.assertTrue(found[0].startswith(
            '%s.Variants.%s: expected signature %s, found ('
            % (HERE, name, expected)), found)
        self.assertTrue(found[0].endswith(' (%s)' % reason), found)

    @ddt.data(
        ('(self, context, instance, bdms=None)', 'default_added'),
        ('(self, context, instance, bdms, *, extra=None)',
         'new_keyword_only'),
        ('(self, context, instance, bdms, **kw)', 'kwargs_added'),
        ('(self, context: int, instance, bdms) -> None', 'annotated'),
        ('(self, context, instance, bdms, extra=[1, f(2)])',
         'new_optional'),
    )
    @ddt.unpack
    def test_exact_expectation(self, expected, name):
        self.assertEqual([], installer.problems([_variant(name, expected)]))

    def test_every_mismatch_named_once(self):
        found = installer.problems(
            [_variant(n) for n in ('annotated', 'renamed', 'removed')])
        self.assertEqual(2, len(found))
        self.assertIn('Variants.renamed', found[0])
        self.assertIn('Variants.removed', found[1])
        inst = installer.Installer(
            [_variant(n) for n in ('renamed', 'annotated', 'removed')])
        exc = self.assertRaises(exception.HookMismatch, inst.install)
        self.assertIn('Variants.renamed: expected signature', str(exc))
        self.assertIn('Variants.removed: expected signature', str(exc))
        self.assertNotIn('annotated', str(exc))
        self.assertIs(VARIANTS['annotated'], Variants.__dict__['annotated'])

    def test_unreadable_expected_signature(self):
        found = installer.problems([_variant('annotated', '(self, =)')])
        self.assertEqual(1, len(found))
        self.assertTrue(found[0].startswith(
            HERE + '.Variants.annotated: expected signature (self, =) '
            'unreadable ('), found)

    def test_parse_signature(self):
        sig = signature.parse_signature(
            '(self, a: int, /, b=f(x), *c, d, e=<lambda>, **f) -> None'
            .replace('<lambda>', 'lambda: 1'))
        P = inspect.Parameter
        self.assertEqual(
            [('self', P.POSITIONAL_ONLY, True),
             ('a', P.POSITIONAL_ONLY, True),
             ('b', P.POSITIONAL_OR_KEYWORD, False),
             ('c', P.VAR_POSITIONAL, True),
             ('d', P.KEYWORD_ONLY, True),
             ('e', P.KEYWORD_ONLY, False),
             ('f', P.VAR_KEYWORD, True)],
            [(p.name, p.kind, p.default is P.empty)
             for p in sig.parameters.values()])
        self.assertIs(inspect.Signature.empty, sig.return_annotation)


@ddt.ddt
class PassThroughTest(base.TestCase):
    """A hook for the expected signature on a method that takes more.

    What the hook does not know goes to Nova's method, unseen by the hook.
    """

    def setUp(self):
        super().setUp()
        self.seen = []
        self.addCleanup(self._assert_restored)

    def _assert_restored(self):
        for name, func in VARIANTS.items():
            self.assertIs(func, Variants.__dict__[name], name)

    def _hook(self, original, self_, context, instance, bdms):
        # Exactly the expected parameters, as the real hooks are written.
        self.seen.append((context, instance, bdms))
        return original(self_, context, instance, bdms)

    def _install(self, name):
        inst = installer.Installer([_variant(name, hook=self._hook)])
        self.addCleanup(inst.uninstall)
        self.assertTrue(inst.install())
        return Variants()

    @ddt.data(*VARIANTS)
    def test_known_arguments_only(self, name):
        obj = self._install(name)
        result = getattr(obj, name)('ctx', 'inst', bdms='b')
        self.assertEqual((name, 'ctx', 'inst', 'b'), result[:4])
        self.assertEqual([('ctx', 'inst', 'b')], self.seen)

    def test_new_optional_by_position(self):
        obj = self._install('new_optional')
        self.assertEqual(('new_optional', 'ctx', 'inst', 'b', 'x'),
                         obj.new_optional('ctx', 'inst', 'b', 'x'))
        self.assertEqual([('ctx', 'inst', 'b')], self.seen)

    def test_new_optional_by_name(self):
        obj = self._install('new_optional')
        self.assertEqual(('new_optional', 'ctx', 'inst', 'b', 'x'),
                         obj.new_optional('ctx', instance='inst', bdms='b',
                                          extra='x'))
        self.assertEqual([('ctx', 'inst', 'b')], self.seen)

    def test_new_keyword_only(self):
        obj = self._install('new_keyword_only')
        self.assertEqual(('new_keyword_only', 'ctx', 'inst', 'b', 'x'),
                         obj.new_keyword_only('ctx', 'inst', 'b', extra='x'))
        self.assertEqual([('ctx', 'inst', 'b')], self.seen)

    def test_kwargs_added(self):
        obj = self._install('kwargs_added')
        self.assertEqual(
            ('kwargs_added', 'ctx', 'inst', 'b', {'x': 1, 'y': 2}),
            obj.kwargs_added('ctx', 'inst', 'b', x=1, y=2))
        self.assertEqual([('ctx', 'inst', 'b')], self.seen)

    def test_args_added(self):
        obj = self._install('args_added')
        self.assertEqual(('args_added', 'ctx', 'inst', 'b', (1, 2)),
                         obj.args_added('ctx', 'inst', 'b', 1, 2))
        self.assertEqual([('ctx', 'inst', 'b')], self.seen)

    def test_hook_gets_nova_method_when_nothing_extra(self):
        originals = []

        def hook(original, *args, **kwargs):
            originals.append(getattr(original, installer.ORIGINAL_ATTR))
            return original(*args, **kwargs)
        inst = installer.Installer(
            [_variant('new_keyword_only', hook=hook)])
        self.addCleanup(inst.uninstall)
        inst.install()
        Variants().new_keyword_only(1, 2, 3)
        self.assertEqual([VARIANTS['new_keyword_only']], originals)

    def test_exact_signature_keeps_the_plain_wrapper(self):
        inst = installer.Installer(
            [_variant('kwargs_added', '(self, context, instance, bdms, **kw)',
                      hook=self._hook)])
        self.addCleanup(inst.uninstall)
        inst.install()
        # Nothing is held back from a hook that takes the same parameters
        # as Nova's method: this one does not take **kw, fails, and Nova's
        # method runs without it.
        self.assertEqual(('kwargs_added', 'c', 'i', 'b', {'x': 1}),
                         Variants().kwargs_added('c', 'i', 'b', x=1))
        self.assertEqual([], self.seen)


class NovaHookPointsTest(base.TestCase):
    """The real HOOK_POINTS against the installed Nova."""

    def _snapshot(self):
        found = {}
        for point in hooks.HOOK_POINTS:
            cls = point.owner_class()
            found[point.qualname] = (cls, cls.__dict__.get(point.name))
        return found

    def test_no_problems(self):
        self.assertEqual([], hooks.problems())

    def test_points_are_unique_and_on_nova(self):
        names = [p.qualname for p in hooks.HOOK_POINTS]
        self.assertEqual(len(names), len(set(names)))
        self.assertEqual(
            {'nova.compute.api.API', 'nova.compute.manager.ComputeManager',
             'nova.api.openstack.compute.servers.ServersController'},
            {p.owner for p in hooks.HOOK_POINTS})
        self.assertIn('nova.compute.api.API._delete', names)
        self.assertIn('nova.compute.manager.ComputeManager._delete_instance',
                      names)

    def test_install_uninstall(self):
        before = self._snapshot()
        self.assertFalse(hooks.installed())
        self.assertTrue(hooks.install())
        self.assertTrue(hooks.installed())
        self.assertEqual([], hooks.problems())
        for point in hooks.HOOK_POINTS:
            cls, original = before[point.qualname]
            if point.hook is None:
                # Checked only: Nova's own method stays in place.
                self.assertIs(original, cls.__dict__[point.name])
                continue
            wrapper = cls.__dict__[point.name]
            self.assertIsNotNone(original)
            self.assertIsNot(original, wrapper)
            self.assertIs(getattr(cls, point.name), wrapper)
            self.assertIs(original,
                          getattr(wrapper, installer.ORIGINAL_ATTR),
                          point.qualname)
        self.assertTrue(hooks.uninstall())
        self.assertFalse(hooks.installed())
        after = self._snapshot()
        for qualname, (cls, original) in before.items():
            self.assertIs(original, after[qualname][1], qualname)

    def test_install_idempotent(self):
        self.assertTrue(hooks.install())
        wrappers = self._snapshot()
        self.assertFalse(hooks.install())
        self.assertEqual(wrappers, self._snapshot())
        self.assertTrue(hooks.uninstall())
        self.assertFalse(hooks.uninstall())

    def test_called_methods_are_checked_not_wrapped(self):
        checked = {p.qualname for p in hooks.HOOK_POINTS if p.hook is None}
        self.assertEqual({'nova.compute.api.API.soft_delete',
                          'nova.compute.api.API.delete',
                          'nova.compute.api.API._update_queued_for_deletion'},
                         checked)

    def test_nova_methods_are_not_wrapped_at_rest(self):
        for qualname, (cls, original) in self._snapshot().items():
            self.assertIsNotNone(original, qualname)
            self.assertFalse(hasattr(original, installer.ORIGINAL_ATTR),
                             qualname)

    def test_mismatch_installs_nothing_on_nova(self):
        before = self._snapshot()
        good = hooks.HOOK_POINTS
        bad = installer.HookPoint(
            good[0].owner, good[0].name, '(self, context, instance)',
            good[0].hook)
        inst = installer.Installer(good + (bad,))
        self.addCleanup(inst.uninstall)
        exc = self.assertRaises(exception.HookMismatch, inst.install)
        self.assertIn('nova.compute.api.API._delete: expected signature '
                      '(self, context, instance), found ', str(exc))
        self.assertEqual(1, str(exc).count('API.'))
        self.assertEqual(before, self._snapshot())
        self.assertFalse(inst.installed)

    def test_missing_nova_method_installs_nothing(self):
        before = self._snapshot()
        inst = installer.Installer(hooks.HOOK_POINTS + (
            installer.HookPoint('nova.compute.api.API', '_no_such_method',
                                '(self)', lambda original, *a: None),))
        self.addCleanup(inst.uninstall)
        exc = self.assertRaises(exception.HookMismatch, inst.install)
        self.assertIn('nova.compute.api.API._no_such_method: method not '
                      'found', str(exc))
        self.assertEqual(before, self._snapshot())
