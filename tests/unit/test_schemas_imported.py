"""Imported sales rows: required fields, enums, geo codes, week start, strict unknown fields."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from workmagic_provider.exceptions import WorkMagicConfigError
from workmagic_provider.schemas import (
    IMPORTED_PRIMARY_KEY,
    SchemaOptions,
    ValidationReport,
    get_model,
    validate_json_lines,
    validate_records,
)

ROW: dict[str, Any] = {
    "date_type": "DAILY",
    "date_code": "2025-09-22",
    "geo_type": "ZIP",
    "geo_code": "02134",
    "sales_platform": "Walmart",
    "sales_platform_type": "SECONDARY",
    "country_code": "US",
    "orders": 12,
    "sales": 1234.5,
}
REQUIRED = tuple(ROW)
NOT_INT = "Input should be a valid integer, unable to parse string as an integer"
NOT_NUMBER = "Input should be a valid number, unable to parse string as a number"
NOT_ALPHA_2 = "country_code must be an ISO 3166-1 alpha-2 code of 2 uppercase letters, e.g. 'US'"


def row(**changes: Any) -> dict[str, Any]:
    result = dict(ROW)
    for key, value in changes.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result


def run(
    rows: list[Any], options: SchemaOptions | None = None
) -> tuple[list[dict[str, Any]], list[bytes], ValidationReport]:
    report = ValidationReport("imported")
    lines = [
        (n, r if isinstance(r, bytes) else json.dumps(r).encode()) for n, r in enumerate(rows, 1)
    ]
    raw = list(validate_json_lines(lines, "imported", report=report, options=options))
    return [json.loads(line) for line in raw], raw, report


def errors(report: ValidationReport) -> list[tuple[int, str, str]]:
    return [(e.row, e.field, e.reason) for e in report.errors]


def test_valid_row_is_written_as_given() -> None:
    out, raw, report = run([ROW])
    assert report.ok
    assert out == [{**ROW, "sales": 1234.5}]
    assert raw[0].startswith(b'{"date_type":"DAILY","date_code":"2025-09-22","geo_type":"ZIP"')


def test_primary_key_is_the_documented_seven_fields() -> None:
    assert IMPORTED_PRIMARY_KEY == (
        "date_type",
        "date_code",
        "geo_type",
        "geo_code",
        "sales_platform",
        "sales_platform_type",
        "country_code",
    )
    assert set(IMPORTED_PRIMARY_KEY) <= set(get_model("imported").model_fields)


@pytest.mark.parametrize("missing", REQUIRED)
def test_each_required_field_missing_is_named(missing: str) -> None:
    out, _, report = run([ROW, row(**{missing: None}), ROW])
    assert len(out) == 2
    assert errors(report) == [(2, missing, "field required")]


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("date_type", "MONTHLY", "Input should be 'DAILY' or 'WEEKLY'"),
        ("date_type", "daily", "Input should be 'DAILY' or 'WEEKLY'"),
        ("geo_type", "STATE", "Input should be 'ZIP', 'DMA' or 'IP'"),
        ("sales_platform_type", "TERTIARY", "Input should be 'PRIMARY' or 'SECONDARY'"),
    ],
)
def test_bad_enum_values_list_the_allowed_ones(field: str, value: str, reason: str) -> None:
    out, _, report = run([row(**{field: value})])
    assert out == []
    assert errors(report) == [(1, field, reason)]


def test_extra_enum_values_are_opt_in() -> None:
    options = SchemaOptions(extra_geo_types=("STATE", "COUNTY"), extra_date_types=("MONTHLY",))
    out, _, report = run(
        [row(geo_type="STATE", geo_code="MA"), row(date_type="MONTHLY", date_code="2025-09-01")],
        options,
    )
    assert report.ok, report.summary()
    assert [o["geo_type"] for o in out] == ["STATE", "ZIP"]
    _, _, strict = run([row(geo_type="COUNTY", geo_code="x")])
    assert errors(strict) == [(1, "geo_type", "Input should be 'ZIP', 'DMA' or 'IP'")]


def test_numeric_strings_are_written_as_numbers() -> None:
    out, raw, report = run(
        [row(orders="12", sales="1234.50", profit="-3.5", new_customer_orders="4.0")]
    )
    assert report.ok, report.summary()
    assert (out[0]["orders"], out[0]["sales"], out[0]["profit"]) == (12, 1234.5, -3.5)
    assert out[0]["new_customer_orders"] == 4
    assert b'"orders":12,' in raw[0] and b'"sales":1234.5' in raw[0]


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("orders", "twelve", NOT_INT),
        ("orders", 2.5, "Input should be a valid integer, got a number with a fractional part"),
        ("orders", -1, "Input should be greater than or equal to 0"),
        ("orders", True, "Input should be an integer or an integer string"),
        ("sales", "$1,234", NOT_NUMBER),
        ("sales", -0.01, "Input should be greater than or equal to 0"),
        ("new_customer_orders", "1.5", NOT_INT),
        ("new_customer_sales", -1, "Input should be greater than or equal to 0"),
    ],
)
def test_measure_errors(field: str, value: Any, reason: str) -> None:
    out, _, report = run([row(**{field: value})])
    assert out == []
    assert errors(report) == [(1, field, reason)]


def test_profit_may_be_negative() -> None:
    out, _, report = run([row(profit=-12.25)])
    assert report.ok and out[0]["profit"] == -12.25


@pytest.mark.parametrize(
    ("geo_type", "code", "reason"),
    [
        ("ZIP", 2134, "ZIP geo_code must be a string to keep leading zeros"),
        ("ZIP", "2134", "ZIP geo_code must be 5 digits, e.g. '02134'"),
        ("ZIP", "02134-1234", "ZIP geo_code must be 5 digits, e.g. '02134'"),
        ("DMA", "5010", "DMA geo_code must be 3 digits, e.g. '501'"),
        ("DMA", 50, "DMA geo_code must be 3 digits, e.g. '501'"),
        ("IP", "1.2.3.999", "IP geo_code must be an IPv4 or IPv6 address"),
        ("IP", "example.com", "IP geo_code must be an IPv4 or IPv6 address"),
        ("ZIP", 2134.0, "Input should be a string (or an integer for non-ZIP geo types)"),
    ],
)
def test_geo_code_must_match_geo_type(geo_type: str, code: Any, reason: str) -> None:
    out, _, report = run([row(geo_type=geo_type, geo_code=code)])
    assert out == []
    assert errors(report) == [(1, "geo_code", reason)]


@pytest.mark.parametrize(
    ("geo_type", "code", "written"),
    [
        ("ZIP", "00501", "00501"),
        ("DMA", 501, "501"),
        ("DMA", "501", "501"),
        ("IP", "204.9.253.8", "204.9.253.8"),
        ("IP", "2001:db8::1", "2001:db8::1"),
    ],
)
def test_geo_codes_are_written_as_strings(geo_type: str, code: Any, written: str) -> None:
    out, _, report = run([row(geo_type=geo_type, geo_code=code)])
    assert report.ok, report.summary()
    assert out[0]["geo_code"] == written


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("us", "country_code must be uppercase ISO 3166-1 alpha-2: write 'US'"),
        ("USA", NOT_ALPHA_2),
    ],
)
def test_country_code(value: str, reason: str) -> None:
    _, _, report = run([row(country_code=value)])
    assert errors(report) == [(1, "country_code", reason)]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("2025/09/22", "date_code must be a date written YYYY-MM-DD"),
        ("2025-09-22T00:00:00Z", "date_code must be a date written YYYY-MM-DD"),
        ("2025-02-30", "date_code is not a calendar date (YYYY-MM-DD)"),
        (20250922, "Input should be a valid string"),
    ],
)
def test_date_code_format(value: Any, reason: str) -> None:
    _, _, report = run([row(date_code=value)])
    assert errors(report) == [(1, "date_code", reason)]


def test_weekly_rows_start_on_monday_by_default() -> None:
    monday, tuesday = "2025-09-22", "2025-09-23"
    out, _, report = run(
        [
            row(date_type="WEEKLY", date_code=monday),
            row(date_type="WEEKLY", date_code=tuesday),
            row(date_type="DAILY", date_code=tuesday),
        ]
    )
    assert [o["date_code"] for o in out] == [monday, tuesday]
    assert len(report.errors) == 1
    error = report.errors[0]
    assert (error.row, error.field) == (2, "date_code")
    assert "a MONDAY" in error.reason and "is a TUESDAY" in error.reason
    assert "week_start='TUESDAY'" in error.reason and "week_start=None" in error.reason


def test_week_start_sunday_and_none() -> None:
    sunday, monday = "2025-09-21", "2025-09-22"
    weekly = [row(date_type="WEEKLY", date_code=sunday), row(date_type="WEEKLY", date_code=monday)]
    out, _, report = run(weekly, SchemaOptions(week_start="SUNDAY"))
    assert [o["date_code"] for o in out] == [sunday]
    assert "is a MONDAY" in report.errors[0].reason and "a SUNDAY" in report.errors[0].reason
    out, _, report = run(weekly, SchemaOptions(week_start=None))
    assert report.ok and len(out) == 2
    out, _, report = run(weekly, SchemaOptions(week_start="sunday"))  # names are case-insensitive
    assert len(out) == 1


def test_unknown_fields_are_rejected_with_a_suggestion() -> None:
    out, _, report = run([row(salse=10), row(colour="red")])
    assert out == []
    assert errors(report) == [
        (1, "salse", "unknown field 'salse'; did you mean 'sales'?"),
        (2, "colour", "unknown field 'colour'"),
    ]


def test_unknown_fields_allow_and_ignore() -> None:
    out, _, report = run([row(store_id="s1")], SchemaOptions(unknown_fields="allow"))
    assert report.ok and out[0]["store_id"] == "s1"
    out, _, report = run([row(store_id="s1")], SchemaOptions(unknown_fields="ignore"))
    assert report.ok and "store_id" not in out[0]


def test_optional_fields_and_round_trip() -> None:
    rows = [
        row(profit="10", new_customer_orders=2, new_customer_sales="5.5", geo_name="Boston"),
        row(geo_type="DMA", geo_code=501, orders=3.0),
    ]
    _, first, report = run(rows)
    assert report.ok, report.summary()
    _, second, report2 = run(list(first))
    assert second == first and report2.ok


def test_records_from_a_warehouse_cursor() -> None:
    record = row(date_code=date(2025, 9, 22), orders=Decimal("12"), sales=Decimal("1234.50"))
    report = ValidationReport("imported")
    out = list(validate_records([(1, record)], "imported", report=report))
    assert report.ok, report.summary()
    got = json.loads(out[0])
    assert (got["date_code"], got["orders"], got["sales"]) == ("2025-09-22", 12, 1234.5)


def test_bad_options_are_config_errors() -> None:
    with pytest.raises(WorkMagicConfigError, match="week_start"):
        SchemaOptions(week_start="FUNDAY")
    with pytest.raises(WorkMagicConfigError, match="extra_geo_types"):
        SchemaOptions(extra_geo_types="STATE")  # type: ignore[arg-type]
    with pytest.raises(WorkMagicConfigError, match="uppercase"):
        SchemaOptions(extra_date_types=("monthly",))
    with pytest.raises(WorkMagicConfigError, match="unknown_fields"):
        SchemaOptions(unknown_fields="drop")  # type: ignore[arg-type]
