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

"""Tempest plugin of nova-delete-ext.

Registered as ``nova_delete_ext_tests`` in the ``tempest.test_plugins``
entry point namespace.
"""

import os

from tempest import config
from tempest.test_discover import plugins

from nova_delete_ext.tests.tempest import config as project_config

_OPT_GROUPS = (
    (project_config.delete_ext_feature_group,
     project_config.DeleteExtFeatureGroup),
    (project_config.delete_ext_group, project_config.DeleteExtGroup),
)


class NovaDeleteExtTempestPlugin(plugins.TempestPlugin):

    def load_tests(self):
        """Return ``(test_dir, top_level_dir)`` for test discovery."""
        test_dir = os.path.dirname(os.path.abspath(__file__))
        # The top level is the directory holding the nova_delete_ext
        # package, three levels up from this one (tests/tempest).
        top_level_dir = test_dir
        for _ in range(3):
            top_level_dir = os.path.dirname(top_level_dir)
        return test_dir, top_level_dir

    def register_opts(self, conf):
        """Register the plugin's option groups on Tempest's ``conf``."""
        for group, opts in _OPT_GROUPS:
            config.register_opt_group(conf, group, opts)

    def get_opt_lists(self):
        """Return ``[(group name, [opts])]`` for the sample config."""
        return [(group.name, opts) for group, opts in _OPT_GROUPS]

    def get_service_clients(self):
        # The tests use Tempest's own compute, network and volume clients.
        return []
