"""State-aware deletion records and cleanup policies for OpenStack Nova.

The public entry points are :func:`nova_delete_ext.hooks.install` and
:func:`nova_delete_ext.hooks.uninstall`; in a deployment they are called for
you by the ``nova_delete_ext`` notification driver (see
:mod:`nova_delete_ext.activation`).
"""
