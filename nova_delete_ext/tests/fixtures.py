"""Fixtures shared by the unit and the functional tests."""

import fixtures

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
