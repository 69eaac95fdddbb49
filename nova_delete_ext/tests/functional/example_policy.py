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

"""A policy from outside nova-delete-ext, as an operator would write one.

It is registered by the functional test through an entry point of a
distribution the test creates, exactly as another installed package would
register it. The contributor guide walks through the same code.
"""

from oslo_config import cfg

from nova_delete_ext import exception
from nova_delete_ext.policies import base

_OPTS = [
    cfg.StrOpt('prefix', default='keep-',
               help='Servers whose name starts with this are never '
                    'deleted.'),
    cfg.StrOpt('scratch_prefix', default='tmp-',
               help='Soft-deleted servers whose name starts with this are '
                    'reclaimed at the next periodic reclaim, whatever '
                    '[DEFAULT]reclaim_instance_interval says.'),
]


class NameGuard(base.DeletePolicy):
    """Keep servers named with a prefix; reclaim scratch servers at once.

    Also notes every delete it saw, after the delete.
    """

    def register_opts(self, conf):
        conf.register_opts(_OPTS, group='example_name_guard')

    def validate(self):
        if not self.conf.example_name_guard.prefix:
            raise exception.ConfigInvalid(
                option='[example_name_guard]prefix', reason='is empty')

    def on_request(self, event):
        prefix = self.conf.example_name_guard.prefix
        if event.instance.display_name.startswith(prefix):
            return self.decision('denied', deny=exception.DeleteProtected(
                reason='Servers named %s* are kept.' % prefix))
        return None

    def after_delete(self, event):
        return self.decision('seen', detail=event.record.outcome)

    def retention(self, instance):
        # nova-compute's periodic reclaim asks this of every soft-deleted
        # server; None leaves it to the next policy, then to Nova.
        if instance.display_name.startswith(
                self.conf.example_name_guard.scratch_prefix):
            return 0
        return None
