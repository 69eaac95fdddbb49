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

"""Arguments, configuration and errors shared by ``records`` and ``db``.

Neither command imports Nova: they read ``[delete_ext_collector]`` from
their own configuration object, and bad input is one line on stderr and
exit status 2.
"""

import argparse
import datetime
import re

from oslo_config import cfg
from oslo_log import log as logging
from oslo_utils import timeutils

from nova_delete_ext.conf import collector as collector_conf

OK, ERROR, USAGE = 0, 1, 2

_RELATIVE = re.compile(r'^(\d+)([mhd])$')
_UNITS = {'m': 'minutes', 'h': 'hours', 'd': 'days'}


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, exit status 2."""

    def error(self, message):
        self.exit(USAGE, '%s: error: %s\n' % (self.prog, message))


class UsageError(Exception):
    """Bad input found after parsing: one line, exit status 2."""


def add_config_arguments(parser):
    parser.add_argument(
        '--config-file', action='append', default=[], metavar='PATH',
        help='a configuration file with [delete_ext_collector]connection '
             '(repeatable; default: /etc/nova-delete-ext/'
             'nova-delete-ext.conf if it exists)')
    parser.add_argument('--config-dir', action='append', default=[],
                        metavar='DIR',
                        help='a directory of *.conf files (repeatable)')
    parser.add_argument('--debug', action='store_true', help='log at DEBUG')


def load_config(args):
    """The configuration of ``--config-file``/``--config-dir``.

    :raises UsageError: if a file is missing or cannot be parsed.
    """
    conf = cfg.ConfigOpts()
    collector_conf.register_opts(conf)
    logging.register_options(conf)
    argv = []
    for path in args.config_file:
        argv += ['--config-file', path]
    for path in args.config_dir:
        argv += ['--config-dir', path]
    try:
        conf(argv, project='nova-delete-ext', prog='nova-delete-ext')
        # Read now, so a bad value is a usage error here, not later.
        conf.delete_ext_collector.connection
        conf.delete_ext_collector.retention_days
    except (cfg.Error, ValueError) as exc:
        raise UsageError('configuration: %s' % exc)
    conf.set_override('debug', args.debug)
    logging.setup(conf, 'nova-delete-ext')
    return conf


def utc_time(text):
    """An argparse type: ISO 8601, or ``30m``/``12h``/``7d`` ago.

    A time without an offset is UTC. Returns a naive UTC datetime.
    """
    match = _RELATIVE.match(text)
    if match:
        delta = datetime.timedelta(**{_UNITS[match.group(2)]:
                                      int(match.group(1))})
        return timeutils.utcnow() - delta
    try:
        return timeutils.normalize_time(timeutils.parse_isotime(text))
    except ValueError:
        raise argparse.ArgumentTypeError(
            '%r is not a time: give ISO 8601 (2026-03-12 or '
            '2026-03-12T10:15:00+01:00) or an age (30m, 12h, 7d)' % text)


def choice(name, values):
    """An argparse type: one of ``values``, or a one-line error."""
    def check(text):
        if text not in values:
            raise argparse.ArgumentTypeError(
                'unknown %s %r; one of: %s' % (name, text, ', '.join(values)))
        return text
    check.__name__ = name
    return check


def positive(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError('%r is not a whole number >= 1'
                                         % text)
    return value
