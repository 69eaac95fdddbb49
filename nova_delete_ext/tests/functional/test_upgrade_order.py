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

"""nova-api and nova-compute one protocol version apart, both ways.

nova-api carries the facts of a delete to nova-compute in the instance's
system_metadata (:mod:`nova_delete_ext.record.sysmeta`). During a rolling
upgrade one side runs the next release. Here nova-api's entry is rewritten
on its way to the cast, as the other release would write it, and the
in-process nova-compute reads it.
"""

from unittest import mock

from nova import context as nova_context
from nova import objects
from oslo_serialization import jsonutils

from nova_delete_ext.record import sysmeta
from nova_delete_ext.tests.functional import base
from nova_delete_ext.tests.functional import scenarios


class TestProtocolVersionsApart(scenarios.ServerStates,
                                base.DeleteExtTestBase):

    def setUp(self):
        super().setUp()
        self.use_policies('protect', 'recycle', delete_ext_recycle={
            'retention': {'stopped': 86400}})

    def _nova_api_writes(self, version):
        """nova-api's entries get ``version``, as that release writes."""
        real = sysmeta.stash

        def stash(instance, *args, **kwargs):
            real(instance, *args, **kwargs)
            data = jsonutils.loads(instance.system_metadata[
                sysmeta.REQUEST_KEY])
            data['v'] = version
            instance.system_metadata[sysmeta.REQUEST_KEY] = jsonutils.dumps(
                data)

        patcher = mock.patch.object(sysmeta, 'stash', autospec=True,
                                    side_effect=stash)
        patcher.start()
        self.addCleanup(patcher.stop)

    def _recycle(self):
        server = self.server_stopped()
        self.api.delete_server(server['id'])
        server = self._wait_for_state_change(server, 'SOFT_DELETED')
        instance = objects.Instance.get_by_uuid(
            nova_context.get_admin_context(), server['id'],
            expected_attrs=['system_metadata'])
        # The recycle bin works either way: the retention is its own key.
        self.assertEqual('86400',
                         instance.system_metadata[sysmeta.RETENTION_KEY])
        self.assertNotIn(sysmeta.REQUEST_KEY, instance.system_metadata)
        return self.only_record(server)

    def test_nova_compute_one_version_ahead(self):
        # The documented order, compute nodes first: the upgraded
        # nova-compute reads the entry of the nova-api not yet upgraded.
        self._nova_api_writes(sysmeta.VERSION)
        with mock.patch.object(sysmeta, 'VERSION', sysmeta.VERSION + 1):
            record = self._recycle()
        self.assertEqual(('stopped', None, 'shutdown'),
                         (record['vm_state'], record['task_state'],
                          record['power_state']))
        self.assertEqual(['recycle:soft_delete(86400s)'],
                         record['decisions'])
        self.assertNotIn('Ignoring the delete facts',
                         self.stdlog.logger.output)

    def test_nova_api_one_version_ahead(self):
        # nova-api first: nova-compute cannot read the entry, records the
        # state it sees (the soft delete under way, not the state at the
        # request) without nova-api's decisions, and logs why.
        self._nova_api_writes(sysmeta.VERSION + 1)
        record = self._recycle()
        self.assertEqual(('stopped', 'soft-deleting'),
                         (record['vm_state'], record['task_state']))
        self.assertEqual([], record['decisions'])
        self.assertEqual(('soft_delete', 'soft_deleted'),
                         (record['delete_type'], record['outcome']))
        self.assertIn('Ignoring the delete facts nova-api carried: version '
                      '%d' % (sysmeta.VERSION + 1),
                      self.stdlog.logger.output)
