"""Nova's own service clients, as the leak checks and repairs use them."""

from nova.image import glance
from nova.network import neutron
from nova.scheduler.client import report
from nova.volume import cinder


class Clients:
    """Nova's service clients, each built on first use and then kept.

    Built with Nova's own modules and ``nova.conf`` credentials: the
    placement report client singleton, the Neutron client and API, the
    Cinder and Glance APIs.
    """

    def __init__(self):
        self._built = {}

    def _get(self, name, build):
        if name not in self._built:
            self._built[name] = build()
        return self._built[name]

    @property
    def placement(self):
        return self._get('placement', report.report_client_singleton)

    @property
    def network_api(self):
        return self._get('network_api', neutron.API)

    @property
    def volume_api(self):
        return self._get('volume_api', cinder.API)

    @property
    def image_api(self):
        return self._get('image_api', glance.API)

    @staticmethod
    def neutron(context):
        """An admin Neutron client: a port of any project is visible."""
        return neutron.get_client(context, admin=True)
