"""Schemas of the three kinds of rows WorkMagic takes, and streaming validation against them.

* ``custom-site``: one order of a custom-built store (Orders API shape, open schema);
* ``imported``: one aggregated sales row of an imported online store / marketplace / retailer;
* ``enrich``: a sales/profit override for the Enrich Order API.

Every flow validates through :func:`validate_json_lines` or :func:`validate_records`, which
yield valid rows as compact JSON and collect the rest in a :class:`ValidationReport`.
"""

from workmagic_provider.schemas.common import SchemaOptions
from workmagic_provider.schemas.imported import IMPORTED_MEASURES, IMPORTED_PRIMARY_KEY
from workmagic_provider.schemas.report import RowError, ValidationReport
from workmagic_provider.schemas.validate import (
    SCHEMA_NAMES,
    get_model,
    validate_json_lines,
    validate_numbered,
    validate_records,
)

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
