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

"""The HTTP server of ``/metrics``.

A WSGI application (:class:`App`) on the standard library's WSGI server,
a thread per scrape. prometheus-client's own application renders every
series at each scrape; this one keeps the text of the counters from one
read of the totals to the next.
"""

import socket
import socketserver
import threading
from wsgiref import simple_server

from prometheus_client import exposition as prom_exposition

_EOF = b'# EOF\n'


class App:
    """The WSGI application of ``/metrics``.

    In the format the scraper asks for (Prometheus' text format or
    OpenMetrics, as prometheus-client chooses it), uncompressed: the
    counters' text is kept from one scrape to the next until the totals
    are read again (``cache.version``).
    """

    def __init__(self, cache, counters, live):
        self.cache = cache
        self.counters = counters
        self.live = live
        # {content type: (totals version, text)}
        self._rendered = {}

    def _counters_text(self, encoder, content_type):
        version = self.cache.version
        rendered = self._rendered.get(content_type)
        if rendered is None or rendered[0] != version:
            text = encoder(self.counters)
            if text.endswith(_EOF):
                text = text[:-len(_EOF)]  # the live part ends the text
            rendered = self._rendered[content_type] = (version, text)
        return rendered[1]

    def __call__(self, environ, start_response):
        if environ['REQUEST_METHOD'] != 'GET':
            start_response('405 Method Not Allowed', [('Allow', 'GET')])
            return [b'']
        encoder, content_type = prom_exposition.choose_encoder(
            environ.get('HTTP_ACCEPT'))
        body = (self._counters_text(encoder, content_type) +
                encoder(self.live))
        start_response('200 OK', [('Content-Type', content_type),
                                  ('Content-Length', str(len(body)))])
        return [body]


class _Server(socketserver.ThreadingMixIn, simple_server.WSGIServer):
    daemon_threads = True


class _QuietHandler(simple_server.WSGIRequestHandler):
    def log_message(self, format, *args):
        pass  # a line per scrape would drown the collector's log


def serve(app, host, port):
    """Serve the WSGI ``app`` over HTTP on a thread; returns the server."""
    # An IPv6 address needs a server of that family.
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    server_class = type('Server', (_Server,), {'address_family': family})
    server = simple_server.make_server(
        host, port, app, server_class,
        handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, daemon=True,
                     name='nova-delete-ext-metrics').start()
    return server
