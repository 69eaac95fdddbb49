"""Part 3 of the cloud tests: what only a real deployment can show.

Run by ``tools/cloud/run-tests.sh 3`` in the cloud's virtualenv, against a
cloud that ``tools/cloud/up.sh`` brought up: nova-api under gunicorn with
several workers, nova-compute its own process, RabbitMQ, MariaDB, and
Keystone, Placement, Neutron, Glance and Cinder behind real HTTP. The
tests drive it through the public APIs (keystoneauth) and through
``tools/cloud/cloud.py`` (its settings, restarting a service), and read
the services' logs and the record file.
"""
