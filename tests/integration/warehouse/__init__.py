"""Warehouse flows: a package, so its conftest does not shadow tests/conftest."""
