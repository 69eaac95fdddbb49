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

"""``nova-delete-ext sweep --reclaim``: what a dead host cannot reclaim.

The soft-deleted servers whose compute host is down past their retention
are reclaimed from here (see :mod:`nova_delete_ext.leaks.reclaim`), with
the policies of this node's ``nova.conf`` asked as nova-compute asks them
before its own reclaim: ``protect`` refuses a protected server, and the
retention is the one ``recycle`` stored on the server, or else
``[DEFAULT]reclaim_instance_interval`` if it is above 0 (a server with
neither is left alone, as its host would leave it).
"""

import functools

from nova import context as nova_context
from oslo_log import log as logging
import prettytable

from nova_delete_ext.hooks import decide
from nova_delete_ext.hooks import refusal
from nova_delete_ext.leaks import reclaim
from nova_delete_ext.leaks import sweep
from nova_delete_ext import policies
from nova_delete_ext.record import attempt as attempt_mod
from nova_delete_ext import sinks

LOG = logging.getLogger(__name__)


def add_arguments(parser):
    parser.add_argument('--reclaim', action='store_true',
                        help='first reclaim the soft-deleted servers whose '
                             'compute host is down past their retention, '
                             'as that host would have (only --cell and '
                             '--project apply)')


def run(context, conf, args):
    """With ``--reclaim``, reclaim; a list of ``Reclaim``, or None.

    In every cell, or in the ``--cell``; of every project, or of the
    ``--project``.

    :raises nova_delete_ext.exception.ConfigInvalid: the policies of
        ``[delete_ext]policies`` cannot be loaded: nothing is reclaimed
        unchecked.
    """
    if not args.reclaim:
        return None
    chain = policies.load(conf)
    previous = policies.set_active(chain)
    rows = []
    try:
        for cell_mapping in sweep.select_cells(context, args.cell):
            rows += _reclaim_cell(context, cell_mapping, chain, conf,
                                  args.project)
    finally:
        policies.set_active(previous)
        # The records go out before the command ends.
        sinks.flush(conf.delete_ext.sink_stop_timeout)
    return rows


def _reclaim_cell(context, cell_mapping, chain, conf, project_id):
    rows = []
    with nova_context.target_cell(context, cell_mapping) as cctxt:
        try:
            for instance in reclaim.overdue(
                    cctxt, functools.partial(_retention, chain, conf),
                    project_id=project_id):
                rows.append(reclaim.reclaim(cctxt, instance, _refusal))
        except Exception as exc:
            LOG.exception('Could not reclaim in cell %s',
                          cell_mapping.identity)
            rows.append(reclaim.Reclaim(
                '-', None, reclaim.FAILED,
                'cell %s: %s' % (cell_mapping.identity, exc)))
    return rows


def _retention(chain, conf, instance):
    seconds = chain.retention(instance)
    if seconds is None and conf.reclaim_instance_interval > 0:
        return conf.reclaim_instance_interval
    return seconds


def _refusal(attempt):
    """The policies' refusal of this reclaim, or None (see nova-compute's)."""
    instance = attempt.instance
    try:
        denial = decide.before_destroy(attempt)
    except Exception:
        attempt_mod.log_internal_error(instance)
        return decide.unchecked(instance, destroy=True)
    return None if denial is None else refusal.explained(denial, instance)


def failed(rows):
    return any(row.outcome == reclaim.FAILED for row in rows or ())


def as_json(rows):
    """The reclaim's part of the sweep's JSON document."""
    if rows is None:
        return {}
    return {'reclaimed': [row.as_dict() for row in rows]}


def print_table(rows, out):
    """The reclaim's part of the sweep's table output, if it reclaimed."""
    if rows is None:
        return
    if rows:
        table = prettytable.PrettyTable(['Instance', 'Host', 'Reclaim',
                                         'Detail'])
        table.align = 'l'
        for row in rows:
            table.add_row([row.instance_uuid, row.host or '-', row.outcome,
                           row.detail])
        print(table, file=out)
    done = sum(1 for row in rows if row.outcome == reclaim.RECLAIMED)
    print('%d soft-deleted server(s) on a compute host that is down '
          'reclaimed.' % done, file=out)
