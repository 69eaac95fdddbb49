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

"""The few options of Nova that the collector reads from ``nova.conf``.

The collector never imports Nova (importing it costs seconds of CPU), so
nothing registers Nova's options in its process: :func:`register_opts`
registers stand-ins with Nova's names and defaults. In a process that
imported Nova (the functional tests) Nova's own options are there already
and are left as they are. They are Nova's options, documented by Nova:
``list_opts`` of the extension does not list them.
"""

from oslo_config import cfg

_OPTS = {
    None: [
        cfg.IntOpt('service_down_time', default=60,
                   help="Nova's: seconds without a heartbeat after which "
                        "a service is down."),
        cfg.IntOpt('reclaim_instance_interval', default=0,
                   help="Nova's: seconds a soft-deleted server is kept "
                        "when no retention of its own is set."),
    ],
    'api_database': [
        cfg.StrOpt('connection', secret=True,
                   help="Nova's: the API database, which maps the cells."),
    ],
    'database': [
        cfg.StrOpt('connection', secret=True,
                   help="Nova's: fills in a cell mapping whose database "
                        "URL is a template."),
    ],
}


def _registered(conf, group, name):
    if group is None:
        return name in conf
    return group in conf and name in conf[group]


def register_opts(conf):
    """Register Nova's options the collector reads, unless Nova did."""
    for group, opts in _OPTS.items():
        for opt in opts:
            if not _registered(conf, group, opt.dest):
                conf.register_opt(opt, group=group)
