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

"""Prometheus, from Debian's package, scraping the collector.

Its own server on 127.0.0.1, with its data under ``$CLOUD_DIR``: it
scrapes ``nova-delete-ext-collector`` (job ``nova-delete-ext-collector``,
the job the alert rules name) every :data:`INTERVAL` and evaluates the
rules of ``etc/prometheus`` as often.

The rules are the shipped ones, expressions and labels unchanged, with
one difference: every ``for:`` is :data:`FOR`, so that a scenario sees an
alert go from pending to firing in seconds rather than the minutes an
operator wants. The shipped durations are what ``tox -e promtool``
tests.
"""

import os
import re

from functions import http_ok
from functions import write
import processes
from settings import DATA
from settings import ETC
from settings import HOST
from settings import PORTS
from settings import REPO

APT_PACKAGES = {'prometheus': 'prometheus'}
PIP_PACKAGES = []
PROCESSES = ['prometheus']
INTERVAL = '2s'
FOR = '10s'
JOB = 'nova-delete-ext-collector'

RULES = os.path.join(REPO, 'etc', 'prometheus', 'nova-delete-ext.rules.yml')
_DIR = os.path.join(ETC, 'prometheus')


def url(path=''):
    return 'http://%s:%d%s' % (HOST, PORTS['prometheus'], path)


def rules_text():
    """The shipped rules with every ``for:`` set to :data:`FOR`."""
    with open(RULES) as f:
        text = f.read()
    return re.sub(r'^(\s+for:\s*)\S+\s*$', r'\g<1>' + FOR, text,
                  flags=re.MULTILINE)


def configure(state):
    rules = os.path.join(_DIR, 'nova-delete-ext.rules.yml')
    write(rules, rules_text())
    # JSON is YAML: no YAML writer needed in the cloud's python3.
    write(os.path.join(_DIR, 'prometheus.yml'), '\n'.join([
        'global:',
        '  scrape_interval: %s' % INTERVAL,
        '  evaluation_interval: %s' % INTERVAL,
        'rule_files: ["%s"]' % rules,
        'scrape_configs:',
        '  - job_name: %s' % JOB,
        '    static_configs:',
        '      - targets: ["%s:%d"]' % (HOST, PORTS['collector']),
        '']))


def init(state):
    pass


def start(state):
    processes.start('prometheus', [
        'prometheus',
        '--config.file=%s' % os.path.join(_DIR, 'prometheus.yml'),
        '--storage.tsdb.path=%s' % os.path.join(DATA, 'prometheus'),
        '--storage.tsdb.retention.time=1d',
        '--web.listen-address=%s:%d' % (HOST, PORTS['prometheus'])])
    processes.wait_for('Prometheus', lambda: http_ok(url('/-/ready')), 60,
                       ['prometheus'], 'prometheus')


def stop():
    processes.stop_many(PROCESSES, timeout=20)
