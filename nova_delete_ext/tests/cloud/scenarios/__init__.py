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

"""Part 3 of the cloud tests: what only a real deployment can show.

Run by ``tools/cloud/run-tests.sh 3`` in the cloud's virtualenv, against a
cloud that ``tools/cloud/up.sh`` brought up: nova-api under gunicorn with
several workers, nova-compute its own process, RabbitMQ, MariaDB, and
Keystone, Placement, Neutron, Glance and Cinder behind real HTTP. The
tests drive it through the public APIs (keystoneauth) and through
``tools/cloud/cloud.py`` (its settings, restarting a service), and read
the services' logs and the record file.
"""
