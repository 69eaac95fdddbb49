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

"""Nova's cells as the collector finds them, without importing Nova.

The cell mappings are read from Nova's API database
(``[api_database]connection``) with SQLAlchemy, against the columns of
Nova's ``cell_mappings`` table, and each cell database is reached through
an engine of its own, with a time limit on connecting and reading so that
a cell that does not answer costs a timeout, not a thread for ever.
"""

import dataclasses
import urllib.parse

from oslo_log import log as logging
import sqlalchemy as sa

LOG = logging.getLogger(__name__)

_META = sa.MetaData()
# The columns of Nova's table that the collector reads (nova.db.api.models).
CELL_MAPPINGS = sa.Table(
    'cell_mappings', _META,
    sa.Column('id', sa.Integer, primary_key=True),
    sa.Column('uuid', sa.String(36)),
    sa.Column('name', sa.String(255)),
    sa.Column('database_connection', sa.Text))


@dataclasses.dataclass(frozen=True)
class Cell:
    uuid: str
    name: str
    #: The database URL, templates filled in.
    url: str

    @property
    def label(self):
        """The cell's name, or its uuid when it has none."""
        return self.name or self.uuid


def format_url(url, default):
    """A cell's database URL, with its template filled in from ``default``.

    Nova's own rule (``CellMapping.format_db_url``): a URL with ``{...}``
    takes its parts from ``[database]connection``.
    """
    if '{' not in url or not default:
        return url
    parts = urllib.parse.urlparse(default)
    try:
        return url.format(
            username=parts.username, password=parts.password,
            hostname=parts.hostname, port=parts.port, scheme=parts.scheme,
            query=parts.query, fragment=parts.fragment,
            path=parts.path.lstrip('/'))
    except (KeyError, IndexError, ValueError):
        LOG.warning('Could not fill in the cell database URL template '
                    'from [database]connection; using it as it is.')
        return url


def read(api_engine, default_url=None):
    """Every cell of the API database, cell0 included, by name."""
    mapping = CELL_MAPPINGS.c
    query = sa.select(mapping.uuid, mapping.name,
                      mapping.database_connection).order_by(mapping.id)
    with api_engine.connect() as conn:
        rows = conn.execute(query).all()
    return [Cell(uuid, name, format_url(url or '', default_url))
            for uuid, name, url in rows]


def _connect_args(url, timeout):
    """The driver's own limits on connecting and reading, in seconds.

    A query given up by the poller goes on in its thread until the driver
    gives up: these make sure it does.
    """
    backend = url.get_backend_name()
    seconds = max(1, int(timeout + 0.999))
    if backend == 'mysql':
        return {'connect_timeout': seconds, 'read_timeout': seconds,
                'write_timeout': seconds}
    if backend == 'postgresql':
        return {'connect_timeout': seconds,
                'options': '-c statement_timeout=%d' % (seconds * 1000)}
    return {}


class Engines:
    """One small engine per database URL, kept from one poll to the next.

    :param timeout: seconds a cell database may take to connect and to
        answer, which the drivers enforce.
    """

    def __init__(self, timeout):
        self.timeout = timeout
        self._engines = {}

    def __call__(self, url):
        engine = self._engines.get(url)
        if engine is None:
            parsed = sa.engine.make_url(url)
            pool = {}
            if parsed.get_backend_name() != 'sqlite':
                # One poll at a time uses one connection.
                pool = {'pool_size': 1, 'max_overflow': 1,
                        'pool_recycle': 3600}
            engine = sa.create_engine(
                parsed, pool_pre_ping=True,
                connect_args=_connect_args(parsed, self.timeout), **pool)
            self._engines[url] = engine
        return engine

    def dispose(self):
        for engine in self._engines.values():
            engine.dispose()
        self._engines.clear()
