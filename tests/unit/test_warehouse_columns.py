"""Snowflake columns -> WorkMagic fields, and the whole-window checks built from the schema."""

from __future__ import annotations

import pytest

from workmagic_provider.exceptions import WorkMagicConfigError
from workmagic_provider.warehouse.checks import (
    WindowCheckError,
    bigquery_values,
    build_checks,
    evaluate,
)
from workmagic_provider.warehouse.fields import key_fields, schema_fields
from workmagic_provider.warehouse.snowflake_columns import Column, map_columns, value_sql

ORDERS = [
    Column("ID", "FIXED"),
    Column("CREATED_AT", "TIMESTAMP_NTZ"),
    Column("UPDATED_AT", "TIMESTAMP_TZ"),
    Column("AMOUNT", "FIXED"),
    Column("Note", "TEXT"),
]


def test_columns_match_fields_ignoring_case_with_overrides_and_pass_through() -> None:
    fields = schema_fields("custom-site")
    mapped, left_out = map_columns(
        ORDERS, fields, overrides={"total_price": "amount"}, pass_through=True
    )
    assert [(m.key, m.column.name) for m in mapped] == [
        ("id", "ID"), ("created_at", "CREATED_AT"), ("updated_at", "UPDATED_AT"),
        ("total_price", "AMOUNT"), ("Note", "Note"),
    ]  # fmt: skip
    assert left_out == []
    values = {m.key: value_sql(m, "Europe/Paris") for m in mapped}
    assert values["id"] == 'TO_VARCHAR("ID")'  # a numeric id is written as a string
    assert values["created_at"] == (
        "REPLACE(TO_VARCHAR(CONVERT_TIMEZONE('Europe/Paris', 'UTC', \"CREATED_AT\"), "
        "'YYYY-MM-DD HH24:MI:SS.FF3'), ' ', 'T') || 'Z'"
    )
    assert values["total_price"] == '"AMOUNT"'  # numbers stay numbers
    with pytest.raises(WorkMagicConfigError, match="ntz_time_zone"):
        value_sql(mapped[1], "UTC'; DROP")


def test_a_required_field_without_a_column_is_a_setting_error() -> None:
    with pytest.raises(WorkMagicConfigError, match=r"required field 'total_price' has no column"):
        map_columns(ORDERS, schema_fields("custom-site"), pass_through=True)
    with pytest.raises(WorkMagicConfigError, match="differ only in case"):
        map_columns(
            [*ORDERS[1:], Column("iD", "TEXT"), Column("Id", "TEXT")],
            schema_fields("custom-site"),
            overrides={"total_price": "AMOUNT"},
            pass_through=True,
        )


def test_imported_rows_leave_unknown_columns_out() -> None:
    columns = [Column(n.upper(), "TEXT") for n in key_fields("imported")] + [
        Column("ORDERS", "FIXED"), Column("SALES", "FIXED"), Column("CHANGED", "TIMESTAMP_TZ"),
    ]  # fmt: skip
    mapped, left_out = map_columns(columns, schema_fields("imported"), pass_through=False)
    assert [c.name for c in left_out] == ["CHANGED"]
    assert "changed" not in {m.key for m in mapped}


def test_checks_name_field_column_and_count() -> None:
    values = bigquery_values(schema_fields("imported"))
    checks = build_checks(values, "imported", "bigquery", ("@window_start", "@window_end"))
    whats = [c.what for c in checks]
    assert "field 'orders' (column orders) below 0" in whats
    assert any(w.startswith("duplicate primary key (date_type, date_code") for w in whats)
    row = {"workmagic_rows": 10, **{c.alias: 0 for c in checks}}
    assert evaluate(checks, row) == {"rows": 10, "checks": len(checks)}
    row[checks[0].alias] = 3
    with pytest.raises(WindowCheckError, match=r"over 10 row\(s\).*3 row\(s\) with NULL"):
        evaluate(checks, row)
