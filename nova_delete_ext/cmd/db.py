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

"""Create or upgrade the schema of the collector's record database.

``nova-delete-ext db sync`` applies the migrations the database does not
have yet (run it before starting the collector, and after each upgrade of
nova-delete-ext); ``nova-delete-ext db version`` prints the revision the
database is at. The database is ``[delete_ext_collector]connection`` of
the configuration files given.
"""

import sys

from alembic import util as alembic_util
from oslo_db import exception as db_exc

from nova_delete_ext.cmd import common
from nova_delete_ext.db import migration

HELP = "create or upgrade the collector's record database"


def add_arguments(parser):
    actions = parser.add_subparsers(dest='action', required=True,
                                    metavar='ACTION')
    sync = actions.add_parser(
        'sync', help='upgrade the database to the newest schema')
    sync.add_argument('--revision', default='head',
                      help='upgrade to this revision only '
                           '(default: %(default)s)')
    version = actions.add_parser(
        'version', help='print the revision the database is at')
    for sub in (sync, version):
        common.add_config_arguments(sub)


def main(argv=None):
    """``nova-delete-ext db``, with ``argv`` the arguments after it."""
    parser = common.Parser(prog='nova-delete-ext db', description=__doc__)
    add_arguments(parser)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    return run(args)


def run(args, out=None, err=None):
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        conf = common.load_config(args)
    except common.UsageError as exc:
        print('nova-delete-ext db: error: %s' % exc, file=err)
        return common.USAGE
    connection = conf.delete_ext_collector.connection
    try:
        if args.action == 'sync':
            migration.db_sync(connection, args.revision)
            print('The record database is at revision %s.'
                  % migration.db_version(connection), file=out)
        else:
            print(migration.db_version(connection) or 'None', file=out)
    except alembic_util.CommandError as exc:
        print('nova-delete-ext db: error: %s' % exc, file=err)
        return common.USAGE
    except db_exc.DBError as exc:
        print('Error: the record database: %s' % exc, file=err)
        return common.ERROR
    return common.OK
