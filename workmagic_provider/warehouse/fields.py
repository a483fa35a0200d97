"""A schema's top-level fields as the warehouse checks see them.

Derived from the pydantic model's JSON schema, so the SQL checks and the row validator cannot
disagree about which fields are required, which have a minimum or a fixed set of values.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from workmagic_provider.exceptions import WorkMagicConfigError
from workmagic_provider.schemas.options import UnknownFields

Kind = Literal["timestamp", "date", "string", "number", "integer", "boolean", "nested"]

#: Fields whose values are days (``YYYY-MM-DD``), not free text.
DATE_FIELDS = frozenset({"date_code"})


@dataclass(frozen=True)
class FieldSpec:
    """One top-level field: its JSON kind and what SQL can check about it."""

    name: str
    required: bool
    kind: Kind
    minimum: float | None = None
    enum: tuple[str, ...] = ()


def _kind(name: str, prop: dict[str, Any]) -> Kind:
    if name in DATE_FIELDS:
        return "date"
    json_type = prop.get("type")
    if json_type == "string":
        return "timestamp" if prop.get("format") == "date-time" else "string"
    if json_type in ("number", "integer", "boolean"):
        return json_type  # type: ignore[no-any-return]
    return "nested"


@cache
def _fields(schema: str, options_key: Any) -> tuple[FieldSpec, ...]:
    from workmagic_provider.schemas import get_model

    model = get_model(schema, options_key)
    js = model.model_json_schema()
    required = set(js.get("required", []))
    specs = []
    for name, prop in js["properties"].items():
        choices = [c for c in prop.get("anyOf", [prop]) if c.get("type") != "null"]
        main = choices[0] if len(choices) == 1 else {}
        specs.append(
            FieldSpec(
                name=name,
                required=name in required,
                kind=_kind(name, main),
                minimum=main.get("minimum"),
                enum=tuple(main.get("enum") or ()),
            )
        )
    return tuple(specs)


def schema_fields(schema: str, options: Any = None) -> tuple[FieldSpec, ...]:
    """The top-level fields of ``schema`` (``custom-site`` or ``imported``), in model order."""
    if schema not in ("custom-site", "imported"):
        raise WorkMagicConfigError(
            f"schema must be 'custom-site' or 'imported' for a warehouse flow, got {schema!r}"
        )
    return _fields(schema, options)


def key_fields(schema: str) -> tuple[str, ...]:
    """The fields whose values must be unique in one upload: the order id, or the primary key."""
    from workmagic_provider.schemas import IMPORTED_PRIMARY_KEY

    return ("id",) if schema == "custom-site" else tuple(IMPORTED_PRIMARY_KEY)


def open_schema(schema: str, options: Any = None) -> bool:
    """Whether unknown fields pass through (custom-site) or are refused (imported)."""
    from workmagic_provider.schemas.options import unknown_fields_of

    default: UnknownFields = "allow" if schema == "custom-site" else "reject"
    if options is None:
        return default == "allow"
    return unknown_fields_of(options, default) == "allow"
