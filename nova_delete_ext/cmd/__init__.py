"""The ``nova-delete-ext`` command and its subcommands.

Each subcommand is a module with ``add_arguments(parser)``, ``run(args)``
returning the exit code, and its own ``main(argv=None)``.
"""

import argparse
import sys

from nova_delete_ext.cmd import audit

SUBCOMMANDS = {'audit': audit}


def main(argv=None):
    """Entry point of the ``nova-delete-ext`` console script."""
    parser = argparse.ArgumentParser(
        prog='nova-delete-ext',
        description='Operator tools of nova-delete-ext.')
    subparsers = parser.add_subparsers(dest='command', required=True,
                                       metavar='COMMAND')
    for name, module in SUBCOMMANDS.items():
        sub = subparsers.add_parser(
            name, help=module.HELP, description=module.__doc__,
            formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(sub)
        sub.set_defaults(module=module, parser=sub)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    return args.module.run(args)
