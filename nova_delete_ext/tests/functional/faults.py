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

"""Inject a fault where the extension runs code, then delete servers.

The fault-injection suite (``test_fault_matrix_*``) wraps one real function
of the extension, of a policy or of a service client the checks call, with
``mock.create_autospec``; the wrapper does what the function does, with one
of two faults in front:

``raise``
    The call raises :class:`Injected` instead of doing anything.
``hang``
    The call waits for longer than every configured time limit
    (:data:`HANG_SECONDS`, or until the test releases it), then does what
    the function does.

A test prepares servers in the states it deletes from, injects the fault,
then deletes each of them and checks what :class:`FaultMatrixBase` says
every case must show.
"""

import threading
import time
from unittest import mock

import fixtures
from oslo_log import log as logging

from nova_delete_ext import conf as ext_conf
from nova_delete_ext import policies
from nova_delete_ext.policies import protect
from nova_delete_ext.policies import verify
from nova_delete_ext.tests.functional import base
from nova_delete_ext.tests.functional import example_policy
from nova_delete_ext.tests.functional import scenarios

RAISE = 'raise'
HANG = 'hang'
FORMS = (RAISE, HANG)
#: [delete_ext]policy_timeout and [delete_ext_verify]timeout here.
TIMEOUT = 1.0
#: How long a hung call waits unless released: far beyond the time limits.
HANG_SECONDS = 120.0
#: A delete, a reclaim or a restart slower than this waited for a hang
#: (normally a second or two, plus TIMEOUT per hung call it met). Generous:
#: this detects hangs on a loaded machine, it measures nothing.
BOUND = HANG_SECONDS / 4


class Injected(Exception):
    """The exception of the ``raise`` fault."""


class Fault(fixtures.Fixture):
    """``owner.name`` with a fault in front, for the calls ``only`` accepts.

    :param owner: a class, module or object; the attribute is replaced by
        an autospec of itself that still does what it did.
    :param only: called with the call's arguments; False lets the call
        through without the fault (Nova's own calls of a client method).
    """

    def __init__(self, owner, name, form, only=None):
        super().__init__()
        self.owner, self.name, self.form, self.only = owner, name, form, only
        self.release = threading.Event()
        self.hits = 0

    def _setUp(self):
        real = getattr(self.owner, self.name)

        def faulty(*args, **kwargs):
            if self.only is None or self.only(*args, **kwargs):
                self.hits += 1
                if self.form == RAISE:
                    raise Injected('injected into %s' % self.name)
                self.release.wait(HANG_SECONDS)
            return real(*args, **kwargs)

        if isinstance(real, mock.NonCallableMock):
            # A stand-in of Nova's fixtures, which is a mock already.
            new = mock.Mock(side_effect=faulty)
        else:
            # Autospecced here: with autospec=True, the patch of Nova's
            # test base (oslotest's) never passes a method its self.
            new = mock.create_autospec(real, side_effect=faulty)
        self.useFixture(fixtures.MockPatchObject(self.owner, self.name, new))
        self.addCleanup(self.release.set)


def by_the_checks(*args, **kwargs):
    """Only the calls the leak checks make, not Nova's own."""
    return base.called_by_the_leak_checks()


class _Errors(logging.logging.Handler):
    def __init__(self):
        super().__init__(level=logging.ERROR)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


class FaultMatrixBase(scenarios.ServerStates, base.DeleteExtTestBase):
    """Nova, the extension and its policies, with time limits of 1 s.

    The policies: ``name_guard`` (the example third-party policy, which
    fails open), ``protect`` (fails closed) and ``verify``, as a chain with
    ``policy_timeout`` = :data:`TIMEOUT`; ``verify`` calls every service
    with ``[delete_ext_verify]timeout`` = :data:`TIMEOUT`.
    """

    #: The states the test's deletes start from; see prepare().
    states = ()

    def setUp(self):
        super().setUp()
        self.flags(policy_timeout=TIMEOUT, group='delete_ext')
        self.flags(timeout=TIMEOUT, group='delete_ext_verify')
        conf = ext_conf.CONF
        chain = [example_policy.NameGuard(conf, 'name_guard'),
                 protect.Protect(conf, 'protect'), verify.Verify(conf)]
        for policy in chain:
            policy.validate()
        self.addCleanup(policies.set_active, policies.set_active(
            policies.PolicyChain(chain, timeout=TIMEOUT)))
        self.errors = _Errors()
        self.useFixture(fixtures.LogHandler(
            self.errors, name='nova_delete_ext', nuke_handlers=False))

    def inject(self, owner, name, form, only=None):
        return self.useFixture(Fault(owner, name, form, only))

    # Servers in each state ------------------------------------------------

    def prepare(self, states=None):
        """A server in each state, before any fault: ``{state: server}``.

        ``reclaimed`` is soft-deleted (its delete is the periodic reclaim),
        ``resumed`` active (its delete is interrupted and resumed by a
        restart), ``partial`` active (its delete stops after vm_state
        ``deleted`` and a restart completes it), ``volume`` active with a
        volume attached.
        """
        made = {}
        for state in states or self.states:
            if state == 'reclaimed':
                made[state] = self.server_soft_delete()
            elif state in ('resumed', 'partial', 'volume'):
                made[state] = self.server_active()
                if state == 'volume':
                    self._attach_volume(made[state], scenarios.VOLUME)
            else:
                made[state] = self.server_in(state)
        return made

    def delete(self, state, server):
        """Delete ``server`` the way ``state`` says; the seconds it took.

        For an API delete: the DELETE request. For a reclaim: the periodic
        task's run. For a resumed delete: the API request whose cast is
        lost and nova-compute's restart. For a partial one: the state it
        leaves and nova-compute's restart.
        """
        started = time.monotonic()
        if state == 'reclaimed':
            self.reclaim_now()
        elif state == 'resumed':
            self.delete_interrupted_then_restart(server)
        elif state == 'partial':
            self.delete_half_done_then_restart(server)
        else:
            self.api.delete_server(server['id'])
        return time.monotonic() - started

    # What every case shows -------------------------------------------------

    def delete_records(self, server):
        return self.records(server['id'], kind='delete')

    def assert_deleted(self, state, server, records_before=None):
        """Delete ``server``: gone in time, with one new delete record."""
        before = (len(self.delete_records(server)) if records_before is None
                  else records_before)
        started = time.monotonic()
        elapsed = self.delete(state, server)
        self.assertLess(elapsed, BOUND, '%s: the delete waited' % state)
        self.assert_gone(server)
        self.assertLess(time.monotonic() - started, BOUND,
                        '%s: the delete took too long' % state)
        record = self.wait_for_record(server, before + 1)
        self.assertEqual('deleted', record['outcome'], (state, record))
        return record

    def assert_all_deleted(self, servers):
        return {state: self.assert_deleted(state, server)
                for state, server in servers.items()}

    def assert_fault_hit(self, fault):
        self.assertGreater(fault.hits, 0, 'the fault was never reached')
