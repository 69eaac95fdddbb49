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

"""The record's vocabulary in the docs, taken from the code.

The values of a record's fields (outcomes, paths, triggers, ...), the
event types of the notification sink and the payload's fields are written
once, in the code. The pages describe each value in prose; these
directives check that the prose describes every value the code has and
none it has not, and render the parts that need no prose from the code.
A mismatch is a Sphinx warning, which ``sphinx-build -W`` (``tox -e
docs``) turns into a failed build.

``.. delete-ext-values:: nova_delete_ext.record.OUTCOMES``
    Its content is a bullet or definition list, one item per value, the
    value being the item's first literal (````kept````). The argument is a
    tuple of the code, or ``module.PREFIX_*`` for the module's constants
    whose names start with ``PREFIX_``.

``:delete-ext-values:`nova_delete_ext.record.PATHS```
    The values inline: ````compute````, ````local```` or
    ````build_request````.

``:delete-ext-const:`nova_delete_ext.sinks.notification.SCHEMA_VERSION```
    One constant, as a literal.

``.. delete-ext-payload::``
    The table of the notification payload's fields, one row per item of
    its content (a bullet or definition list whose item names one or more
    fields by literals, with their meaning); the JSON type and the records
    that carry each field come from the code.

``.. delete-ext-example:: delete``
    A record as the notification sink sends it (``:format:
    notification``, the default), as the file sink writes it (``file``) or
    as the log sink logs it (``log``), made by the sinks' own code from
    the record whose fields the content gives as JSON (``delete`` or
    ``check``).
"""

import dataclasses
import importlib
import json
import types
import typing

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util import docutils as sphinx_docutils
from sphinx.util import logging

LOG = logging.getLogger(__name__)


def _resolve(spec):
    """The values a spec names, in their order in the code."""
    module_name, _, attr = spec.rpartition('.')
    module = importlib.import_module(module_name)
    if attr.endswith('*'):
        prefix = attr[:-1]
        return tuple(value for name, value in vars(module).items()
                     if name.startswith(prefix) and isinstance(value, str))
    value = getattr(module, attr)
    if dataclasses.is_dataclass(value):
        return tuple(field.name for field in dataclasses.fields(value))
    return value if isinstance(value, tuple) else (value,)


def _items(node):
    """Each item of the top-level lists in ``node``, and what it names.

    A definition list item names the literals of its term; a bullet list
    item its first literal.
    """
    for child in node.children:
        if isinstance(child, nodes.definition_list):
            for item in child.children:
                term = item.next_node(nodes.term)
                yield item, [lit.astext()
                             for lit in term.findall(nodes.literal)]
        elif isinstance(child, nodes.bullet_list):
            for item in child.children:
                first = item.next_node(nodes.literal)
                yield item, [first.astext()] if first is not None else []


def _inline_list(values):
    parts = []
    for index, value in enumerate(values):
        if index:
            parts.append(nodes.Text(
                ' or ' if index == len(values) - 1 else ', '))
        parts.append(nodes.literal(value, value))
    return parts


class _Checked(sphinx_docutils.SphinxDirective):
    """A directive whose content describes values of the code."""

    has_content = True

    def _parse_content(self):
        container = nodes.container()
        self.state.nested_parse(self.content, self.content_offset, container)
        return container

    def _compare(self, what, expected, described):
        missing = [v for v in expected if v not in described]
        unknown = [v for v in described if v not in expected]
        if missing:
            LOG.warning('%s: the code has %s, which this page does not '
                        'describe', what, ', '.join(missing),
                        location=self.get_location())
        if unknown:
            LOG.warning('%s: this page describes %s, which the code does '
                        'not have', what, ', '.join(unknown),
                        location=self.get_location())


class ValuesDirective(_Checked):
    """The values of a field, described item by item."""

    required_arguments = 1

    def run(self):
        spec = self.arguments[0]
        container = self._parse_content()
        described = [name for _, names in _items(container)
                     for name in names]
        self._compare(spec, _resolve(spec), described)
        return container.children


def values_role(name, rawtext, text, lineno, inliner, options=None,
                content=None):
    return _inline_list(_resolve(text)), []


def const_role(name, rawtext, text, lineno, inliner, options=None,
               content=None):
    value = _resolve(text)[0]
    return [nodes.literal(str(value), str(value))], []


def _json_type(annotation):
    """``str | None`` -> ``string or null``."""
    names = {str: 'string', float: 'number', int: 'number', list: 'list'}
    args = typing.get_args(annotation) if isinstance(
        annotation, types.UnionType) else (annotation,)
    parts = [names[arg] for arg in args if arg is not type(None)]
    if type(None) in args:
        parts.append('null')
    return ' or '.join(parts)


def _payload_fields():
    """{field: (JSON type, records that carry it, optional)}.

    The payload is what :func:`notification.payload` makes of each kind of
    record, so a field the sink adds (``schema_version``) is in it too.
    """
    from nova_delete_ext import record as rec
    from nova_delete_ext.sinks import notification

    fields = {}
    for cls in (rec.DeleteRecord, rec.CheckRecord):
        hints = typing.get_type_hints(cls)
        required = {f.name: None for f in dataclasses.fields(cls)
                    if f.default is dataclasses.MISSING and
                    f.default_factory is dataclasses.MISSING}
        sample = cls(**required)
        keys = list(notification.payload(sample)) + list(cls._OPTIONAL)
        for key in keys:
            optional = key in cls._OPTIONAL
            kind = _json_type(hints[key]) if key in hints else 'string'
            if optional:
                kind = kind.replace(' or null', '')
            entry = fields.setdefault(key, [kind, [], optional])
            entry[1].append(sample.kind)
    return fields


class PayloadDirective(_Checked):
    """The table of the payload's fields."""

    def run(self):
        fields = _payload_fields()
        container = self._parse_content()
        rows = []
        described = []
        for item, names in _items(container):
            if not names:
                continue
            described.extend(names)
            meaning = item.next_node(nodes.definition) or item
            rows.append((names, meaning.deepcopy()))
        self._compare('notification payload', list(fields), described)
        return [self._table(fields, rows)]

    def _table(self, fields, rows):
        table = nodes.table()
        group = nodes.tgroup(cols=4)
        table += group
        for width in (26, 16, 14, 44):
            group += nodes.colspec(colwidth=width)
        group += nodes.thead('', self._row(
            [nodes.Text('Field'), nodes.Text('JSON type'),
             nodes.Text('Records'), nodes.Text('Meaning')]))
        body = nodes.tbody()
        for names, meaning in rows:
            known = [fields[n] for n in names if n in fields]
            kinds = sorted({k for entry in known for k in entry[0:1]})
            records = sorted({r for entry in known for r in entry[1]})
            optional = any(entry[2] for entry in known)
            kind = ', '.join(kinds) + ('; absent when not set'
                                       if optional else '')
            cells = [nodes.paragraph('', '', *_field_names(names)),
                     nodes.Text(kind), nodes.Text(', '.join(records)),
                     meaning]
            body += self._row(cells)
        group += body
        return table

    @staticmethod
    def _row(cells):
        row = nodes.row()
        for cell in cells:
            entry = nodes.entry()
            if isinstance(cell, nodes.Text):
                cell = nodes.paragraph('', '', cell)
            if isinstance(cell, nodes.definition):
                entry.extend(cell.children)
            else:
                entry += cell
            row += entry
        return row


def _field_names(names):
    parts = []
    for index, name in enumerate(names):
        if index:
            parts.append(nodes.Text(', '))
        parts.append(nodes.literal(name, name))
    return parts


class ExampleDirective(sphinx_docutils.SphinxDirective):
    """A record as a sink writes it, made by the sink's own code.

    The argument is the kind of record (``delete`` or ``check``), the
    content the record's fields as JSON; ``:format:`` is ``notification``
    (default), ``file`` or ``log``.
    """

    has_content = True
    required_arguments = 1
    option_spec = {'format': directives.unchanged}

    def run(self):
        from nova_delete_ext import record as rec

        cls = {'delete': rec.DeleteRecord,
               'check': rec.CheckRecord}[self.arguments[0]]
        try:
            record = cls(**json.loads('\n'.join(self.content)))
        except (TypeError, ValueError) as exc:
            LOG.warning('not a %s record: %s', self.arguments[0], exc,
                        location=self.get_location())
            return []
        text = getattr(self, '_' + self.options.get(
            'format', 'notification'))(record)
        block = nodes.literal_block(text, text)
        block['language'] = 'none'
        return [block]

    @staticmethod
    def _notification(record):
        from nova_delete_ext.sinks import notification
        lines = ['{"event_type": %s,' % json.dumps(
                     notification.event_type(record)),
                 ' "priority": "INFO",',
                 ' "publisher_id": %s,' % json.dumps(
                     notification.publisher_id(record))]
        fields = ['%s: %s' % (json.dumps(key), json.dumps(value))
                  for key, value in notification.payload(record).items()]
        lines.append(' "payload": {%s}}' % ',\n             '.join(fields))
        return '\n'.join(lines)

    @staticmethod
    def _file(record):
        return json.dumps(record.as_dict(), sort_keys=True)

    @staticmethod
    def _log(record):
        return ('INFO nova_delete_ext.sinks.log [req-... ...] [instance: '
                '%s] Delete record: %s' % (record.instance_uuid,
                                           record.summary()))


def setup(app):
    app.add_directive('delete-ext-values', ValuesDirective)
    app.add_directive('delete-ext-payload', PayloadDirective)
    app.add_directive('delete-ext-example', ExampleDirective)
    app.add_role('delete-ext-values', values_role)
    app.add_role('delete-ext-const', const_role)
    return {'parallel_read_safe': True, 'parallel_write_safe': True}
