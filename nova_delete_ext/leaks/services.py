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

"""Nova's own service clients, as the leak checks and repairs use them.

Given a ``timeout``, every call made through :class:`Clients` (a method of
a client, of an object a client hands out such as cinderclient's
``attachments``, or a function passed to :meth:`Clients.call`) is given up
after that many seconds with
:class:`~nova_delete_ext.deadline.CallTimedOut`.
"""

from nova.image import glance
from nova.network import neutron
from nova.scheduler.client import report
from nova.volume import cinder

from nova_delete_ext import deadline

# Values handed out as they are, not wrapped.
_PLAIN = (str, bytes, int, float, bool, type(None), dict, list, tuple, set,
          frozenset)


class Timed:
    """``target`` with a deadline on every call.

    Calling it, or any method or object it hands out (cinderclient's
    ``attachments``...), runs the call with
    :func:`~nova_delete_ext.deadline.call`. Plain values (strings,
    numbers, containers) are handed out as they are.
    """

    def __init__(self, target, service, timeout):
        self._target = target
        self._service = service
        self._timeout = timeout

    def __call__(self, *args, **kwargs):
        return deadline.call(self._timeout, self._service, self._target,
                             *args, **kwargs)

    def __getattr__(self, name):
        value = getattr(self._target, name)
        if isinstance(value, _PLAIN):
            return value
        return Timed(value, self._service, self._timeout)


class Clients:
    """Nova's service clients, each built on first use and then kept.

    Built with Nova's own modules and ``nova.conf`` credentials: the
    placement report client singleton, the Neutron client and API, the
    Cinder and Glance APIs.

    :param timeout: seconds each call may take, or None for no limit
        besides those of ``nova.conf``.
    """

    def __init__(self, timeout=None):
        self.timeout = timeout
        self._built = {}

    def _timed(self, target, service):
        if self.timeout is None:
            return target
        return Timed(target, service, self.timeout)

    def _get(self, name, service, build):
        if name not in self._built:
            self._built[name] = self._timed(build(), service)
        return self._built[name]

    def call(self, service, func, *args, **kwargs):
        """``func(*args, **kwargs)`` with this client's deadline."""
        return deadline.call(self.timeout, service, func, *args, **kwargs)

    def start(self, service, func, *args, **kwargs):
        """``func(*args, **kwargs)`` started on a thread of its own.

        Its ``result()`` waits for it. The calls it makes through these
        clients run on that thread, each with this client's deadline.
        """
        return deadline.start(self.timeout, service, func, *args, **kwargs)

    @property
    def placement(self):
        return self._get('placement', 'placement',
                         report.report_client_singleton)

    @property
    def network_api(self):
        return self._get('network_api', 'neutron', neutron.API)

    @property
    def volume_api(self):
        return self._get('volume_api', 'cinder', cinder.API)

    @property
    def image_api(self):
        return self._get('image_api', 'glance', glance.API)

    def neutron(self, context):
        """An admin Neutron client: a port of any project is visible."""
        return self._timed(neutron.get_client(context, admin=True),
                           'neutron')

    def cinder(self, context, microversion):
        """A cinderclient; building it may ask Keystone for the endpoint."""
        return self._timed(
            self.call('cinder', cinder.cinderclient, context, microversion,
                      skip_version_check=True),
            'cinder')
