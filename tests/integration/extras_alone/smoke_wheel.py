"""Run by a venv holding only the provider's wheel and ``[all]``: import what Airflow imports.

``python smoke_wheel.py`` imports every module and class ``get_provider_info`` names and every
``workmagic_provider.operators.*`` module, then prints one JSON object: what was imported and
from where, the CLI's subcommands, and whether the sandbox's package or moto are importable.
Any import the wheel cannot satisfy fails here with its traceback.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import pkgutil
from collections.abc import Iterator
from typing import Any


def named_in_provider_info(info: Any) -> Iterator[str]:
    """Dotted names of modules and classes anywhere in the provider info."""
    if isinstance(info, dict):
        for key, value in info.items():
            if key == "python-modules":
                yield from value
            elif key in ("hook-class-name", "extra-links", "class-name"):
                yield from [value] if isinstance(value, str) else value
            else:
                yield from named_in_provider_info(value)
    elif isinstance(info, list):
        for item in info:
            yield from named_in_provider_info(item)


def load(name: str) -> str:
    """Import a module, or a module's attribute; the file it came from."""
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as err:
        if err.name != name:  # the module exists but needs something the wheel lacks
            raise
        module_name, _, attribute = name.rpartition(".")
        module = importlib.import_module(module_name)
        getattr(module, attribute)
    return str(module.__file__)


def main() -> dict[str, Any]:
    from workmagic_provider import operators
    from workmagic_provider.cli import build_parser
    from workmagic_provider.get_provider_info import get_provider_info

    listed = sorted(set(named_in_provider_info(get_provider_info())))
    walked = sorted(
        f"{operators.__name__}.{found.name}" for found in pkgutil.iter_modules(operators.__path__)
    )
    files = {name: load(name) for name in [*listed, *walked]}
    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    return {
        "listed": listed,
        "walked": walked,
        "files": files,
        "commands": sorted(commands),
        "importable": {
            name: importlib.util.find_spec(name) is not None
            for name in ("workmagic_sandbox", "moto", "gcp_storage_emulator")
        },
    }


if __name__ == "__main__":
    print(json.dumps(main()))
