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

"""Tempest options of the nova-delete-ext plugin.

``[delete_ext_feature_enabled]`` says which policies the cloud under test
runs (devstack sets one flag per entry of ``[delete_ext]policies``);
``[delete_ext]`` mirrors the extension options the tests must agree with.
"""

from oslo_config import cfg

delete_ext_feature_group = cfg.OptGroup(
    name='delete_ext_feature_enabled',
    title='nova-delete-ext policies enabled in the cloud under test')

DeleteExtFeatureGroup = [
    cfg.BoolOpt('protect',
                default=False,
                help='Is the protect policy enabled? A server carrying the '
                     'protection metadata key or tag cannot be deleted.'),
    cfg.BoolOpt('recycle',
                default=False,
                help='Is the recycle policy enabled? A deleted server is '
                     'soft-deleted and can be restored, except in the states '
                     'with no retention (such as ERROR).'),
    cfg.BoolOpt('capture',
                default=False,
                help='Is the capture policy enabled?'),
    cfg.BoolOpt('verify',
                default=False,
                help='Is the verify policy enabled?'),
]

delete_ext_group = cfg.OptGroup(
    name='delete_ext',
    title='nova-delete-ext settings the tests must agree with')

DeleteExtGroup = [
    cfg.StrOpt('protect_metadata_key',
               default='delete_protection',
               help='Server metadata key that protects a server from '
                    'deletion when set to "true". Must match '
                    '[delete_ext_protect]metadata_key in nova.conf.'),
    cfg.StrOpt('protect_tag',
               default='delete-protected',
               help='Server tag that protects a server from deletion. Must '
                    'match [delete_ext_protect]tag in nova.conf.'),
]
