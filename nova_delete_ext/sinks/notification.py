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

"""The ``notification`` sink: each record as an oslo.messaging notification.

The record goes out through the notifier Nova itself sends with, so on the
notification transport and to the drivers and topics of Nova's
``[oslo_messaging_notifications]`` and ``[notifications]`` options, where
the consumers an operator already runs on Nova's notifications receive it.
With ``[notifications]notification_format = versioned`` that is Nova's
versioned notifier, otherwise its legacy one, the one that is not a no-op.

* event type: ``delete_ext.delete.end`` (``delete_ext.restore.end`` for a
  restore, ``delete_ext.check.end`` for the check record written after a
  delete), priority INFO;
* publisher id: ``nova-api:<host>`` or ``nova-compute:<host>``, the service
  that wrote the record;
* payload: the record's fields (see :mod:`nova_delete_ext.record`) and
  ``schema_version``, :data:`SCHEMA_VERSION`.

The ``nova_delete_ext`` notification driver ignores what it is sent, so a
record never comes back to the extension. The notifier is prepared with
``retry=0``: with the broker down a send fails at once, is counted as lost
by the sink's writer, and no delete waits for it.
"""

from nova import context as nova_context
from nova import rpc
import oslo_messaging

from nova_delete_ext import sinks

#: Version of the payload schema: a new field raises the minor version, a
#: removed or changed field the major one. 1.1: ``kind`` and ``id``, and the
#: check records.
SCHEMA_VERSION = '1.1'

EVENT_DELETE = 'delete_ext.delete.end'
EVENT_RESTORE = 'delete_ext.restore.end'
EVENT_CHECK = 'delete_ext.check.end'


def payload(record):
    """The notification payload of ``record``."""
    data = record.as_dict()
    data['schema_version'] = SCHEMA_VERSION
    return data


# By the record's delete_type (a field of the documented payload): sinks
# read records and import nothing of the record package, which uses them.
_EVENT_TYPES = {'restore': EVENT_RESTORE}


def event_type(record):
    # A check record (``kind`` ``check``) may carry the delete_type of the
    # delete it checked.
    if getattr(record, 'kind', None) == 'check':
        return EVENT_CHECK
    return _EVENT_TYPES.get(record.delete_type, EVENT_DELETE)


def publisher_id(record):
    """``nova-api:<host>`` from the record's ``api@<host>``."""
    side, _, host = (record.recorded_by or '').partition('@')
    return 'nova-%s:%s' % (side or 'unknown', host or 'unknown')


class NotificationSink(sinks.Sink):

    def _notifier(self):
        if self.conf.notifications.notification_format == 'versioned':
            notifier = rpc.NOTIFIER
        else:
            notifier = rpc.LEGACY_NOTIFIER
        if notifier is None:
            raise RuntimeError("Nova's notifier is not set up in this "
                               "process")
        return notifier

    def emit(self, record):
        notifier = self._notifier()
        if isinstance(notifier, oslo_messaging.Notifier):
            notifier = notifier.prepare(publisher_id=publisher_id(record),
                                        retry=0)
        else:
            # A stand-in, such as the one of Nova's test fixtures.
            notifier = notifier.prepare(publisher_id=publisher_id(record))
        context = nova_context.RequestContext(
            user_id=record.user_id, project_id=record.project_id,
            request_id=record.request_id, is_admin=False, overwrite=False)
        notifier.info(context, event_type(record), payload(record))
