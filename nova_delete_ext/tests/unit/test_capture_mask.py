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

"""Secrets in guests' console output, masked before a capture is written.

The console logs in ``data/`` are as a libvirt guest's serial console
records them: an Ubuntu 24.04 guest (cloud-init 24.4, CRLF line ends), an
Ubuntu 20.04 guest (cloud-init 20.2, whose random passwords went through
the journal) and a Windows Server guest whose cloudbase-init logs to COM1
with debug on. Their secrets are made up for the tests.
"""

import os
import re
import time

from nova_delete_ext.policies import capture_mask
from nova_delete_ext.tests.unit import base

DATA = os.path.join(os.path.dirname(__file__), 'data')

_BODY = re.compile(r'-----BEGIN OPENSSH PRIVATE KEY-----\r?\n(.*?)'
                   r'-----END OPENSSH PRIVATE KEY-----', re.S)


def _read(name):
    with open(os.path.join(DATA, name), newline='') as f:
        return f.read()


class ConsoleLogTest(base.TestCase):
    """Each secret masked; every line without one exactly as it was."""

    def check(self, name, secrets, kept):
        console = _read(name)
        for secret in secrets:
            self.assertIn(secret, console)  # the test data has it
        masked = capture_mask.mask(console)
        for secret in secrets:
            self.assertNotIn(secret, masked)
        masked_lines = set(masked.splitlines())
        unchanged = [line for line in console.splitlines()
                     if not any(secret in line for secret in secrets)]
        self.assertEqual([], [line for line in unchanged
                              if line not in masked_lines])
        for text in kept:
            self.assertIn(text, masked)
        return masked

    def key_body(self, console):
        lines = _BODY.search(console).group(1).splitlines()
        # Less the console prefix; the last is the END line's.
        return [line.split(': ', 1)[-1] for line in lines][:-1]

    def test_cloud_init_24_on_ubuntu_24_04(self):
        name = 'console-cloud-init-noble.log'
        console = _read(name)
        root = re.search(r'^root:(.*)\r$', console, re.M).group(1)
        ubuntu = re.search(r'^ubuntu:(.*)\r$', console, re.M).group(1)
        token = re.search(r"X-Auth-Token: (\S+)'", console).group(1)
        masked = self.check(
            name, [root, ubuntu, token] + self.key_body(console),
            ['-----BEGIN SSH HOST KEY FINGERPRINTS-----',
             '-----BEGIN SSH HOST KEY KEYS-----', 'ssh-ed25519 AAAAC3Nz'])
        self.assertIn("Set the following 'random' passwords\r\n\r\n"
                      "root:***\r\nubuntu:***\r\n", masked)
        self.assertIn("-H 'X-Auth-Token: ***' https://", masked)
        self.assertRegex(masked, r'cloud-init\[790\]: -----BEGIN OPENSSH '
                                 r'PRIVATE KEY-----\r\n\*\*\*\r\n'
                                 r'\[ +[0-9.]+\] cloud-init\[790\]: -----END')

    def test_cloud_init_20_through_the_journal(self):
        name = 'console-cloud-init-focal.log'
        console = _read(name)
        ubuntu = re.search(r'cloud-init\[1185\]: ubuntu:(.*)$', console,
                           re.M).group(1)
        mysql = re.search(r'MySQL root password: (.*)$', console,
                          re.M).group(1)
        jwt = re.search(r'Authorization: Bearer (.*)$', console,
                        re.M).group(1)
        masked = self.check(
            name, [ubuntu, mysql, jwt],
            ['ci-info: no authorized SSH keys fingerprints found for user '
             'ubuntu.', 'SHA256:'])
        self.assertIn("cloud-init[1185]: Set the following 'random' "
                      "passwords\n", masked)
        self.assertRegex(masked, r'cloud-init\[1185\]: ubuntu:\*\*\*\n')
        self.assertIn('MySQL root password: ***\n', masked)
        self.assertIn('> Authorization: Bearer ***\n', masked)

    def test_cloudbase_init_on_windows(self):
        name = 'console-cloudbase-init.log'
        console = _read(name)
        account = re.search(r'net user svc-backup (\S+) /add', console)
        admin = re.search(r'Administrator password: (\S+?)\\r', console)
        token = re.search(r"X-Auth-Token\\'=\\'(\S+?)\\'", console)
        masked = self.check(
            name, [account.group(1), admin.group(1), token.group(1)],
            ['Password succesfully updated for user Admin',
             'Creating user "Admin" and setting password',
             'net localgroup administrators svc-backup /add'])
        self.assertIn(r'net user svc-backup *** /add /y \r\n', masked)
        self.assertIn(r"b'Administrator password: ***\r\nRDP enabled", masked)
        self.assertIn(r"X-Auth-Token\'=\'***\'}", masked)


class FormsTest(base.TestCase):

    def test_oslo_forms_still_masked(self):
        self.assertEqual('admin_password=*** set',
                         capture_mask.mask('admin_password=hunter2 set'))
        self.assertEqual('{"auth_token": "***"}',
                         capture_mask.mask('{"auth_token": "s3cr3t"}'))

    def test_key_value_forms(self):
        for text, expected in [
                ('Password: hunter2', 'Password: ***'),
                ('db_passwd = hunter2', 'db_passwd = ***'),
                ('aws_secret_access_key: wJalrXUtnFEMI/K7MDENG',
                 'aws_secret_access_key: ***'),
                ('X-Subject-Token: gAAAAAB', 'X-Subject-Token: ***'),
                ('Authorization: Basic dXNlcjpodW50ZXIy',
                 'Authorization: Basic ***'),
                (r"b'passphrase: a\\b c\r\n'", r"b'passphrase: *** c\r\n'")]:
            self.assertEqual(expected, capture_mask.mask(text), text)

    def test_not_secrets(self):
        for text in ['Password authentication: no',
                     'New password:',
                     'Changing password for user root.',
                     'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFz root@web-1',
                     '256 SHA256:P+hBF3fj/pu6+0KaywUYii3Lyuc root@web (ECDSA)',
                     'net user Admin /delete', 'net user Admin *',
                     "Plugin 'password' is currently not supported"]:
            self.assertEqual(text, capture_mask.mask(text))

    def test_a_password_prompt_does_not_mask_the_next_line(self):
        self.assertEqual('Password:\nLogin incorrect',
                         capture_mask.mask('Password:\nLogin incorrect'))

    def test_random_password_lines_end_at_the_first_other_line(self):
        self.assertEqual(
            "Set the following 'random' passwords\n\nroot:***\n"
            "Cloud-init v. 24.4 finished at 10:00:00",
            capture_mask.mask("Set the following 'random' passwords\n\n"
                              "root:a:b;c\nCloud-init v. 24.4 finished at "
                              "10:00:00"))

    def test_private_key_cut_by_the_kept_end(self):
        self.assertEqual('***\n-----END RSA PRIVATE KEY-----\nlogin:',
                         capture_mask.mask('MIIEpAIBAAKCAQEA\nq83f\n'
                                           '-----END RSA PRIVATE KEY-----\n'
                                           'login:'))
        self.assertEqual('-----BEGIN EC PRIVATE KEY-----\n***',
                         capture_mask.mask('-----BEGIN EC PRIVATE KEY-----\n'
                                           'MHcCAQEEI'))

    def test_tokens_anywhere(self):
        fernet = 'gAAAAAB' + 'x' * 120
        jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJl'
        self.assertEqual('token ***, then ***',
                         capture_mask.mask('token %s, then %s' % (fernet,
                                                                  jwt)))

    def test_a_megabyte_of_console_in_seconds_not_minutes(self):
        console = _read('console-cloud-init-noble.log')
        text = (console * (2 ** 20 // len(console) + 1))[:2 ** 20 + 8192]
        started = time.monotonic()
        capture_mask.mask(text)
        # About 1.5 s here, a third of it oslo.utils' own masking.
        self.assertLess(time.monotonic() - started, 15.0)
