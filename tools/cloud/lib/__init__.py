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

"""One module per service, each with the same shape (devstack's ``lib/``).

A service module declares what it needs installed and how it is run:

``APT_PACKAGES``
    ``{Debian package: the binary that shows it is installed}``.
``PIP_PACKAGES``
    The distributions it needs in the services' virtualenv.
``PROCESSES``
    The names of its processes (their pid files in ``run/``), in the
    order ``stop`` stops them.
``USER``, ``CATALOG``
    Its Keystone service user, and its ``(name, type, URL)`` endpoints.

and has the same verbs, each taking the state ``up`` keeps:

``configure(state)``
    Write its configuration under ``etc/``.
``init(state)``
    Create what it keeps (database schemas, keys, bootstrap); run side by
    side with the other services' ``init``, idempotent through ``once``.
``start(state)``
    Start its processes (``processes.start``) and wait until they answer.
``stop()``
    Stop its processes, by their pid files.

A verb with nothing to do is a function that does nothing, so that the
main script (``cloud.py``) runs every service the same way; adding a
service is adding a module and naming it in ``cloud.OPENSTACK`` (or
``cloud.INFRA``, for what the services use), and giving it its phases.
"""
