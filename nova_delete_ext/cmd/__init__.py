"""The ``nova-delete-ext`` command and its subcommands.

Each subcommand is a module with ``add_arguments(parser)``, ``run(args)``
returning the exit code, and its own ``main(argv=None)``.
"""

import argparse
import sys

from nova_delete_ext.cmd import sweep
from nova_delete_ext.cmd import uninstall

SUBCOMMANDS = {'sweep': sweep, 'uninstall': uninstall}
#: Old names of subcommands, kept working for one release.
DEPRECATED_ALIASES = {'audit': 'sweep'}


def main(argv=None):
    """Entry point of the ``nova-delete-ext`` console script."""
    parser = argparse.ArgumentParser(
        prog='nova-delete-ext',
        description='Operator tools of nova-delete-ext.')
    subparsers = parser.add_subparsers(dest='command', required=True,
                                       metavar='COMMAND')
    for name, module in SUBCOMMANDS.items():
        aliases = [old for old, new in DEPRECATED_ALIASES.items()
                   if new == name]
        sub = subparsers.add_parser(
            name, aliases=aliases, help=module.HELP,
            description=module.__doc__,
            formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(sub)
        sub.set_defaults(module=module, parser=sub)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.command in DEPRECATED_ALIASES:
        new = DEPRECATED_ALIASES[args.command]
        message = ('"nova-delete-ext %s" is deprecated and will be removed '
                   'in a future release: use "nova-delete-ext %s".'
                   % (args.command, new))
        print('Deprecated: %s' % message, file=sys.stderr)
    return args.module.run(args)
