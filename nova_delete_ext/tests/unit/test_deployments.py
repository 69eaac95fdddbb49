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

"""The nova.conf snippets of the deployment recipes, read as Nova reads them.

Each ``doc/source/install/deployments/*.conf`` is parsed with oslo.config
against a configuration object that has Nova's own options, oslo.messaging's
and the extension's: every option it sets must exist in its group and its
value must be valid, and it must load the extension's driver without
dropping the messaging one. The OpenStack-Ansible overrides, rendered the
way ``config_template`` renders them, must give the documented snippet.
"""

import glob
import os

from nova.conf import opts as nova_opts
from oslo_config import cfg
import oslo_messaging
import yaml

from nova_delete_ext import conf as ext_conf
from nova_delete_ext.tests.unit import base

DIR = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'doc',
                   'source', 'install', 'deployments')


def _known_options():
    """{group: {name: opt}} of Nova, oslo.messaging and the extension."""
    known = {}
    for list_opts in (nova_opts.list_opts, oslo_messaging.opts.list_opts,
                      ext_conf.list_opts):
        for group, options in list_opts():
            name = getattr(group, 'name', group) or 'DEFAULT'
            for opt in options:
                # keystoneauth's plugins share option names: one is enough.
                known.setdefault(name, {}).setdefault(opt.dest, opt)
    return known


def _load(path):
    """The snippet read by a ConfigOpts with its groups' options."""
    known = _known_options()
    conf = cfg.ConfigOpts()
    for section in _sections(path):
        if section not in known:
            raise AssertionError('%s: no group [%s] in Nova or the extension'
                                 % (os.path.basename(path), section))
        group = None if section == 'DEFAULT' else section
        conf.register_opts(list(known[section].values()), group=group)
    conf(args=[], project='nova', default_config_files=[path],
         use_env=False)
    return conf


def _sections(path):
    sections = {}
    cfg.ConfigParser(path, sections).parse()
    return sections


class SnippetsTest(base.TestCase):

    def _snippets(self):
        paths = sorted(glob.glob(os.path.join(DIR, '*.conf')))
        self.assertGreaterEqual(len(paths), 3)
        return paths

    def test_every_option_exists_and_is_valid(self):
        for path in self._snippets():
            conf = _load(path)
            for section, options in _sections(path).items():
                group = None if section == 'DEFAULT' else section
                for name in options:
                    where = '%s: [%s]%s' % (os.path.basename(path), section,
                                            name)
                    # Reading it converts and validates the value; an
                    # option the group does not have raises.
                    try:
                        value = (conf[group][name] if group
                                 else conf[name])
                    except (cfg.NoSuchOptError,
                            cfg.ConfigFileValueError) as exc:
                        self.fail('%s: %s' % (where, exc))
                    self.assertIsNotNone(value, where)

    def test_loads_the_driver_and_keeps_the_messaging_one(self):
        for path in self._snippets():
            conf = _load(path)
            drivers = conf.oslo_messaging_notifications.driver
            self.assertIn('nova_delete_ext', drivers, path)
            self.assertIn('messagingv2', drivers, path)

    def test_openstack_ansible_overrides_render_the_snippet(self):
        with open(os.path.join(DIR, 'openstack-ansible-user_variables.yml')
                  ) as f:
            overrides = yaml.safe_load(f)['nova_nova_conf_overrides']
        rendered = {
            section: {key: (value if isinstance(value, list) else [value])
                      for key, value in options.items()}
            for section, options in overrides.items()}
        documented = _sections(
            os.path.join(DIR, 'openstack-ansible-nova.conf'))
        self.assertEqual(rendered, documented)
