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

"""Sweep deleted instances for what Nova left behind, and repair it.

Reads the deleted and soft-deleted instances of every cell and looks for
placement allocations they (or their migrations) still hold, Neutron ports
still bound to them, Cinder attachments still naming them and shelve
snapshots still in Glance. Every call to a service is given
[delete_ext_verify]timeout seconds.

Exit codes: 0 nothing found, 3 leaks found, 4 leaks found and all repaired,
1 an error (a cell or service not read, a repair or reclaim failed), 2 bad
arguments.
"""

import argparse
import sys

from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import loading as ks_loading
from nova.conf import service_token as nova_service_token
from nova import config as nova_config
from nova import context as nova_context
from nova import objects
from oslo_config import cfg
from oslo_log import log as logging
from oslo_serialization import jsonutils
from oslo_utils import timeutils
import prettytable

from nova_delete_ext.cmd import reclaim
from nova_delete_ext import conf as ext_conf
from nova_delete_ext import exception
from nova_delete_ext.leaks import providers
from nova_delete_ext.leaks import repair
from nova_delete_ext.leaks import services
from nova_delete_ext.leaks import sweep
from nova_delete_ext import record
from nova_delete_ext.sinks import file as file_sink
from nova_delete_ext import states

LOG = logging.getLogger(__name__)
CONF = ext_conf.CONF

OK, ERROR, FOUND, REPAIRED = 0, 1, 3, 4
_TOOL = 'nova-delete-ext sweep'


def _utc_time(text):
    try:
        return timeutils.normalize_time(timeutils.parse_isotime(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc))


def _kinds(text):
    chosen = frozenset(k.strip() for k in text.split(',') if k.strip())
    unknown = chosen - sweep.SWEPT
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(
            'choose among %s' % ','.join(sorted(sweep.SWEPT)))
    return chosen


def _positive(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError('must be at least 1')
    return value


def add_arguments(parser):
    parser.add_argument('--config-file', action='append', default=[],
                        help='a Nova configuration file (repeatable); '
                             'default: where Nova looks for nova.conf')
    parser.add_argument('--config-dir', action='append', default=[],
                        help='a directory of *.conf files (repeatable)')
    parser.add_argument('--debug', action='store_true',
                        help='log at DEBUG')
    parser.add_argument('--since', type=_utc_time, metavar='TIME',
                        help='only instances deleted at or after TIME '
                             '(ISO 8601, UTC unless it has an offset)')
    parser.add_argument('--before', type=_utc_time, metavar='TIME',
                        help='only instances deleted before TIME')
    parser.add_argument('--project', metavar='PROJECT_ID',
                        help="only this project's instances")
    parser.add_argument('--cell', metavar='NAME_OR_UUID',
                        help='only this cell (default: every cell)')
    parser.add_argument('--kinds', type=_kinds, default=sweep.SWEPT,
                        metavar='KIND[,KIND]',
                        help='only these kinds, among %s (default: all)'
                             % ','.join(sorted(sweep.SWEPT)))
    parser.add_argument('--batch-size', type=_positive,
                        default=sweep.DEFAULT_BATCH, metavar='N',
                        help='instances read and checked at a time '
                             '(default: %(default)s)')
    parser.add_argument('--placement-concurrency', type=_positive,
                        default=providers.DEFAULT_CONCURRENCY, metavar='N',
                        help="requests to placement at a time while every "
                             "provider's allocations are read "
                             '(default: %(default)s)')
    parser.add_argument('--format', choices=('table', 'json'),
                        default='table', help='output (default: table)')
    parser.add_argument('--repair', action='store_true',
                        help='remove what was found: ports Nova created '
                             'are deleted, the others only unbound; volumes '
                             'are not touched, only their attachment '
                             'records. Needs [delete_ext]record_file.')
    parser.add_argument('--yes', action='store_true',
                        help='repair without asking')
    reclaim.add_arguments(parser)


def main(argv=None):
    """``nova-delete-ext sweep``, with ``argv`` the arguments after it."""
    parser = argparse.ArgumentParser(
        prog='nova-delete-ext sweep', description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    args.parser = parser
    return run(args)


def _load_config(args):
    """Read nova.conf as nova-manage does, messaging options included.

    The sweep sends no RPC, but Nova's cell mappings format their message
    queue URL from ``[DEFAULT]transport_url`` as they are read, an option
    oslo.messaging registers only when RPC is initialised: without it,
    reading the cells fails on a real deployment (NoSuchOptError).
    Nothing connects to the message bus until something is sent.
    """
    argv = ['nova-delete-ext']
    for path in args.config_file:
        argv += ['--config-file', path]
    for path in args.config_dir:
        argv += ['--config-dir', path]
    if args.debug:
        argv.append('--debug')
    nova_config.parse_args(argv)
    logging.setup(CONF, 'nova-delete-ext')


def run(args, out=None, err=None):
    out = out or sys.stdout
    err = err or sys.stderr
    if args.since and args.before and args.since >= args.before:
        args.parser.error('--since must be earlier than --before')
    try:
        _load_config(args)
    except cfg.Error as exc:
        args.parser.error('configuration: %s' % exc)
    if args.repair and not CONF.delete_ext.record_file:
        args.parser.error('--repair writes every removal to the record '
                          'file: set [delete_ext]record_file')
    try:
        glance_auth = _glance_auth()
    except ks_exceptions.AuthPluginException as exc:
        args.parser.error('configuration: [service_user]: %s' % exc)
    if glance_auth is None and states.SHELVE_IMAGE in args.kinds:
        args.parser.error(
            'configuration: shelve_image is checked in Glance as Nova\'s '
            'service user, and [service_user] in nova.conf names no '
            'credentials (auth_type): configure it, or leave shelve_image '
            'out of --kinds')
    objects.register_all()
    filters = sweep.Filters(since=args.since, before=args.before,
                            project_id=args.project, cell=args.cell)
    try:
        return _sweep_and_repair(args, filters, out, err, glance_auth)
    except (sweep.UnknownCell, exception.ConfigInvalid) as exc:
        args.parser.error(str(exc))
    except Exception as exc:
        LOG.exception('The sweep failed')
        print('Error: %s' % record.describe_error(exc), file=err)
        return ERROR


def _glance_auth():
    """Credentials for the sweep's calls to Glance, or None.

    The sweep's context is an admin context without a user token. Nova
    gives such a context credentials of its own for placement, Neutron and
    Cinder (their sections of nova.conf), but calls Glance with the
    context's own credentials only: without them every Glance call fails
    with EmptyCatalog. The sweep uses Nova's service user, whose
    ``[service_user]`` credentials ``nova-status upgrade check`` requires.
    """
    return ks_loading.load_auth_from_conf_options(
        CONF, nova_service_token.SERVICE_USER_GROUP)


def _sweep_and_repair(args, filters, out, err, glance_auth=None):
    context = nova_context.get_admin_context()
    context.user_auth_plugin = glance_auth
    reclaimed = reclaim.run(context, CONF, args)
    clients = services.Clients(timeout=CONF.delete_ext_verify.timeout)
    progress = _Progress(err) if err.isatty() else None
    sw = sweep.Sweep(context, clients, filters, kinds=args.kinds,
                     batch_size=args.batch_size, progress=progress,
                     placement_concurrency=args.placement_concurrency)
    rows = [{'leak': leak} for leak in sw.leaks()]
    if progress:
        progress.done()
    failed = bool(sw.counts.failed_cells) or reclaim.failed(reclaimed)
    repaired = False
    if args.repair and rows:
        if args.yes or _confirm(len(rows), err):
            failed |= not _repair_all(context, clients, rows)
            repaired = True
        else:
            print('Nothing was repaired.', file=err)
    _print(args.format, sw.counts, rows, out, reclaimed)
    if failed:
        return ERROR
    if not rows:
        return OK
    return REPAIRED if repaired else FOUND


def _confirm(count, err):
    if not sys.stdin.isatty():
        print('Not repairing without a terminal to confirm on; add --yes.',
              file=err)
        return False
    print('Repair %d leak(s)? [y/N] ' % count, end='', file=err, flush=True)
    return sys.stdin.readline().strip().lower() in ('y', 'yes')


def _repair_all(context, clients, rows):
    """Repair each row's leak; log each outcome; True if all succeeded."""
    path = CONF.delete_ext.record_file
    ok = True
    for row in rows:
        leak = row['leak']
        entry = dict(leak.as_dict(), event='leak_repair', tool=_TOOL,
                     at=record.utcnow_iso())
        try:
            row['action'] = repair.repair(context, leak, clients)
            entry.update(outcome='repaired', action=row['action'])
        except Exception as exc:
            LOG.warning('Could not repair %(leak)s: %(error)s',
                        {'leak': leak.describe(), 'error': exc})
            row['error'] = record.describe_error(exc)
            entry.update(outcome='failed', error=row['error'])
            ok = False
        file_sink.write_line(path, entry)
    return ok


def _print(fmt, counts, rows, out, reclaimed=None):
    if fmt == 'json':
        data = {
            'instances': counts.instances,
            'restorable_skipped': counts.restorable,
            'cells': counts.cells,
            'failed_cells': counts.failed_cells,
            'leaks': [dict(row['leak'].as_dict(),
                           **{k: v for k, v in row.items() if k != 'leak'})
                      for row in rows],
        }
        data.update(reclaim.as_json(reclaimed))
        print(jsonutils.dumps(data, indent=2, sort_keys=True), file=out)
        return
    reclaim.print_table(reclaimed, out)
    if rows:
        repairing = any('action' in row or 'error' in row for row in rows)
        header = ['Instance', 'Kind', 'Resource', 'Detail']
        table = prettytable.PrettyTable(header + (['Repair'] * repairing))
        table.align = 'l'
        for row in rows:
            leak = row['leak']
            cells = [leak.instance_uuid, leak.kind, leak.resource_id,
                     leak.detail]
            if repairing:
                cells.append(row.get('action') or
                             'FAILED: %s' % row.get('error'))
            table.add_row(cells)
        print(table, file=out)
    print('%d leak(s) in %d deleted instance(s) of %d cell(s); %d '
          'soft-deleted instance(s) skipped (still restorable).'
          % (len(rows), counts.instances, counts.cells, counts.restorable),
          file=out)
    for cell in counts.failed_cells:
        print('Cell %s could not be read.' % cell, file=out)


class _Progress:
    """One line on a terminal (never in a pipe), rewritten per batch."""

    def __init__(self, stream):
        self.stream = stream

    def __call__(self, counts, found):
        self.stream.write('\rCell %d, %d deleted instances read, '
                          '%d leak(s) so far' % (counts.cells,
                                                 counts.instances, found))
        self.stream.flush()

    def done(self):
        self.stream.write('\n')
