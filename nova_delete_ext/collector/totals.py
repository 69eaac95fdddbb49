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

"""What each stored record adds to the counters the collector exports.

The counters are totals kept in the record store (its ``totals`` table),
added to in the transaction that stores the records they count, so they
are right across restarts, with several collectors and after a purge.
"""

from nova_delete_ext.collector import schema

DELETES_TOTAL = 'nova_delete_ext_deletes_total'


def increments(record):
    """``[(metric name, sorted label pairs, amount)]`` for one new record.

    :param record: a record as :func:`.schema.parse` returns it.
    """
    if record.get('kind') != 'delete':
        return []
    labels = (('outcome', record.get('outcome') or ''),
              ('path', record.get('path') or ''),
              ('service', schema.service_of(record) or ''),
              ('vm_state', record.get('vm_state') or ''))
    return [(DELETES_TOTAL, labels, 1.0)]
