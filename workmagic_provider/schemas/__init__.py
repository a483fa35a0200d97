"""Schemas of the three kinds of rows WorkMagic takes, and streaming validation against them.

* ``custom-site``: one order of a custom-built store (Orders API shape, open schema);
* ``imported``: one aggregated sales row of an imported online store / marketplace / retailer;
* ``enrich``: a sales/profit override for the Enrich Order API.

Every flow validates through :func:`validate_json_lines` or :func:`validate_records`, which
yield valid rows as compact JSON and collect the rest in a :class:`ValidationReport`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from workmagic_provider.schemas.keys import IMPORTED_MEASURES, IMPORTED_PRIMARY_KEY
from workmagic_provider.schemas.options import SchemaOptions
from workmagic_provider.schemas.report import RowError, ValidationReport

if TYPE_CHECKING:
    from workmagic_provider.schemas.validate import (
        SCHEMA_NAMES,
        get_model,
        validate_json_lines,
        validate_numbered,
        validate_records,
    )

#: Names whose module imports pydantic: loaded on first use, so that naming a schema, its
#: keys or its options costs nothing until a row is validated.
_LAZY = {
    name: "workmagic_provider.schemas.validate"
    for name in (
        "SCHEMA_NAMES",
        "get_model",
        "validate_json_lines",
        "validate_numbered",
        "validate_records",
    )
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "IMPORTED_MEASURES",
    "IMPORTED_PRIMARY_KEY",
    "SCHEMA_NAMES",
    "RowError",
    "SchemaOptions",
    "ValidationReport",
    "get_model",
    "validate_json_lines",
    "validate_numbered",
    "validate_records",
]
