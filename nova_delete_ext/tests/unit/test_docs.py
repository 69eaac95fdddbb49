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

"""What the README, the docs and the release notes name exists in the code.

Every ``[group]option`` (inline, or as ``option = value`` under a
``[group]`` line of a configuration snippet), every ``nova-delete-ext`` and
``nova-delete-ext-status`` command line and every ``--flag`` a command's
page names is looked up in the options and the argument parsers the code
really has. The record's values, event types and payload are checked by
the docs build itself (``doc/source/_exts``).
"""

import argparse
import configparser
import glob
import importlib.metadata
import os
import re
from unittest import mock

import nova.conf
from oslo_config import cfg

from nova_delete_ext import cmd
from nova_delete_ext.cmd import collector as collector_cmd
from nova_delete_ext.cmd import status
from nova_delete_ext import conf as ext_conf
from nova_delete_ext.tests.unit import base

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))

#: Option namespaces of the groups that are Nova's: Nova's own, and the
#: libraries whose options Nova's configuration reference lists.
NOVA_NAMESPACES = ('nova.conf', 'oslo.log', 'oslo.messaging', 'oslo.policy',
                   'oslo.db', 'oslo.concurrency', 'oslo.middleware',
                   'oslo.service.service', 'oslo.service.periodic_task',
                   'keystonemiddleware.auth_token', 'osprofiler')
#: Groups the guides name on purpose that are no nova.conf group: the
#: sections of a plugin's setup.cfg, the options of the guides' example
#: plugins (``example_*``, their code is on the same page), and the
#: placeholder of ``'[group]name'``.
NOT_NOVA_CONF = re.compile(r'^(entry_points|metadata|files|example_\w+|'
                           r'group)$')

_GROUP = r'DEFAULT|[a-z][a-z0-9_]*'
# Not an index (conf[group]): no word, bracket or dot just before it.
_INLINE = re.compile(r'(?<![\w\].)\[])\[(%s)\]([a-z][a-z0-9_]*)?' % _GROUP)
# "[DEFAULT]foo of ``cinder.conf``": another service's option.
_OTHER_SERVICE = re.compile(r'(?:``)?\s+(?:of|in)\s+(?:``)?(\w+)\.conf')
_INI_GROUP = re.compile(r'^(\s*)\[(%s)\]\s*$' % _GROUP)
_INI_OPTION = re.compile(r'^(\s*)([a-z][a-z0-9_]*)\s*=')
# A command line: the program at the start of an inline literal or of a
# line of a literal block (after a shell prompt or sudo).
_PROGRAM = r'(nova-delete-ext(?:-status|-collector)?)'
_INLINE_COMMAND = re.compile(r'``' + _PROGRAM + r'((?: [^`]*)?)``')
_BLOCK_COMMAND = re.compile(r'^\s+(?:\$ |sudo (?:-u \w+ )?)?' + _PROGRAM +
                            r'((?: .*)?)$')
_FLAG = re.compile(r'``(--?[a-z][a-z0-9-]*)')


def _texts():
    """``{path: text}`` of the README, the docs and the release notes."""
    paths = (glob.glob(os.path.join(ROOT, '*.rst')) +
             glob.glob(os.path.join(ROOT, 'doc', 'source', '**', '*.rst'),
                       recursive=True) +
             glob.glob(os.path.join(ROOT, 'releasenotes', 'notes', '*.yaml')))
    texts = {}
    for path in sorted(paths):
        with open(path) as f:
            texts[os.path.relpath(path, ROOT)] = _without_code(f.read())
    return texts


def _without_code(text):
    """``text`` without its Python code blocks, where ``x[y]`` is code."""
    kept, skip_deeper_than = [], None
    for line in text.split('\n'):
        indent = len(line) - len(line.lstrip())
        if skip_deeper_than is not None:
            if not line.strip() or indent > skip_deeper_than:
                kept.append('')
                continue
            skip_deeper_than = None
        if re.match(r'\s*\.\. (code-block|sourcecode|literalinclude)::',
                    line):
            skip_deeper_than = indent
        kept.append(line)
    return '\n'.join(kept)


def _literal_block_lines(text):
    """``(line number, line)`` of the lines of ``text``'s literal blocks."""
    inside = None
    for number, line in enumerate(text.split('\n'), 1):
        indent = len(line) - len(line.lstrip())
        if inside is not None:
            if not line.strip():
                continue
            if indent > inside:
                yield number, line
                continue
            inside = None
        if line.rstrip().endswith('::') and not re.match(
                r'\s*\.\. [\w-]+::$', line.rstrip()) or re.match(
                r'\s*\.\. code-block:: (console|shell|bash|none|text)',
                line):
            inside = indent


def _command_lines(text):
    """``(line number, program, the rest)`` of each command line named."""
    for match in _INLINE_COMMAND.finditer(text):
        yield (text.count('\n', 0, match.start()) + 1, match.group(1),
               match.group(2))
    for number, line in _literal_block_lines(text):
        match = _BLOCK_COMMAND.match(line)
        if match:
            yield number, match.group(1), match.group(2)


def _known_options():
    """``{group: {option names, deprecated names included}}``."""
    namespaces = [('nova_delete_ext', ext_conf.list_opts)]
    for entry_point in importlib.metadata.entry_points(
            group='oslo.config.opts'):
        if entry_point.name in NOVA_NAMESPACES:
            namespaces.append((entry_point.name, entry_point.load()))
    known = {'DEFAULT': set()}
    for _, list_opts in namespaces:
        for group, opts in list_opts():
            name = getattr(group, 'name', group) or 'DEFAULT'
            names = known.setdefault(name, set())
            for opt in opts:
                names.add(opt.dest)
                for old in opt.deprecated_opts:
                    known.setdefault(old.group or name, set()).add(
                        (old.name or opt.name).replace('-', '_'))
    # What nova.conf registers itself (keystoneauth's plugin options...).
    for group_name in list(nova.conf.CONF):
        group = getattr(nova.conf.CONF, group_name)
        if isinstance(group, cfg.ConfigOpts.GroupAttr):
            known.setdefault(group_name, set()).update(group)
        else:
            known['DEFAULT'].add(group_name)
    return known


def _named_options(text):
    """``(line, group, option or None)`` for each option ``text`` names."""
    for match in _INLINE.finditer(text):
        after = _OTHER_SERVICE.match(text, match.end())
        if after and after.group(1) != 'nova':
            continue
        line = text.count('\n', 0, match.start()) + 1
        yield line, match.group(1), match.group(2)
    group = indent = None
    for number, line in enumerate(text.split('\n'), 1):
        header = _INI_GROUP.match(line)
        if header:
            indent, group = header.group(1), header.group(2)
            continue
        if group is None or not line.strip():
            continue
        option = _INI_OPTION.match(line)
        if option and option.group(1) == indent:
            yield number, group, option.group(2)
        elif not line.startswith(indent + ' ') and not (
                line.strip().startswith('#')):
            group = None


def _parser_of(main, **patches):
    """The argparse parser ``main`` builds, caught as it parses."""
    caught = []

    def parse_args(parser, *args, **kwargs):
        caught.append(parser)
        raise _Caught()

    with mock.patch.object(argparse.ArgumentParser, 'parse_args',
                           autospec=True, side_effect=parse_args):
        try:
            main([])
        except _Caught:
            pass
    return caught[0]


def _collector_parser():
    """The parser oslo.config builds for nova-delete-ext-collector."""
    conf = cfg.ConfigOpts()
    collector_cmd.parse_args(conf, [])
    return conf._oparser


class _Caught(Exception):
    pass


def _subparsers(parser):
    """``{name: parser}`` of ``parser``'s subcommands, aliases included."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices
    return {}


def _walk(parser, words):
    """The parsers along ``words`` (subcommands), and the words left."""
    chain = [parser]
    words = list(words)
    while words and words[0] in _subparsers(chain[-1]):
        chain.append(_subparsers(chain[-1])[words.pop(0)])
    return chain, words


def _flags(chain):
    """``{flag: action}`` of the parsers of ``chain``."""
    flags = {}
    for parser in chain:
        flags.update(parser._option_string_actions)
    return flags


class DocsNameWhatExistsTest(base.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.texts = _texts()
        # The generated configuration reference renders the options' help.
        cls.texts['the help of nova_delete_ext.conf'] = '\n'.join(
            opt.help or '' for _, opts in ext_conf.list_opts() for opt in opts)
        with mock.patch.object(status, 'CONF', cfg.ConfigOpts()):
            cls.parsers = {
                'nova-delete-ext': cmd.build_parser(full=True),
                'nova-delete-ext-status': _parser_of(status.main),
                'nova-delete-ext-collector': _collector_parser(),
            }

    def test_the_texts_are_found(self):
        self.assertIn('README.rst', self.texts)
        self.assertIn(os.path.join('doc', 'source', 'admin', 'index.rst'),
                      self.texts)
        self.assertTrue(any(p.startswith('releasenotes') for p in self.texts))

    def test_every_option_named_exists(self):
        known = _known_options()
        wrong = []
        for path, text in self.texts.items():
            for line, group, option in _named_options(text):
                if NOT_NOVA_CONF.match(group):
                    continue
                if group not in known:
                    wrong.append('%s:%d: no option group [%s]'
                                 % (path, line, group))
                elif option and option not in known[group]:
                    wrong.append('%s:%d: no option [%s]%s'
                                 % (path, line, group, option))
        self.assertEqual([], wrong)

    def test_the_check_finds_a_wrong_option(self):
        # The checks above are only as good as their parsing.
        text = ('Set ``[delete_ext]polices`` and [delete_ext]sinks.\n\n'
                '::\n\n    [delete_ext_recycle]\n    retention = a:1\n'
                '    retentoin = a:1\n\n    [nova_delete]\n')
        named = list(_named_options(text))
        for expected in [(1, 'delete_ext', 'polices'),
                         (1, 'delete_ext', 'sinks'),
                         (6, 'delete_ext_recycle', 'retention'),
                         (7, 'delete_ext_recycle', 'retentoin'),
                         (9, 'nova_delete', None)]:
            self.assertIn(expected, named)
        known = _known_options()
        self.assertNotIn('polices', known['delete_ext'])
        self.assertIn('audit_log', known['delete_ext'])  # deprecated name
        self.assertIn('reclaim_instance_interval', known['DEFAULT'])
        self.assertIn('driver', known['oslo_messaging_notifications'])
        self.assertNotIn('nova_delete', known)

    def test_every_group_of_the_extension_is_on_the_configuration_page(self):
        page = self.texts[os.path.join('doc', 'source', 'configuration',
                                       'index.rst')]
        for group, _ in ext_conf.list_opts():
            self.assertIn('``[%s]``' % group.name, page)

    def test_every_command_line_named_exists(self):
        wrong = []
        checked = 0
        for path, text in self.texts.items():
            for line, program, rest in _command_lines(text):
                checked += 1
                problem = self._command_problem(program, rest)
                if problem:
                    wrong.append('%s:%d: %s' % (path, line, problem))
        self.assertEqual([], wrong)
        self.assertGreater(checked, 20)

    def _command_problem(self, program, rest):
        """What is wrong with ``program rest``, or None.

        ``rest`` may be a synopsis: brackets, braces and ``...`` are
        dropped, and the word after an option that takes a value is that
        value.
        """
        words = [w.strip('[]{}|') for w in rest.replace('\\', ' ').split()]
        words = [w for w in words if w and w != '...']
        parser = self.parsers[program]
        if (len(words) > 1 and not words[0].startswith('-') and
                words[0] not in _subparsers(parser) and
                not words[1].startswith('-')):
            # "nova-delete-ext lost 1 delete record(s) ...", "nova-delete-ext
            # policies in force": a log line, not a command. A misspelt
            # subcommand alone or before an option is still caught.
            return None
        chain, plain, index = [parser], [], 0
        while index < len(words):
            word = words[index]
            index += 1
            if word.startswith('-'):
                flag = word.split('=')[0]
                action = _flags(chain).get(flag)
                if action is None:
                    return '%s has no option %s' % (
                        ' '.join([program] + [p.prog.split()[-1]
                                              for p in chain[1:]]), flag)
                if action.nargs != 0 and '=' not in word:
                    index += 1  # its value
            elif word in _subparsers(chain[-1]):
                chain.append(_subparsers(chain[-1])[word])
            else:
                plain.append(word)
        expected = _keywords(chain[-1])
        if plain[:len(expected)] != expected or (
                _subparsers(chain[-1]) and plain):
            return '%s has no subcommand %r' % (
                ' '.join([program] + [p.prog.split()[-1]
                                      for p in chain[1:]]),
                (plain or [''])[0])
        return None

    def test_every_flag_on_a_command_page_exists(self):
        wrong = []
        for path, text in self.texts.items():
            page = os.path.basename(path)[:-len('.rst')]
            if not page.startswith('nova-delete-ext'):
                continue
            program = (page if page in self.parsers
                       else 'nova-delete-ext')
            words = [] if page == program else [page[len(program) + 1:]]
            chain, _ = _walk(self.parsers[program], words)
            # The subcommands' own flags count: the status command's
            # --json belongs to "upgrade check".
            every = {f for parser in _all_parsers(chain[-1])
                     for f in parser._option_string_actions}
            for match in _FLAG.finditer(text):
                if match.group(1) not in set(_flags(chain)) | every:
                    wrong.append('%s: %s' % (path, match.group(1)))
        self.assertEqual([], wrong)

    def test_the_check_finds_a_wrong_command(self):
        self.assertIsNone(self._command_problem('nova-delete-ext',
                                                ' sweep --repair --yes'))
        self.assertIsNone(self._command_problem('nova-delete-ext-status',
                                                ' upgrade check --json'))
        self.assertIn('no subcommand', self._command_problem(
            'nova-delete-ext', ' swep'))
        self.assertIn('no option --fix', self._command_problem(
            'nova-delete-ext', ' sweep --fix'))
        self.assertIn('no option --jsn', self._command_problem(
            'nova-delete-ext-status', ' upgrade check --jsn'))
        self.assertIn('no subcommand', self._command_problem(
            'nova-delete-ext-status', ' upgrade chek'))
        self.assertIsNone(self._command_problem(
            'nova-delete-ext', ' sweep [--kinds KIND[,KIND]] [--repair '
            '[--yes]] [--format {table,json}]'))

    def test_status_checks_are_documented_in_their_order(self):
        page = self.texts[os.path.join('doc', 'source', 'cli',
                                       'nova-delete-ext-status.rst')]
        names = [name for name, _ in status.Checks._upgrade_checks]
        section = page.split('\nChecks\n------\n')[1].split('\n----')[0]
        terms = re.findall(r'\n\n([A-Z][^\n]*)\n  ', section)
        self.assertEqual(names, terms)
        example = re.findall(r'\| Check: (.*?) *\|', page)
        self.assertEqual(names, example)


def _keywords(parser):
    """The words ``parser``'s positionals ask for as such.

    oslo.upgradecheck's ``upgrade check``: ``check`` is a positional
    argument whose documented value is its own name.
    """
    return [action.dest for action in parser._actions
            if not action.option_strings and action.metavar is None and
            not isinstance(action, argparse._SubParsersAction) and
            re.match(r'^[a-z]+$', action.dest)]


def _all_parsers(parser):
    yield parser
    for sub in _subparsers(parser).values():
        yield from _all_parsers(sub)


class PackageMetadataTest(base.TestCase):

    def test_python_versions_of_the_install_guide_are_the_packages(self):
        setup = configparser.ConfigParser()
        setup.read(os.path.join(ROOT, 'setup.cfg'))
        classifiers = re.findall(r'Python :: (3\.\d+)$',
                                 setup['metadata']['classifier'], re.M)
        lowest = setup['metadata']['python_requires'].lstrip('>=')
        self.assertEqual(
            min(classifiers, key=lambda v: tuple(map(int, v.split('.')))),
            lowest)
        with open(os.path.join(ROOT, 'doc', 'source', 'install',
                               'index.rst')) as f:
            guide = f.read()
        for version in classifiers:
            self.assertIn('Python %s' % version, guide)
        self.assertIn('Python %s or newer' % lowest, guide)
