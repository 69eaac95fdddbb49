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

"""Install the extension into the running Nova, or take it out again.

:func:`install` wraps the methods listed in ``HOOK_POINTS`` of
``nova.compute.api.API`` (nova-api) and
``nova.compute.manager.ComputeManager`` (nova-compute). It first checks
every one of them against the Nova it runs in; if any is missing or has
another signature it changes nothing and raises
:class:`~nova_delete_ext.exception.HookMismatch` naming them.
"""

from nova_delete_ext.hooks import api
from nova_delete_ext.hooks import compute
from nova_delete_ext.hooks import installer
from nova_delete_ext.hooks import mapping
from nova_delete_ext.hooks import preload
from nova_delete_ext.hooks import resume

HOOK_POINTS = (api.HOOK_POINTS + preload.HOOK_POINTS + mapping.HOOK_POINTS +
               compute.HOOK_POINTS + resume.HOOK_POINTS)

_INSTALLER = installer.Installer(HOOK_POINTS)


def install():
    """Wrap Nova's delete methods. Idempotent: returns False if done already.

    :raises HookMismatch: a hook point does not match; nothing installed.
    """
    return _INSTALLER.install()


def uninstall():
    """Restore Nova's methods exactly. Returns False if nothing installed."""
    return _INSTALLER.uninstall()


def installed():
    """Whether the hooks are installed in this process."""
    return _INSTALLER.installed


def problems():
    """Describe every hook point that does not match the installed Nova."""
    return installer.problems(HOOK_POINTS)
