"""Snowflake columns -> WorkMagic's JSON object, built from the columns the warehouse reports.

``OBJECT_CONSTRUCT(*)`` writes a table's columns as they are: unquoted names upper-cased
(``ID``, which the schema does not know), ``TIMESTAMP_NTZ`` without a zone (refused), NULLs
dropped without a trace. So the operator asks Snowflake for the source's columns at run time
(``SELECT * FROM (...) LIMIT 0``) and writes the object field by field:

* a column matches a field when their names are equal ignoring case; ``columns={field:
  column}`` names the column of a field explicitly;
* timestamps are written as ISO-8601 UTC with ``Z`` (``TIMESTAMP_NTZ`` is read as wall time
  in ``ntz_time_zone``, UTC by default), dates as ``YYYY-MM-DD``, numbers as numbers, numeric
  ids as strings;
* a required field without a column is a setting error before anything runs; a NULL in one is
  counted by the whole-window checks, which stop the task before the unload;
* other columns pass through (lower-cased when Snowflake upper-cased them) when the schema is
  open (custom-site), and are left out when it is closed (imported).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from workmagic_provider.exceptions import WorkMagicConfigError
from workmagic_provider.warehouse.checks import CheckedValue
from workmagic_provider.warehouse.fields import FieldSpec

_ZONE = re.compile(r"[A-Za-z][A-Za-z0-9_+/-]{0,63}")
NUMERIC_TYPES = frozenset({"FIXED", "REAL", "DECFLOAT"})
TIMESTAMP_TYPES = frozenset({"TIMESTAMP", "TIMESTAMP_NTZ", "TIMESTAMP_LTZ", "TIMESTAMP_TZ"})


@dataclass(frozen=True)
class Column:
    """A column as Snowflake reports it: exact name and type name (``FIXED``, ``TEXT``, ...)."""

    name: str
    type: str

    @property
    def sql(self) -> str:
        return '"' + self.name.replace('"', '""') + '"'


@dataclass(frozen=True)
class Mapped:
    """One key of the JSON object and the column it is written from."""

    key: str
    column: Column
    field: FieldSpec | None


def columns_from_description(description: Iterable[object]) -> list[Column]:
    """Columns of a cursor's ``description`` (the connector's type codes to type names)."""
    from snowflake.connector.constants import FIELD_ID_TO_NAME

    out = []
    for item in description:
        name, code = getattr(item, "name", None), getattr(item, "type_code", None)
        if name is None:  # a plain DB-API 7-tuple
            name, code = item[0], item[1]  # type: ignore[index]
        out.append(Column(str(name), FIELD_ID_TO_NAME.get(code, "UNKNOWN")))  # type: ignore[arg-type]
    return out


def _find(columns: Sequence[Column], wanted: str, what: str) -> Column | None:
    exact = [c for c in columns if c.name == wanted]
    if exact:
        return exact[0]
    folded = [c for c in columns if c.name.lower() == wanted.lower()]
    if len(folded) > 1:
        names = ", ".join(c.sql for c in folded)
        raise WorkMagicConfigError(
            f"{what}: columns {names} differ only in case; name one with columns={{...}}"
        )
    return folded[0] if folded else None


def map_columns(
    columns: Sequence[Column],
    fields: Sequence[FieldSpec],
    *,
    overrides: Mapping[str, str] | None = None,
    pass_through: bool,
) -> tuple[list[Mapped], list[Column]]:
    """The object's keys in field order, then pass-through columns; and the columns left out."""
    overrides = dict(overrides or {})
    known = {f.name: f for f in fields}
    unknown = sorted(set(overrides) - set(known))
    if unknown and not pass_through:
        raise WorkMagicConfigError(
            f"columns names field(s) {', '.join(map(repr, unknown))} that the schema does not "
            f"have; its fields are {', '.join(known)}"
        )
    mapped: list[Mapped] = []
    used: set[str] = set()
    for name in [*known, *unknown]:
        if name in overrides:
            column = _find(columns, overrides[name], f"columns[{name!r}]")
            if column is None:
                raise WorkMagicConfigError(
                    f"columns[{name!r}] = {overrides[name]!r}: no such column; the source has "
                    f"{', '.join(c.name for c in columns)}"
                )
        else:
            column = _find(columns, name, f"field {name!r}")
        if column is None or column.name in used:
            field = known.get(name)
            if field is not None and field.required:
                raise WorkMagicConfigError(
                    f"required field {name!r} has no column (the source has "
                    f"{', '.join(c.name for c in columns)}); add one named {name} (any case) or "
                    f"pass columns={{{name!r}: 'YOUR_COLUMN'}}"
                )
            continue
        used.add(column.name)
        mapped.append(Mapped(name, column, known.get(name)))
    rest = [c for c in columns if c.name not in used]
    if not pass_through:
        return mapped, rest
    keys = {m.key for m in mapped}
    for column in rest:
        key = column.name.lower() if column.name == column.name.upper() else column.name
        if key not in keys:
            keys.add(key)
            mapped.append(Mapped(key, column, None))
    return mapped, [c for c in rest if c.name not in {m.column.name for m in mapped}]


def _utc(column: Column, ntz_time_zone: str) -> str:
    if column.type == "TIMESTAMP_NTZ":
        if ntz_time_zone.upper() == "UTC":
            return column.sql
        return f"CONVERT_TIMEZONE('{ntz_time_zone}', 'UTC', {column.sql})"
    return f"CONVERT_TIMEZONE('UTC', {column.sql})"


def value_sql(item: Mapped, ntz_time_zone: str = "UTC") -> str:
    """The SQL of one key's value: formatted so the JSON needs no fixing afterwards."""
    if not _ZONE.fullmatch(ntz_time_zone):
        raise WorkMagicConfigError(
            f"ntz_time_zone must be an IANA zone name such as 'UTC', got {ntz_time_zone!r}"
        )
    column, kind = item.column, item.field.kind if item.field else None
    if column.type in TIMESTAMP_TYPES:
        utc = _utc(column, ntz_time_zone)
        if kind == "date":
            return f"TO_VARCHAR({utc}, 'YYYY-MM-DD')"
        return f"REPLACE(TO_VARCHAR({utc}, 'YYYY-MM-DD HH24:MI:SS.FF3'), ' ', 'T') || 'Z'"
    if column.type == "DATE":
        return f"TO_VARCHAR({column.sql}, 'YYYY-MM-DD')"
    if kind in ("string", "date") and column.type in NUMERIC_TYPES:
        return f"TO_VARCHAR({column.sql})"
    return column.sql


def object_sql(mapped: Sequence[Mapped], ntz_time_zone: str = "UTC") -> str:
    """``OBJECT_CONSTRUCT('id', ..., ...)``: NULL values leave their (optional) key out."""
    from workmagic_provider.warehouse.sql_common import sql_string

    pairs = ", ".join(f"{sql_string(m.key)}, {value_sql(m, ntz_time_zone)}" for m in mapped)
    return f"OBJECT_CONSTRUCT({pairs})"


def checked_values(mapped: Sequence[Mapped], ntz_time_zone: str = "UTC") -> list[CheckedValue]:
    """What the whole-window checks compare: each schema field's column, typed."""
    out = []
    for m in mapped:
        if m.field is None:
            continue
        column = m.column
        timestamp = _utc(column, ntz_time_zone) if column.type in TIMESTAMP_TYPES else None
        out.append(
            CheckedValue(
                field=m.field,
                sql=column.sql,
                label=column.name,
                number_sql=column.sql if column.type in NUMERIC_TYPES else None,
                text_sql=column.sql if column.type == "TEXT" else None,
                timestamp_sql=timestamp,
            )
        )
    return out


__all__ = [
    "Column",
    "Mapped",
    "checked_values",
    "columns_from_description",
    "map_columns",
    "object_sql",
    "value_sql",
]
