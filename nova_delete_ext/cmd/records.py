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

"""Query the delete records: every delete of the cloud in one place.

``list`` prints the records that pass the filters, newest first; ``show``
prints one record and the check records of that delete (what ``verify``
found and repaired); ``purge`` deletes the records older than a date.

The records come from the collector's database,
``[delete_ext_collector]connection`` of the configuration files given,
or, with ``--file``, from record files (the ``file`` sink's, rotated and
gzip-compressed ones included) when no collector runs.

Exit status: 0 done, 1 the records could not be read (or no record has
that id), 2 bad input (an unknown value, a bad time, a missing file).
"""

import sys

from oslo_db import exception as db_exc

from nova_delete_ext.cmd import common
from nova_delete_ext.cmd import records_output as output
from nova_delete_ext.cmd import records_source as source
from nova_delete_ext.collector import filters as filters_mod
from nova_delete_ext.collector import schema

HELP = "list, show and purge the collector's delete records"
DEFAULT_LIMIT = 100
DEFAULT_PURGE_BATCH = 1000


def _add_source_arguments(sub):
    common.add_config_arguments(sub)
    sub.add_argument('--file', action='extend', nargs='+', default=[],
                     metavar='PATH',
                     help='read these record files instead of the database '
                          '(repeatable; rotated and .gz files too, e.g. '
                          '--file /var/log/nova/delete-records.jsonl*)')
    sub.add_argument('-f', '--format', choices=output.FORMATS,
                     default='table', help='output (default: table)')


def add_arguments(parser):
    actions = parser.add_subparsers(dest='action', required=True,
                                    metavar='ACTION')
    lst = actions.add_parser('list', help='records that pass the filters, '
                                          'newest first')
    _add_source_arguments(lst)
    for name, help_text in (('server', 'of this instance (UUID)'),
                            ('project', 'of this project (id)'),
                            ('user', 'of this user (id)'),
                            ('host', 'of instances on this compute host')):
        lst.add_argument('--' + name, help='only records ' + help_text)
    lst.add_argument('--vm-state', type=common.choice(
        'vm_state', schema.VM_STATES), help='only deletes from this vm_state')
    lst.add_argument('--path', type=common.choice('path', schema.PATHS),
                     help='only deletes that took this path')
    lst.add_argument('--outcome', type=common.choice(
        'outcome', schema.OUTCOMES), help='only records of this outcome')
    lst.add_argument('--policy', help='only records with a decision of this '
                                      'policy (protect, recycle, ...)')
    lst.add_argument('--since', type=common.utc_time, metavar='TIME',
                     help='only records at or after TIME (ISO 8601, UTC '
                          'unless it has an offset, or an age: 12h, 7d)')
    lst.add_argument('--until', type=common.utc_time, metavar='TIME',
                     help='only records before TIME')
    lst.add_argument('--limit', type=int, default=DEFAULT_LIMIT, metavar='N',
                     help='at most N records, the newest (default: '
                          '%(default)s; 0: all)')
    show = actions.add_parser('show', help='one record and the check '
                                           'records of that delete')
    _add_source_arguments(show)
    show.add_argument('id', metavar='ID', help="the record's id")
    purge = actions.add_parser('purge', help='delete old records from the '
                                             'database')
    common.add_config_arguments(purge)
    purge.add_argument('--before', type=common.utc_time, metavar='TIME',
                       help='delete the records older than TIME (default: '
                            'older than [delete_ext_collector]retention_days)')
    purge.add_argument('--batch-size', type=common.positive,
                       default=DEFAULT_PURGE_BATCH, metavar='N',
                       help='records deleted per transaction (default: '
                            '%(default)s)')


def main(argv=None):
    """``nova-delete-ext records``, with ``argv`` the arguments after it."""
    parser = common.Parser(prog='nova-delete-ext records', description=__doc__)
    add_arguments(parser)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    return run(args)


def run(args, out=None, err=None):
    out = out or sys.stdout
    err = err or sys.stderr
    action = {'list': _list, 'show': _show, 'purge': _purge}[args.action]
    try:
        return action(args, out, err)
    except common.UsageError as exc:
        print('nova-delete-ext records %s: error: %s' % (args.action, exc),
              file=err)
        return common.USAGE
    except source.Unavailable as exc:
        print('Error: %s' % exc, file=err)
        return common.ERROR
    except db_exc.DBError as exc:
        print('Error: the record database: %s' % exc, file=err)
        return common.ERROR


def _list(args, out, err):
    if args.limit < 0:
        raise common.UsageError('--limit must be 0 (all) or more')
    if args.since and args.until and args.since >= args.until:
        raise common.UsageError('--since must be earlier than --until')
    filters = filters_mod.Filters(
        server=args.server, project=args.project, user=args.user,
        host=args.host, vm_state=args.vm_state, path=args.path,
        outcome=args.outcome, policy=args.policy, since=args.since,
        until=args.until)
    with source.open_source(args, err) as records:
        # One more than asked, to tell whether there are more.
        found = records.list(filters, args.limit + 1 if args.limit else None)
    more = args.limit and len(found) > args.limit
    output.write_list(found[:args.limit or None], args.format, out)
    if more:
        print('More records match than the %d shown (--limit 0 shows '
              'all).' % args.limit, file=err)
    return common.OK


def _show(args, out, err):
    with source.open_source(args, err) as records:
        record = records.get(args.id)
        if record is None:
            print('No record has the id %s.' % args.id, file=err)
            return common.ERROR
        checks = []
        if record.get('kind') == 'delete':
            checks = records.checks_of(args.id)
    output.write_show(record, checks, args.format, out)
    return common.OK


def _purge(args, out, err):
    conf = common.load_config(args)
    before = args.before
    if before is None:
        days = conf.delete_ext_collector.retention_days
        if not days:
            raise common.UsageError(
                'give --before, or set [delete_ext_collector]retention_days')
        before = common.utc_time('%dd' % days)
    with source.open_store(conf) as store:
        result = store.purge(before, args.batch_size)
    print('Purged %d record(s) older than %s UTC in %d transaction(s); the '
          'longest took %.3f s.' % (result.deleted, before.isoformat(' '),
                                    result.transactions, result.longest),
          file=out)
    return common.OK
