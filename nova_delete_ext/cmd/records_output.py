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

"""How ``nova-delete-ext records`` prints records: table, JSON or CSV.

JSON is a list with one object per record, the record's own fields (the
``schema_version`` of the notification that carried it is left out, so a
record reads the same from the database and from a record file).
"""

import csv

from oslo_serialization import jsonutils
import prettytable

from nova_delete_ext.collector import schema

FORMATS = ('table', 'json', 'csv')

_LIST_COLUMNS = (
    ('Time', lambda r: r.get(schema.time_field(r))),
    ('Kind', lambda r: r.get('kind')),
    ('Server', lambda r: r.get('instance_uuid')),
    ('VM state', lambda r: r.get('vm_state')),
    ('Task state', lambda r: r.get('task_state')),
    ('Type', lambda r: r.get('delete_type')),
    ('Path', lambda r: r.get('path')),
    ('Trigger', lambda r: r.get('trigger')),
    ('Outcome', lambda r: r.get('outcome')),
    ('Decisions', lambda r: ' '.join(r.get('decisions') or ())),
    ('Recorded by', lambda r: r.get('recorded_by')),
    ('ID', lambda r: r.get('id')),
)

#: CSV columns: scalar fields as they are, lists joined with ``;``.
CSV_FIELDS = (
    'id', 'kind', 'delete_id', 'time', 'instance_uuid', 'project_id',
    'user_id', 'request_id', 'host', 'vm_state', 'task_state',
    'power_state', 'delete_type', 'trigger', 'path', 'outcome', 'decisions',
    'released', 'retained', 'steps', 'duration_ms', 'recorded_by', 'error',
    'capture', 'leaks', 'repaired')


def own_fields(record):
    """The record without the notification's ``schema_version``."""
    return {k: v for k, v in record.items() if k != 'schema_version'}


def _text(value):
    return '' if value is None else str(value)


def _leak_text(leak):
    if not isinstance(leak, dict):
        return str(leak)
    return '%s:%s' % (leak.get('kind'), leak.get('resource_id'))


def _csv_value(record, field):
    if field == 'time':
        return _text(record.get(schema.time_field(record)))
    value = record.get(field)
    if field == 'leaks' and value is not None:
        return ';'.join(_leak_text(leak) for leak in value)
    if isinstance(value, list):
        return ';'.join(str(item) for item in value)
    return _text(value)


def write_list(records, fmt, out):
    """Print ``records`` (newest first) in ``fmt``."""
    if fmt == 'json':
        print(jsonutils.dumps([own_fields(r) for r in records], indent=2,
                              sort_keys=True), file=out)
    elif fmt == 'csv':
        writer = csv.writer(out, lineterminator='\n')
        writer.writerow(CSV_FIELDS)
        for record in records:
            writer.writerow([_csv_value(record, f) for f in CSV_FIELDS])
    else:
        table = prettytable.PrettyTable([name for name, _ in _LIST_COLUMNS])
        table.align = 'l'
        for record in records:
            table.add_row([_text(get(record)) for _, get in _LIST_COLUMNS])
        print(table, file=out)


def _show_value(field, value):
    if field == 'leaks' and value is not None:
        return '\n'.join('%s %s' % (_leak_text(leak), leak.get('detail') or '')
                         if isinstance(leak, dict) else str(leak)
                         for leak in value).strip() or '-'
    if isinstance(value, list):
        return '\n'.join(str(item) for item in value) or '-'
    return _text(value)


def write_show(record, checks, fmt, out):
    """Print a record, then each check record of it."""
    records = [record] + list(checks)
    if fmt != 'table':
        write_list(records, fmt, out)
        return
    for index, item in enumerate(records):
        if index:
            print('\nCheck record %d of %d' % (index, len(checks)), file=out)
        table = prettytable.PrettyTable(['Field', 'Value'])
        table.align = 'l'
        for field in sorted(own_fields(item)):
            table.add_row([field, _show_value(field, item[field])])
        print(table, file=out)
