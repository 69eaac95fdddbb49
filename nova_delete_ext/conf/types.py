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

"""oslo.config types for options that name Nova's vm_states.

The choices come from ``nova.compute.vm_states`` of the installed Nova, so
a state Nova does not know is refused when the option is read, and the
generated configuration reference lists exactly the states Nova has.

Nova is imported when the choices are first needed, not when the options
are registered: the commands that read only the collector's options
(``nova-delete-ext records``, ``db``) import ``nova_delete_ext.conf``
without paying for Nova's import. A value is checked against Nova's states
in every process that has imported Nova, which every process that uses
these options has; in one that has not (those commands), the defaults
oslo.config checks at registration are taken as they are.
"""

import collections
import sys

from oslo_config import types


def _all_vm_states():
    from nova_delete_ext import states  # imports Nova: only when needed
    return states.all_vm_states()


class VmState(types.String):
    """A vm_state name among those of the installed Nova."""

    def __init__(self):
        self._built = False
        super().__init__(type_name='vm_state value')
        self._built = True

    @property
    def choices(self):
        if not self._built:
            # types.String.__init__ looks at them: not yet.
            return None
        return collections.OrderedDict(
            (state, None) for state in sorted(_all_vm_states()))

    @choices.setter
    def choices(self, value):
        """Always Nova's states: what ``types.String`` sets is ignored."""

    def __call__(self, value):
        if 'nova' not in sys.modules:
            return str(value)
        return super().__call__(value)


def vm_state():
    return VmState()


class VmStateSeconds(types.Dict):
    """``vm_state:seconds`` pairs, e.g. ``active:86400,stopped:604800``."""

    def __init__(self, type_name='vm_state:seconds values'):
        super().__init__(value_type=types.String(), bounds=False,
                         type_name=type_name)
        self._state = vm_state()

    def __call__(self, value):
        result = {}
        for state, seconds in super().__call__(value).items():
            try:
                self._state(state)
            except ValueError:
                raise ValueError(
                    'unknown vm_state %r; Nova knows %s'
                    % (state, ', '.join(sorted(_all_vm_states()))))
            try:
                number = int(seconds)
            except ValueError:
                number = -1
            if number < 0:
                raise ValueError(
                    '%r for vm_state %s is not a whole number of seconds '
                    '>= 0' % (seconds, state))
            result[state] = number
        return result
