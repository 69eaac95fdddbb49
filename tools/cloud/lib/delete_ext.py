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

"""nova-delete-ext, activated as the installation guide says.

The lines of doc/source/install/index.rst in the nova.conf of nova-api
and of nova-compute, with the values of the devstack plugin's defaults
(devstack/settings), so that both set the same options, and the records
sent as notifications too, for the collector (``lib/collector``). The
package is installed into the services' virtualenv with ``pip install
-e`` of the repository.
"""

import os
import re

from settings import DATA
from settings import LOGS
from settings import REPO

APT_PACKAGES = {}
# With what the record store's unit tests need beside Tempest's, for their
# MariaDB cases on the cloud's server (run-tests.sh, part 5).
PIP_PACKAGES = ['-e', REPO, 'oslotest', 'testscenarios']
PROCESSES = []

RECORD_FILE = os.path.join(LOGS, 'delete-records.jsonl')


def devstack_settings():
    """The defaults of the devstack plugin, read from devstack/settings.

    Only the plain ``NAME=${NAME:-value}`` lines are read; defaults built
    from devstack's variables (paths) are the script's own.
    """
    values = {}
    pattern = re.compile(r'^(NOVA_DELETE_EXT_\w+)=\$\{\1:-([^$}]*)\}\s*$')
    with open(os.path.join(REPO, 'devstack', 'settings')) as f:
        for line in f:
            match = pattern.match(line.strip())
            if match:
                values[match.group(1)] = match.group(2)
    return values


def active():
    """False with CLOUD_EXTENSION=0: Nova alone, as a benchmark compares."""
    return os.environ.get('CLOUD_EXTENSION', '1') not in ('0', 'false', 'no')


def policies():
    """CLOUD_POLICIES, as a list (default protect, capture, verify)."""
    text = os.environ.get('CLOUD_POLICIES', 'protect,capture,verify')
    return [p.strip() for p in text.split(',') if p.strip()]


def nova_sections(role):
    """The nova.conf sections of the installation guide, and the policies'.

    ``role`` is ``api`` or ``compute``; the other Nova services do not load
    the extension. Nothing without the extension (CLOUD_EXTENSION=0).
    """
    if role not in ('api', 'compute') or not active():
        return []
    d = devstack_settings()
    enabled = policies()
    # The records go to the record file and, as notifications through a
    # messaging driver listed beside the extension's, to the collector
    # (the admin guide's collector page).
    sections = [
        ('oslo_messaging_notifications', [('driver', 'messagingv2'),
                                          ('driver', 'nova_delete_ext')]),
    ]
    ext = [('record_file', RECORD_FILE), ('sinks', 'file,notification')]
    if enabled:
        ext.append(('policies', ','.join(enabled)))
    sections.append(('delete_ext', ext))
    if 'protect' in enabled:
        sections.append(('delete_ext_protect', [
            ('metadata_key', d['NOVA_DELETE_EXT_PROTECT_METADATA_KEY']),
            ('tag', d['NOVA_DELETE_EXT_PROTECT_TAG'])]))
    if 'recycle' in enabled:
        # CLOUD_RECYCLE_RETENTION: part 3's reclaim wants seconds.
        sections.append(('delete_ext_recycle', [
            ('retention', os.environ.get(
                'CLOUD_RECYCLE_RETENTION',
                d['NOVA_DELETE_EXT_RECYCLE_RETENTION']))]))
    if 'capture' in enabled:
        sections.append(('delete_ext_capture', [
            ('directory', os.path.join(DATA, 'nova-delete-ext', 'capture'))]))
    if 'verify' in enabled:
        sections.append(('delete_ext_verify', [
            ('mode', os.environ.get('CLOUD_VERIFY_MODE',
                                    d['NOVA_DELETE_EXT_VERIFY_MODE']))]))
    return sections


def reclaim_interval(role):
    """``[DEFAULT]reclaim_instance_interval`` as the devstack plugin sets it.

    Only with recycle enabled, on nova-api and nova-compute (devstack sets
    it in the nova.conf every service reads). CLOUD_RECLAIM_INSTANCE_INTERVAL
    overrides the value (the reclaim scenario wants a short one).
    """
    if role not in ('api', 'compute') or 'recycle' not in policies():
        return []
    value = os.environ.get('CLOUD_RECLAIM_INSTANCE_INTERVAL') or \
        devstack_settings()['NOVA_DELETE_EXT_RECLAIM_INSTANCE_INTERVAL']
    return [('reclaim_instance_interval', value)]
