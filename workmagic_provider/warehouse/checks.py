"""Whole-window checks: one aggregate query over every row an unload/export would write.

A row sample only sees the first rows; a NULL order id at row 500 of 1,000 slips past it and
reaches WorkMagic. So before the warehouse writes a file, one ``SELECT COUNT(*), COUNT_IF(...)``
over the very query it would write counts, for the whole window, what SQL can check:

* required fields that are NULL (or have no column at all: that fails earlier, as a setting);
* values below the schema's minimum, and values outside a field's fixed set (``geo_type``);
* duplicate keys: the order id (custom-site) or the 7-field primary key (imported);
* ``updated_at`` outside the run's window.

Any count above zero stops the task before anything is written, naming the field, the column
and the count. What SQL cannot check (timestamp text, nested objects) is left to the sample.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from workmagic_provider.exceptions import WorkMagicPermanentError
from workmagic_provider.warehouse.fields import FieldSpec, key_fields

Dialect = Literal["snowflake", "bigquery"]
#: Fields that must fall inside the run's window ``[start, end)``.
WINDOW_FIELDS = ("updated_at",)
ROWS_ALIAS = "workmagic_rows"


class WindowCheckError(WorkMagicPermanentError):
    """Rows of the window break the schema; a retry would find the same rows, so none is made."""


@dataclass(frozen=True)
class CheckedValue:
    """A field's value in the checked query, with what the warehouse lets us compare."""

    field: FieldSpec
    sql: str  # the value expression (a quoted column)
    label: str  # how the user names it: the column
    number_sql: str | None = None  # the value as a number, for the minimum check
    text_sql: str | None = None  # the value as text, for the fixed-values check
    timestamp_sql: str | None = None  # the value as a TIMESTAMP, for the window check


@dataclass(frozen=True)
class Check:
    alias: str
    what: str
    sql: str


def _count_if(dialect: Dialect, condition: str) -> str:
    return f"COUNT_IF({condition})" if dialect == "snowflake" else f"COUNTIF({condition})"


def _literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def build_checks(
    values: Sequence[CheckedValue],
    schema: str,
    dialect: Dialect,
    window: tuple[str, str],
) -> list[Check]:
    """The checks of ``values`` (one per field in the query) for ``schema``.

    ``window`` holds the two bound expressions (literals or query parameters).
    """
    checks: list[Check] = []

    def add(what: str, sql: str) -> None:
        checks.append(Check(f"c{len(checks)}", what, sql))

    for value in values:
        spec, where = value.field, f"field {value.field.name!r} (column {value.label})"
        if spec.required:
            add(f"NULL in required {where}", _count_if(dialect, f"{value.sql} IS NULL"))
        if spec.minimum is not None and value.number_sql:
            add(
                f"{where} below {spec.minimum:g}",
                _count_if(dialect, f"{value.number_sql} < {spec.minimum:g}"),
            )
        if spec.enum and value.text_sql:
            allowed = ", ".join(_literal(v) for v in spec.enum)
            add(
                f"{where} not one of {', '.join(spec.enum)}",
                _count_if(dialect, f"{value.text_sql} NOT IN ({allowed})"),
            )
        if spec.name in WINDOW_FIELDS and value.timestamp_sql:
            ts, (start, end) = value.timestamp_sql, window
            add(
                f"{where} outside the window",
                _count_if(dialect, f"{ts} < {start} OR {ts} >= {end}"),
            )
    by_name = {v.field.name: v for v in values}
    keys = [by_name[k] for k in key_fields(schema) if k in by_name]
    if keys:
        present = " AND ".join(f"{k.sql} IS NOT NULL" for k in keys)
        if dialect == "snowflake":
            distinct = f"COUNT(DISTINCT {', '.join(k.sql for k in keys)})"
        else:
            struct = f"TO_JSON_STRING(STRUCT({', '.join(k.sql for k in keys)}))"
            distinct = f"COUNT(DISTINCT IF({present}, {struct}, NULL))"
        names = ", ".join(k.field.name for k in keys)
        columns = ", ".join(k.label for k in keys)
        what = (
            f"duplicate order id (column {columns})"
            if len(keys) == 1
            else f"duplicate primary key ({names}; columns {columns})"
        )
        add(what, f"{_count_if(dialect, present)} - {distinct}")
    return checks


def bigquery_values(fields: Sequence[FieldSpec]) -> list[CheckedValue]:
    """BigQuery: the required fields by name (the SELECT's columns), cast where compared.

    Only required fields are checked: an optional one may have no column at all, which
    BigQuery would refuse as an unknown name.
    """
    out = []
    for spec in fields:
        if not spec.required:
            continue
        column = f"`{spec.name}`"
        out.append(
            CheckedValue(
                field=spec,
                sql=column,
                label=spec.name,
                number_sql=f"SAFE_CAST({column} AS FLOAT64)" if spec.minimum is not None else None,
                text_sql=f"CAST({column} AS STRING)" if spec.enum else None,
                timestamp_sql=(
                    f"SAFE_CAST({column} AS TIMESTAMP)" if spec.kind == "timestamp" else None
                ),
            )
        )
    return out


def check_query(checks: Sequence[Check], source_sql: str) -> str:
    """``SELECT COUNT(*) AS workmagic_rows, <check> AS c0, ... FROM (source)``."""
    columns = [f"COUNT(*) AS {ROWS_ALIAS}", *(f"{c.sql} AS {c.alias}" for c in checks)]
    return f"SELECT {', '.join(columns)} FROM ({source_sql}) AS workmagic_checked"


def evaluate(checks: Sequence[Check], row: Mapping[str, Any]) -> dict[str, Any]:
    """Counts per check from the result row; raise :class:`WindowCheckError` if any is > 0."""
    lowered = {str(k).lower(): v for k, v in row.items()}
    rows = int(lowered.get(ROWS_ALIAS) or 0)
    counts = {c.what: int(lowered.get(c.alias) or 0) for c in checks}
    failed = {what: n for what, n in counts.items() if n}
    if failed:
        lines = "; ".join(f"{n} row(s) with {what}" for what, n in failed.items())
        raise WindowCheckError(
            f"whole-window check over {rows} row(s) failed, nothing was written: {lines}"
        )
    return {"rows": rows, "checks": len(checks)}


__all__ = [
    "Check",
    "CheckedValue",
    "WindowCheckError",
    "bigquery_values",
    "build_checks",
    "check_query",
    "evaluate",
]
