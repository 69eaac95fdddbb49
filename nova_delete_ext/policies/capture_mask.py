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

"""The secrets a capture masks in what a guest printed on its console.

oslo.utils' ``mask_password`` masks the forms OpenStack's own logs use
(``password=...``, ``"password": "..."``, ``--password ...``). Guests
print secrets in other forms, which :func:`mask` masks too:

* cloud-init, for ``chpasswd`` users given ``RANDOM``, prints ``Set the
  following 'random' passwords`` and then one ``user:password`` line each,
  straight on the console or through the journal with a ``[  12.345678]
  cloud-init[812]:`` prefix;
* ``key: value`` where the key names a password, passphrase, secret or
  token (``Administrator password: ...`` printed by a user-data script,
  which cloudbase-init logs to the serial console as ``User_data stdout:``
  followed by the script's output as a Python bytes literal, ``\\r\\n``
  and all; ``X-Auth-Token: ...`` in a shell trace);
* ``net user <name> <password>``, echoed by a ``rem cmd`` user-data
  script, as cloudbase-init users create accounts;
* ``Authorization:`` headers; private keys (``-----BEGIN ... PRIVATE
  KEY-----`` blocks, also one that the kept end of the console cuts);
  OpenStack's fernet tokens (``gAAAAAB...``) and JSON Web Tokens
  anywhere.

SSH host key fingerprints and public keys, which cloud-init prints at
every first boot, are not secrets: they stay as they are.
"""

import re

from oslo_utils import strutils

MASK = '***'

_KEY_MARK = r'-----%s [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----'
_PRIVATE_KEY = re.compile(r'(%s)(.*?)(%s|\Z)' % (_KEY_MARK % 'BEGIN',
                                                 _KEY_MARK % 'END'), re.S)
_KEY_BEGIN = re.compile(_KEY_MARK % 'BEGIN')
_KEY_END = re.compile(_KEY_MARK % 'END')
# A value ends at white space, a quote, or an escaped line end of a bytes
# literal (cloudbase-init's "User_data stdout: b'...\r\n...'").
_VALUE = r'(?:\\(?![rnt])|[^\s\'"\\])+'
# From the word that names a secret, wherever it is in the key
# (``Administrator password``, ``aws_secret_access_key``): faster than
# from the key's start, and the value is all that changes.
_KEY_VALUE = re.compile(
    r'(?i)((?:password|passwd|passphrase|secret|token)[\w-]*'
    r'[ \t]*[:=][ \t]*)(%s)' % _VALUE)
_AUTHORIZATION = re.compile(
    r'(?i)(\bauthorization[ \t]*[:=][ \t]*'
    r'(?:(?:basic|bearer|token|negotiate)[ \t]+)?)(%s)' % _VALUE)
_NET_USER = re.compile(
    r'(?i)(\bnet(?:\.exe)?[ \t]+user[ \t]+(?:"[^"]*"|[^\s/"]+)[ \t]+)'
    r'(?![/*])("[^"]*"|%s)' % _VALUE)
_FERNET = re.compile(r'\bgAAAAA[A-Za-z0-9_-]{40,}={0,2}')
_JWT = re.compile(r'\beyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]+')
_RANDOM_HEADER = re.compile(r"Set the following 'random' passwords\s*$")
# A console line's prefix: syslog priority, kernel time, program[pid].
_PREFIX = r'(?:<\d+>)?(?:\[ *\d+\.\d+\] *)?(?:[\w.-]+\[\d+\]: *)?'
_USER_PASSWORD = re.compile(r'^(%s[\w.-]+\$?:)\S+$' % _PREFIX)
_BLANK = re.compile(r'^%s$' % _PREFIX)


def mask(text):
    """``text`` with the secrets it shows replaced by ``***``."""
    text = strutils.mask_password(text)
    text = _mask_private_keys(text)
    text = _mask_random_passwords(text)
    for pattern in (_KEY_VALUE, _AUTHORIZATION, _NET_USER):
        text = pattern.sub(r'\1' + MASK, text)
    for pattern in (_FERNET, _JWT):
        text = pattern.sub(MASK, text)
    return text


def _mask_private_keys(text):
    end = _KEY_END.search(text)
    begin = _KEY_BEGIN.search(text)
    if end and (begin is None or begin.start() > end.start()):
        # The start of the block was cut off: mask up to its end.
        text = MASK + '\n' + text[end.start():]
    return _PRIVATE_KEY.sub(_masked_key, text)


def _masked_key(match):
    begin, body, end = match.groups()
    newline = '\r\n' if '\r\n' in body else '\n'
    if not end:
        return begin + newline + MASK
    # The END line keeps its console prefix (``[ 12.2] cloud-init[790]:``).
    prefix = body.rpartition('\n')[2]
    return begin + newline + MASK + newline + prefix + end


def _mask_random_passwords(text):
    """The ``user:password`` lines after cloud-init's header."""
    lines = text.splitlines(keepends=True)
    listing = False
    for number, line in enumerate(lines):
        content = line.rstrip('\r\n')
        if _RANDOM_HEADER.search(content):
            listing = True
            continue
        if not listing or _BLANK.match(content):
            continue
        match = _USER_PASSWORD.match(content)
        if match is None:
            listing = False
            continue
        lines[number] = match.group(1) + MASK + line[len(content):]
    return ''.join(lines)
