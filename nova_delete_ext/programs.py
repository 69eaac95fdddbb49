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

"""Which Nova program loads the ``nova_delete_ext`` driver.

The driver acts in nova-api and nova-compute only, and tells them from
every other program that reads ``nova.conf`` (:func:`service_of`) by:

* the program name (``conf.prog``), :data:`PROGRAMS`;
* ``[delete_ext]programs``, for names of the operator's own;
* Nova's own entry module running (:data:`ENTRY_MODULES`): its function
  or module code is on the stack while it parses the configuration, under
  any program name (``python -c``, a wrapper script, a WSGI file of the
  operator's own that calls Nova's ``wsgi_app.init_application`` for
  ``osapi_compute``);
* Nova's compute API WSGI module being imported (:data:`API_WSGI_MODULES`).

A program recognised by none of these runs without the extension. If it
then loads Nova's compute manager or its compute API, :func:`watch` says
so, at WARNING when policies are configured, with what to set.

Imports only the standard library and oslo libraries, as
:mod:`nova_delete_ext.activation` does.
"""

import importlib.abc
import os
import sys

from oslo_config import cfg
from oslo_log import log as logging

LOG = logging.getLogger('nova_delete_ext.activation')

NOVA_API = 'nova-api'
NOVA_COMPUTE = 'nova-compute'
SERVICES = (NOVA_API, NOVA_COMPUTE)

#: The program names (``conf.prog``) of the services that install the
#: hooks. Nova's console scripts leave the name to oslo.config, which takes
#: the base name of ``sys.argv[0]``: ``nova-compute``, and ``nova-api`` or
#: ``nova-api-os-compute`` in the Nova releases that have those scripts.
#: Nova's WSGI entry point of the compute API, ``nova.wsgi.osapi_compute``,
#: passes ``nova-api-os-compute`` itself. ``nova-api-wsgi`` is the WSGI
#: script older releases install, run on its own.
PROGRAMS = {
    'nova-compute': NOVA_COMPUTE,
    'nova-api': NOVA_API,
    'nova-api-os-compute': NOVA_API,
    'nova-api-wsgi': NOVA_API,
}

#: Nova's WSGI entry-point modules of the compute API, new and old. A WSGI
#: server (uWSGI, gunicorn, mod_wsgi) imports one, which builds the
#: application, and so loads this driver, while it is being imported.
#: Older Nova releases pass no program name from there, and oslo.config
#: takes the server's own (``uwsgi``, ``gunicorn``, ``mod_wsgi``).
API_WSGI_MODULES = ('nova.wsgi.osapi_compute',
                    'nova.api.openstack.compute.wsgi')

#: Nova's modules that start nova-compute or nova-api: the console
#: scripts' ``main`` (also for ``python -c 'from nova.cmd.compute import
#: main; main()'``) and the WSGI entry points.
ENTRY_MODULES = dict(
    {'nova.cmd.compute': NOVA_COMPUTE,
     'nova.cmd.api': NOVA_API,
     'nova.cmd.api_os_compute': NOVA_API},
    **{module: NOVA_API for module in API_WSGI_MODULES})

#: Nova's builder of its WSGI applications, and its compute API's name.
_WSGI_APP = ('nova.api.openstack.wsgi_app', 'osapi_compute')

#: What only nova-compute and nova-api load: the sign that an unrecognised
#: program is one of them.
WATCHED = {'nova.compute.manager': NOVA_COMPUTE,
           'nova.api.openstack.compute': NOVA_API}

PROGRAMS_OPT = cfg.DictOpt(
    'programs',
    default={},
    help="""
Program names of nova-api and nova-compute besides Nova's own.

The extension acts in nova-api and nova-compute only. It knows them by
Nova's command names (``nova-compute``, ``nova-api-os-compute``...) and
Nova's own entry modules; a service started otherwise, under a name of
its own (a wrapper script, a WSGI file of its own that does not go
through Nova's), runs without the extension, and its log says so with
this option's value to set. Set it in a configuration file that only
that service reads: every Nova program reads ``nova.conf``.

Possible values:

* ``name:service`` pairs, comma-separated, where ``name`` is the program
  name the warning gives and ``service`` is ``nova-api`` or
  ``nova-compute``; e.g. ``my-compute:nova-compute``.
* Empty (the default): only Nova's own names and entry modules.
""")


def program_name(conf):
    """The name of the program the driver is loaded in.

    ``nova.config.parse_args`` passes the configuration files and the
    program name to ``conf`` (oslo.config's ``ConfigOpts.__call__``, which
    sets ``conf.prog``) right before it builds the notifiers. Should a
    program build a notifier on a ``conf`` never called, the name is what
    oslo.config would have taken.
    """
    prog = getattr(conf, 'prog', None)
    if not prog:
        argv = getattr(sys, 'argv', None) or ['']
        prog = os.path.basename(argv[0] or '')
        if prog.endswith('.py'):
            prog = prog[:-3]
    return prog


def configured(conf):
    """``[delete_ext]programs``: {program name: service}; never raises."""
    try:
        conf.register_opt(PROGRAMS_OPT, group='delete_ext')
        value = conf.delete_ext.programs or {}
    except Exception as exc:
        LOG.warning('[delete_ext]programs ignored: %s', exc)
        return {}
    found = {}
    for name, service in value.items():
        if service in SERVICES:
            found[name] = service
        else:
            LOG.warning('[delete_ext]programs: %s:%s ignored; the service '
                        'is nova-api or nova-compute.', name, service)
    return found


def _entry_on_stack():
    """The service whose Nova entry module is running, or None."""
    frame = sys._getframe(1)
    while frame is not None:
        names = (frame.f_globals.get('__name__'),
                 getattr(frame.f_globals.get('__spec__'), 'name', None))
        for name in names:
            if name in ENTRY_MODULES:
                return ENTRY_MODULES[name]
        if (names[0] == _WSGI_APP[0] and
                frame.f_locals.get('name') == _WSGI_APP[1]):
            return NOVA_API
        frame = frame.f_back
    return None


def service_of(conf):
    """``'nova-api'``, ``'nova-compute'``, or None for any other program."""
    prog = program_name(conf)
    service = PROGRAMS.get(prog) or configured(conf).get(prog)
    if service is None:
        service = _entry_on_stack()
    if service is None and any(name in sys.modules
                               for name in API_WSGI_MODULES):
        service = NOVA_API
    return service


class _Watch(importlib.abc.MetaPathFinder):
    """Says so when an unrecognised program imports :data:`WATCHED`.

    An import finder that finds nothing: the import goes on as without it.
    """

    def __init__(self, conf, prog):
        self.conf = conf
        self.prog = prog

    def find_spec(self, fullname, path, target=None):
        if fullname in WATCHED:
            self.fire(WATCHED[fullname])
        return None

    def fire(self, service):
        stop_watching()
        try:
            _unrecognised(self.conf, self.prog, service)
        except Exception:
            LOG.debug('nova-delete-ext could not tell whether this program '
                      'should have run it', exc_info=True)


def watch(conf, prog):
    """Watch an unrecognised program for Nova's compute manager or API."""
    watcher = _Watch(conf, prog)
    for module, service in WATCHED.items():
        if module in sys.modules:
            return watcher.fire(service)
    sys.meta_path.insert(0, watcher)


def stop_watching():
    sys.meta_path[:] = [f for f in sys.meta_path
                        if not isinstance(f, _Watch)]


def _unrecognised(conf, prog, service):
    # Nova is being imported here: the extension's options may be too.
    from nova_delete_ext import conf as ext_conf
    ext_conf.register_opts(conf)
    if not conf.delete_ext.enabled:
        return
    what = ("Nova's compute manager" if service == NOVA_COMPUTE
            else "Nova's compute API")
    fix = ('Start it with Nova\'s own %s, or add "%s:%s" to '
           '[delete_ext]programs in a configuration file only this service '
           'reads.' % ('command nova-compute' if service == NOVA_COMPUTE
                       else 'WSGI application nova.wsgi.osapi_compute',
                       prog, service))
    names = list(conf.delete_ext.policies)
    if names:
        LOG.warning('nova-delete-ext is not active in this process, which '
                    'loads %s: the program %r is not one it knows as %s, '
                    'so the policies %s are not applied here and its '
                    'deletes are not recorded. %s', what, prog, service,
                    ', '.join(names), fix)
    else:
        LOG.info('nova-delete-ext is not active in this process, which '
                 'loads %s: the program %r is not one it knows as %s, so '
                 'its deletes are not recorded. %s', what, prog, service,
                 fix)
