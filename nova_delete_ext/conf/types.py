"""oslo.config types for options that name Nova's vm_states.

The choices come from ``nova.compute.vm_states`` of the installed Nova, so
a state Nova does not know is refused when the option is read, and the
generated configuration reference lists exactly the states Nova has.
"""

from oslo_config import types

from nova_delete_ext import states


def vm_state():
    return types.String(choices=sorted(states.all_vm_states()))


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
                    % (state, ', '.join(sorted(states.all_vm_states()))))
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
