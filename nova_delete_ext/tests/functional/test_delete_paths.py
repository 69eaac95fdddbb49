"""Every delete path of a real Nova, and the record each one writes."""

from nova_delete_ext.tests.functional import base


class TestComputeDelete(base.DeleteExtTestBase):

    def test_delete_active(self):
        server = self._create_server(networks='none')
        self._delete_server(server)
        record = self.only_record(server)
        self.assertEqual('active', record['vm_state'])
        self.assertEqual('compute', record['path'])
        self.assertEqual('deleted', record['outcome'])
        self.assert_gone(server)
