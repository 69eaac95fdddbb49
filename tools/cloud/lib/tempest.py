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

"""Tempest, and the tempest.conf of a workspace for this cloud.

The plugin's ``[delete_ext_feature_enabled]`` flags follow
CLOUD_POLICIES, and ``[delete_ext]`` takes the devstack plugin's values,
as nova.conf does (``lib/delete_ext``).
"""

import os

from functions import ini
from functions import write
from lib import delete_ext
from settings import LOGS
from settings import PASSWORD
from settings import REGION
from settings import url
from settings import WITH_CINDER

APT_PACKAGES = {}
PIP_PACKAGES = ['tempest']
PROCESSES = []


def configure_workspace(state, workspace):
    """Write ``workspace``'s etc/tempest.conf; return its path."""
    d = delete_ext.devstack_settings()
    policies = delete_ext.policies()
    images = state['images']
    flavors = state['flavors']
    build_timeout = os.environ.get('CLOUD_BUILD_TIMEOUT', '300')
    path = os.path.join(workspace, 'etc', 'tempest.conf')
    write(path, ini([
        ('DEFAULT', [('log_file', os.path.join(LOGS, 'tempest.log')),
                     ('use_stderr', 'false')]),
        ('auth', [('admin_username', 'admin'),
                  ('admin_password', PASSWORD),
                  ('admin_project_name', 'admin'),
                  ('admin_domain_name', 'Default'),
                  ('use_dynamic_credentials', 'true'),
                  ('create_isolated_networks', 'false'),
                  ('tempest_roles', 'member')]),
        ('identity', [('uri_v3', url('keystone', '/v3')),
                      ('auth_version', 'v3'), ('region', REGION)]),
        ('identity-feature-enabled', [('api_v2', 'false')]),
        ('compute', [('image_ref', images[0]),
                     ('image_ref_alt', images[1]),
                     ('flavor_ref', flavors[0]),
                     ('flavor_ref_alt', flavors[1]),
                     ('fixed_network_name', 'shared'),
                     ('min_compute_nodes', '1'),
                     ('max_microversion', 'latest'),
                     ('shelved_offload_time', '-1'),
                     ('build_timeout', build_timeout),
                     ('region', REGION)]),
        ('compute-feature-enabled', [
            ('resize', 'true'), ('shelve', 'true'), ('pause', 'true'),
            ('suspend', 'true'), ('console_output', 'true'),
            ('cold_migration', 'false'), ('live_migration', 'false'),
            ('vnc_console', 'false'), ('spice_console', 'false'),
            ('serial_console', 'false'), ('rescue', 'true'),
            ('attach_encrypted_volume', 'false')]),
        ('network', [('region', REGION), ('shared_physical_network',
                                          'false')]),
        ('network-feature-enabled', [('api_extensions', 'all')]),
        ('image', [('region', REGION)]),
        ('image-feature-enabled', [('api_v2', 'true')]),
        ('volume', [('region', REGION), ('catalog_type', 'volumev3'),
                    ('backend_names', 'fake'),
                    ('storage_protocol', 'iSCSI'),
                    ('build_timeout', build_timeout)]),
        ('validation', [('run_validation', 'false')]),
        # A 2-core machine shared with other work answers slowly at times.
        ('service-clients', [('http_timeout', os.environ.get(
            'CLOUD_HTTP_TIMEOUT', '300'))]),
        ('service_available', [
            ('nova', 'true'), ('neutron', 'true'), ('glance', 'true'),
            ('cinder', 'true' if WITH_CINDER else 'false'),
            ('swift', 'false'), ('horizon', 'false')]),
        ('delete_ext_feature_enabled', [
            (p, 'true' if p in policies else 'false')
            for p in ('protect', 'recycle', 'capture', 'verify')]),
        ('delete_ext', [
            ('protect_metadata_key',
             d['NOVA_DELETE_EXT_PROTECT_METADATA_KEY']),
            ('protect_tag', d['NOVA_DELETE_EXT_PROTECT_TAG'])]),
    ]))
    return path
