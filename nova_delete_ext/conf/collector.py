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

"""Options of the collector and of the record store it fills.

Read by ``nova-delete-ext-collector``, ``nova-delete-ext records`` and
``nova-delete-ext db``, none of which imports Nova: keep this module free of
Nova imports.
"""

from oslo_config import cfg

collector_group = cfg.OptGroup(
    'delete_ext_collector',
    title='Collector and record store',
    help="""
Options of ``nova-delete-ext-collector``, the service that consumes the
records the ``notification`` sink sends and stores each once in a database,
and of the commands that read that database (``nova-delete-ext records``)
and manage its schema (``nova-delete-ext db``).

Give these commands a configuration file of their own, or Nova's
``nova.conf`` with this group added: the collector also reads the
notification transport (``[oslo_messaging_notifications]transport_url``
or ``[DEFAULT]transport_url``) from it.
""")

collector_opts = [
    cfg.StrOpt(
        'connection',
        default='sqlite:////var/lib/nova-delete-ext/records.sqlite',
        secret=True,
        help="""
The database the records are stored in, as an SQLAlchemy URL (oslo.db).

SQLite is enough for one collector on one node; use MariaDB/MySQL or
PostgreSQL when several collectors share the work or when the records must
survive the loss of a node. Create or upgrade the schema with
``nova-delete-ext db sync`` before starting the collector.

Possible values:

* ``sqlite:////var/lib/nova-delete-ext/records.sqlite`` (the default): a
  file on this node; its directory must exist and be writable.
* ``mysql+pymysql://USER:PASSWORD@HOST/nova_delete_ext?charset=utf8mb4``
* ``postgresql+psycopg2://USER:PASSWORD@HOST/nova_delete_ext``

Related options:

* ``retention_days``: how long records are kept.
"""),
    cfg.StrOpt(
        'pool',
        default='nova-delete-ext',
        help="""
The oslo.messaging listener pool of the collector.

A pool has its own queue on each topic, so the other consumers of Nova's
notifications (Ceilometer, billing...) still receive every message, and
the collectors of one pool share the records between them: each record
goes to one collector of the pool.

Possible values:

* A name used by no other consumer of the topics.

Related options:

* ``topics``.
"""),
    cfg.ListOpt(
        'topics',
        default=[],
        help="""
The notification topics to consume records from.

Possible values:

* Empty (the default): the topics of
  ``[oslo_messaging_notifications]topics`` (by default
  ``notifications``), where Nova's legacy notifier sends, and so the
  ``notification`` sink with ``[notifications]notification_format``
  ``unversioned`` or ``both``.
* A list of topics, e.g. ``versioned_notifications`` when Nova sends
  versioned notifications only.

Related options:

* ``[notifications]notification_format`` and
  ``[notifications]versioned_notifications_topics`` of Nova.
"""),
    cfg.IntOpt(
        'batch_size',
        default=500,
        min=1,
        help="""
The most records the collector stores in one database transaction.

When records wait on the queue, the collector takes up to this many at
once and stores them in one transaction, which drains a backlog much
faster than one transaction per record.

Related options:

* ``batch_timeout``.
"""),
    cfg.FloatOpt(
        'batch_timeout',
        default=1.0,
        min=0.0,
        help="""
Seconds the collector waits for a batch to fill before storing what it has.

This is also the longest a record waits before it is stored when records
arrive one by one.

Related options:

* ``batch_size``.
"""),
    cfg.FloatOpt(
        'retry_interval',
        default=1.0,
        min=0.1,
        help="""
Seconds before the collector retries a batch the database did not take.

The batch's messages are not acknowledged until they are stored; the wait
doubles after each failure up to ``max_retry_interval``.

Related options:

* ``max_retry_interval``.
"""),
    cfg.FloatOpt(
        'max_retry_interval',
        default=60.0,
        min=0.1,
        help="""
The longest wait, in seconds, between two tries of a database that is down.

Related options:

* ``retry_interval``.
"""),
    cfg.IntOpt(
        'retention_days',
        default=0,
        min=0,
        help="""
Days records are kept in the database.

``nova-delete-ext records purge`` without ``--before`` deletes the records
older than this many days. Purging never lowers the counters the
collector exports.

Possible values:

* 0 (the default): keep every record; ``records purge`` then needs
  ``--before``.
* A number of days, e.g. 400 to keep a bit more than a year.
"""),
    cfg.HostAddressOpt(
        'metrics_host',
        default='127.0.0.1',
        help="""
The address the collector serves its Prometheus metrics on.

Related options:

* ``metrics_port``.
"""),
    cfg.PortOpt(
        'metrics_port',
        default=9781,
        help="""
The TCP port the collector serves its Prometheus metrics on.

Possible values:

* A port number; 9781 by default.
* 0: no metrics.

Related options:

* ``metrics_host``.
"""),
    cfg.FloatOpt(
        'poll_interval',
        default=60.0,
        min=1.0,
        help="""
Seconds between two reads of Nova's cell databases for the metrics that
no record carries (deletes under way, servers in the recycle bin, cells
that answer).

Related options:

* ``metrics_port``: 0 turns the metrics, and this poll, off.
"""),
]


def register_opts(conf):
    conf.register_group(collector_group)
    conf.register_opts(collector_opts, group=collector_group)


def list_opts():
    return [(collector_group, collector_opts)]
