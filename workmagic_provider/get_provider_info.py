"""Provider metadata read by Airflow through the ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from typing import Any

from workmagic_provider import __version__


def get_provider_info() -> dict[str, Any]:
    """Describe the package, its connection type and form fields ."""
    return {
        "package-name": "airflow-provider-workmagic",
        "name": "WorkMagic",
        "description": "Deliver e-commerce order data to WorkMagic.",
        "versions": [__version__],
    }
