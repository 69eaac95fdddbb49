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

"""Exceptions raised by nova-delete-ext."""

from nova import exception as nova_exception


class DeleteExtError(Exception):
    """Base class: ``msg_fmt`` formatted with the keyword arguments."""

    msg_fmt = 'An unknown nova-delete-ext error occurred.'

    def __init__(self, **kwargs):
        self.kwargs = kwargs
        super().__init__(self.msg_fmt % kwargs)


class HookMismatch(DeleteExtError):
    msg_fmt = ('nova-delete-ext cannot hook into the installed Nova, nothing '
               'was installed: %(problems)s')


class ConfigInvalid(DeleteExtError):
    msg_fmt = 'Invalid nova-delete-ext configuration: %(option)s: %(reason)s'


class DeleteProtected(nova_exception.InstanceIsLocked):
    """A policy refused a delete.

    A subclass of Nova's ``InstanceIsLocked`` so that nova-api answers 409
    Conflict with this message for delete and forceDelete alike.
    """

    msg_fmt = '%(reason)s'
