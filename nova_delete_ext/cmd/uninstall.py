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

"""What removing nova-delete-ext would do now, and its keys removed.

``--check`` (the default) reads every cell and lists what the extension
still holds in place: servers that ``protect`` protects (its metadata key
or tag; removing the extension lifts their protection), servers in the
recycle bin with the retention the extension stored and when Nova alone
would reclaim them (after ``[DEFAULT]reclaim_instance_interval``, which
ignores that retention), and the servers that carry the extension's
``system_metadata`` keys.

``--remove-keys`` removes those keys, and only them: the other entries of
each server's ``system_metadata`` are not rewritten. Run it after the
extension is removed from every node (see the admin guide's page on
uninstalling), since a node that still runs it writes them again.

Exit codes: 0 nothing held, 3 something is held (see the output), 1 an
error, 2 bad arguments.
"""

import argparse
import datetime
import sys

from nova import config as nova_config
from nova import context as nova_context
from nova.db.main import api as main_db
from nova.db.main import models
from nova import objects
from oslo_config import cfg
from oslo_serialization import jsonutils

from nova_delete_ext import conf as ext_conf
from nova_delete_ext.policies import protect
from nova_delete_ext.policies import recycle
from nova_delete_ext.record import sysmeta

CONF = ext_conf.CONF
OK, ERROR, HELD = 0, 1, 3
KEYS = (sysmeta.REQUEST_KEY, sysmeta.RETENTION_KEY, sysmeta.BYPASS_KEY,
        sysmeta.REFUSED_KEY)
_PAGE = 500
_SYSMETA = models.InstanceSystemMetadata.__table__


def add_arguments(parser):
    parser.add_argument('--config-file', action='append', default=[],
                        help='a Nova configuration file (repeatable)')
    parser.add_argument('--config-dir', action='append', default=[],
                        help='a directory of *.conf files (repeatable)')
    parser.add_argument('--check', action='store_true',
                        help='say what removal would do now (the default)')
    parser.add_argument('--remove-keys', action='store_true',
                        help="remove the extension's system_metadata keys "
                             'from every server')
    parser.add_argument('--yes', action='store_true',
                        help='remove without asking')
    parser.add_argument('--format', choices=('text', 'json'),
                        default='text', help='output (default: text)')


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='nova-delete-ext uninstall', description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    args.parser = parser
    return run(args)


def run(args, out=None, err=None):
    out = out or sys.stdout
    err = err or sys.stderr
    argv = ['nova-delete-ext']
    for path in args.config_file:
        argv += ['--config-file', path]
    for path in args.config_dir:
        argv += ['--config-dir', path]
    try:
        nova_config.parse_args(argv)
    except cfg.Error as exc:
        args.parser.error('configuration: %s' % exc)
    objects.register_all()
    context = nova_context.get_admin_context()
    try:
        held = read(context, CONF)
        if args.remove_keys:
            if not (args.yes or _confirm(len(held['keys']), err)):
                print('Nothing was removed.', file=err)
            else:
                held['removed'] = remove_keys(context, held['keys'])
    except Exception as exc:
        print('Error: %s: %s' % (type(exc).__name__, exc), file=err)
        return ERROR
    _print(args.format, held, out)
    return HELD if any(held[k] for k in ('protected', 'recycled', 'keys')) \
        else OK


def _confirm(count, err):
    if not sys.stdin.isatty():
        print('Not removing without a terminal to confirm on; add --yes.',
              file=err)
        return False
    print("Remove the extension's keys from %d server(s)? [y/N] " % count,
          end='', file=err, flush=True)
    return sys.stdin.readline().strip().lower() in ('y', 'yes')


def _servers(cctxt):
    """Every server of the cell that is not deleted, a page at a time."""
    marker = None
    while True:
        page = objects.InstanceList.get_by_filters(
            cctxt, {'deleted': False, 'soft_deleted': True},
            sort_key='created_at', sort_dir='asc', limit=_PAGE, marker=marker,
            expected_attrs=['metadata', 'system_metadata', 'tags'])
        yield from page
        if len(page) < _PAGE:
            return
        marker = page[-1].uuid


def read(context, conf):
    """What the extension holds in place, cell by cell."""
    guard = protect.Protect(conf)
    bin_ = recycle.Recycle(conf)
    interval = conf.reclaim_instance_interval
    held = {'protected': [], 'recycled': [], 'keys': [], 'cells': []}
    for cell in objects.CellMappingList.get_all(context):
        if cell.uuid == objects.CellMapping.CELL0_UUID:
            continue
        held['cells'].append(cell.name or cell.uuid)
        with nova_context.target_cell(context, cell) as cctxt:
            for server in _servers(cctxt):
                _read_server(server, guard, bin_, interval, held, cell)
    return held


def _read_server(server, guard, bin_, interval, held, cell):
    found = guard.protection(server)
    if found:
        held['protected'].append({'server': server.uuid,
                                  'reason': found[0]})
    retention = bin_.retention(server)
    if retention is not None:
        deleted_at = server.deleted_at or server.updated_at
        held['recycled'].append({
            'server': server.uuid,
            'retention_ends': _after(deleted_at, retention),
            'nova_reclaims': (_after(deleted_at, interval) if interval > 0
                              else 'never (reclaim_instance_interval is 0)'),
        })
    keys = sorted(k for k in KEYS if k in server.system_metadata)
    if keys:
        held['keys'].append({'server': server.uuid, 'keys': keys,
                             'cell': cell.uuid})


def _after(moment, seconds):
    if moment is None:
        return 'unknown'
    moment = moment.replace(tzinfo=None)
    return (moment + datetime.timedelta(seconds=seconds)).isoformat()


def remove_keys(context, servers):
    """Delete the extension's rows, and only them.

    Saving each instance would rewrite its whole system_metadata and could
    drop an entry saved meanwhile. Nova itself deletes system_metadata rows
    for good (a soft-deleted one would still be read with the instance:
    ``_instance_metadata_update_in_place``), and so does this.
    """
    cells = {c.uuid: c for c in objects.CellMappingList.get_all(context)}
    removed = 0
    for cell_uuid in sorted({s['cell'] for s in servers}):
        uuids = [s['server'] for s in servers if s['cell'] == cell_uuid]
        with nova_context.target_cell(context, cells[cell_uuid]) as cctxt:
            removed += _delete_keys(cctxt, uuids)
    return removed


@main_db.pick_context_manager_writer
def _delete_keys(context, uuids):
    result = context.session.execute(
        _SYSMETA.delete().where(_SYSMETA.c.instance_uuid.in_(uuids),
                                _SYSMETA.c.key.in_(KEYS)))
    return result.rowcount


def _print(fmt, held, out):
    if fmt == 'json':
        print(jsonutils.dumps(held, indent=2, sort_keys=True), file=out)
        return
    print('Cells read: %s' % (', '.join(held['cells']) or 'none'), file=out)
    print('Protected servers (removal lifts their protection): %d'
          % len(held['protected']), file=out)
    for item in held['protected']:
        print('  %(server)s: %(reason)s' % item, file=out)
    print('Servers in the recycle bin (without the extension Nova reclaims '
          'them after reclaim_instance_interval): %d'
          % len(held['recycled']), file=out)
    for item in held['recycled']:
        print('  %(server)s: retention ends %(retention_ends)s, Nova alone '
              'reclaims it %(nova_reclaims)s' % item, file=out)
    print("Servers with the extension's system_metadata keys: %d"
          % len(held['keys']), file=out)
    if 'removed' in held:
        print('Keys removed: %d' % held['removed'], file=out)
