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

"""The collector beside the in-process Nova, on the harness's fake bus.

Nova's harness replaces Nova's notifiers by recorders
(``NotificationFixture``), which put nothing on the bus. :class:`OnTheBus`
gives Nova back a real legacy notifier, oslo.messaging's ``messagingv2``
driver on the harness's own ``fake://`` notification transport with Nova's
serializer, as a deployment with ``driver = messagingv2`` has: the
``notification`` sink's records, and Nova's own legacy notifications
beside them, go on the bus where :class:`Collecting` reads them, through
Nova's notification transport as the collector finds it in ``nova.conf``.
"""

import time

import fixtures
from nova import rpc
import oslo_messaging

from nova_delete_ext.collector import service
from nova_delete_ext import conf as ext_conf
from nova_delete_ext.db import api as db_api
from nova_delete_ext.db import migration
from nova_delete_ext import sinks


class OnTheBus(fixtures.Fixture):
    """``sinks = file,notification``, and Nova's notifier on the fake bus."""

    def __init__(self, test):
        super().__init__()
        self.test = test

    def _setUp(self):
        conf = ext_conf.CONF
        self.notifier = oslo_messaging.Notifier(
            rpc.NOTIFICATION_TRANSPORT, driver='messagingv2',
            serializer=rpc.RequestContextSerializer(
                rpc.JsonPayloadSerializer()),
            topics=conf.oslo_messaging_notifications.topics)
        self.test.stub_out('nova.rpc.LEGACY_NOTIFIER', self.notifier)
        self.test.flags(sinks=['file', 'notification'], group='delete_ext')
        sinks.set_active(sinks.load(conf))


class Collecting(fixtures.Fixture):
    """A collector running into a new SQLite database, stopped afterwards.

    The collector is started last, after Nova: its pool's queue exists from
    then on, as in a deployment where it started before the sink was added.
    """

    def __init__(self, path, **options):
        """:param path: the SQLite file, created with the schema."""
        super().__init__()
        self.connection = 'sqlite:///%s' % path
        self.options = dict(batch_timeout=0.05, retry_interval=0.1,
                            max_retry_interval=0.4, **options)

    def _setUp(self):
        conf = ext_conf.CONF
        for name, value in dict(self.options,
                                connection=self.connection).items():
            conf.set_override(name, value, group='delete_ext_collector')
            self.addCleanup(conf.clear_override, name,
                            group='delete_ext_collector')
        migration.db_sync(self.connection)
        self.store = db_api.Store(self.connection)
        self.collector = service.Collector(conf, store=self.store)
        self.collector.start()
        self.addCleanup(self.collector.stop)

    @property
    def health(self):
        return self.collector.health

    def wait_for(self, predicate, timeout=30.0):
        """Wait until ``predicate(health)``; the health then."""
        deadline = time.monotonic() + timeout
        while not predicate(self.health):
            if time.monotonic() > deadline:
                raise AssertionError('collector not there in %ss: %s' % (
                    timeout, self.health.snapshot()))
            time.sleep(0.05)
        return self.health
