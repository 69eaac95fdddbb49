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

"""Fixtures shared by the unit and the functional tests."""

import fixtures

from nova_delete_ext.record import after
from nova_delete_ext import sinks


class Sinks(fixtures.Fixture):
    """Sinks of the test's own, loaded from ``cfg.CONF`` at first use.

    Afterwards the test's sinks write what they have queued and stop, and
    the sinks from before the test are active again.
    """

    def _setUp(self):
        self.addCleanup(self._restore, sinks.set_active(None))

    @staticmethod
    def _restore(previous):
        current = sinks.set_active(previous)
        if current is not None:
            current.stop()


class AfterDelete(fixtures.Fixture):
    """After-delete workers of the test's own, sized from ``cfg.CONF``.

    Afterwards the checks still queued or running are given up to
    ``timeout`` seconds to finish (their records go to the test's sinks,
    so use this fixture after :class:`Sinks`), and the workers from before
    the test are active again.
    """

    def __init__(self, timeout=10.0):
        super().__init__()
        self.timeout = timeout

    def _setUp(self):
        self.addCleanup(self._restore, after.set_active(None))

    def _restore(self, previous):
        current = after.set_active(previous)
        if current is not None:
            current.stop(self.timeout)
