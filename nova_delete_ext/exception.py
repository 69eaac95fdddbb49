"""Exceptions raised by nova-delete-ext."""


class DeleteExtError(Exception):
    """Base class: ``msg_fmt`` formatted with the keyword arguments."""

    msg_fmt = 'An unknown nova-delete-ext error occurred.'

    def __init__(self, **kwargs):
        self.kwargs = kwargs
        super().__init__(self.msg_fmt % kwargs)


class HookMismatch(DeleteExtError):
    msg_fmt = ('nova-delete-ext cannot hook into the installed Nova, nothing '
               'was installed: %(problems)s')
