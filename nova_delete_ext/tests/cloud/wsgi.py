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

"""Any OpenStack API's WSGI application, for gunicorn, with a clean argv.

Several services' WSGI entry points parse ``sys.argv`` for their
configuration (Keystone, Neutron, Cinder); under gunicorn it holds
gunicorn's own options, which they refuse. This module sets ``sys.argv``
to ``WSGI_PROG`` plus the arguments in ``WSGI_ARGV`` (shell syntax), then
imports ``WSGI_MODULE`` and serves its ``application`` unchanged::

    WSGI_MODULE=cinder.wsgi.api WSGI_ARGV='--config-file cinder.conf' \\
        gunicorn nova_delete_ext.tests.cloud.wsgi:application
"""

import importlib
import os
import shlex
import sys

sys.argv = [os.environ.get('WSGI_PROG', 'wsgi')] + shlex.split(
    os.environ.get('WSGI_ARGV', ''))

application = importlib.import_module(os.environ['WSGI_MODULE']).application
