"""Operators: one module per source; shared mechanics live in :mod:`.base`."""
