"""Hooks of the WorkMagic provider (``workmagic`` connection type: ``hooks.workmagic``)."""
