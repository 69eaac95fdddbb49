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

"""The ``nova-delete-ext`` command and its subcommands.

Each subcommand is a module with ``add_arguments(parser)``, ``run(args)``
returning the exit code, and its own ``main(argv=None)``. Only the module
of the subcommand asked for is imported: ``records`` and ``db`` do not
import Nova (about 4 s of CPU), ``sweep`` does.
"""

import argparse
import collections
import importlib
import sys

Subcommand = collections.namedtuple('Subcommand', 'module help')

SUBCOMMANDS = {
    'sweep': Subcommand(
        'nova_delete_ext.cmd.sweep',
        'find (and repair) what deleted instances left behind'),
    'records': Subcommand(
        'nova_delete_ext.cmd.records',
        "list, show and purge the collector's delete records"),
    'uninstall': Subcommand(
        'nova_delete_ext.cmd.uninstall',
        'what removing the extension would do now; remove its keys'),
    'db': Subcommand(
        'nova_delete_ext.cmd.db',
        "create or upgrade the collector's record database"),
}
#: Old names of subcommands, kept working for one release.
DEPRECATED_ALIASES = {'audit': 'sweep'}


def main(argv=None):
    """Entry point of the ``nova-delete-ext`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    name = argv[0] if argv else None
    if name in DEPRECATED_ALIASES:
        new = DEPRECATED_ALIASES[name]
        message = ('"nova-delete-ext %s" is deprecated and will be removed '
                   'in a future release: use "nova-delete-ext %s".'
                   % (name, new))
        print('Deprecated: %s' % message, file=sys.stderr)
        name = new
    if name in SUBCOMMANDS:
        module = importlib.import_module(SUBCOMMANDS[name].module)
        return module.main(argv[1:])
    # No subcommand, --help or an unknown one: argparse says so.
    build_parser().parse_args(argv)
    return 2


def build_parser(full=False):
    """The top-level parser; with ``full``, every subcommand's arguments.

    ``full`` imports every subcommand's module (and so Nova): for tools
    and tests that need the whole command line, never for a run.
    """
    parser = argparse.ArgumentParser(
        prog='nova-delete-ext',
        description='Operator tools of nova-delete-ext.')
    subparsers = parser.add_subparsers(dest='command', required=True,
                                       metavar='COMMAND')
    for name, subcommand in SUBCOMMANDS.items():
        aliases = [old for old, new in DEPRECATED_ALIASES.items()
                   if new == name]
        sub = subparsers.add_parser(name, aliases=aliases,
                                    help=subcommand.help)
        if full:
            importlib.import_module(subcommand.module).add_arguments(sub)
    return parser
