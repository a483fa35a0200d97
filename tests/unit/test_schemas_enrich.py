"""Enrich orders: the four required fields, UTC timestamps, optional currency, strict fields."""

from __future__ import annotations

import json
from typing import Any

import pytest

from workmagic_provider.schemas import SchemaOptions, ValidationReport, validate_json_lines

ORDER: dict[str, Any] = {
    "order_id": "5012345678901",
    "order_timestamp": "2025-06-10T20:19:00Z",
    "sales_amount": 269.94,
    "profit_amount": -65.40,
}

NOT_NUMBER = "Input should be a valid number, unable to parse string as a number"


def run(
    rows: list[dict[str, Any]], options: SchemaOptions | None = None
) -> tuple[list[dict[str, Any]], list[bytes], ValidationReport]:
    report = ValidationReport("enrich")
    lines = [(n, json.dumps(r).encode()) for n, r in enumerate(rows, 1)]
    raw = list(validate_json_lines(lines, "enrich", report=report, options=options))
    return [json.loads(line) for line in raw], raw, report


def errors(report: ValidationReport) -> list[tuple[int, str, str]]:
    return [(e.row, e.field, e.reason) for e in report.errors]


def test_sample_order_is_written_as_given_without_default_currency() -> None:
    out, raw, report = run([ORDER])
    assert report.ok
    assert out == [ORDER]
    assert raw == [
        b'{"order_id":"5012345678901","order_timestamp":"2025-06-10T20:19:00Z",'
        b'"sales_amount":269.94,"profit_amount":-65.4}'
    ]


@pytest.mark.parametrize("missing", list(ORDER))
def test_each_required_field_missing_is_named(missing: str) -> None:
    rows = [ORDER, {k: v for k, v in ORDER.items() if k != missing}]
    out, _, report = run(rows)
    assert len(out) == 1
    assert errors(report) == [(2, missing, "field required")]


def test_coercions() -> None:
    out, _, report = run(
        [
            {
                "order_id": 5012345678901,
                "order_timestamp": "2025-06-10T16:19:00-04:00",
                "sales_amount": "269.94",
                "profit_amount": "0",
                "currency": "EUR",
            }
        ]
    )
    assert report.ok, report.summary()
    assert out == [
        {
            "order_id": "5012345678901",
            "order_timestamp": "2025-06-10T20:19:00Z",
            "sales_amount": 269.94,
            "profit_amount": 0.0,
            "currency": "EUR",
        }
    ]


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("order_id", "", "String should have at least 1 character"),
        ("order_id", 1.5, "Input should be a string or an integer"),
        (
            "order_timestamp",
            "2025-06-10T20:19:00",
            "timestamp must include a time zone, e.g. 2025-09-22T23:50:25Z",
        ),
        ("sales_amount", "n/a", NOT_NUMBER),
        ("profit_amount", False, "Input should be a number or a numeric string"),
        (
            "currency",
            "usd",
            "Input should be a 3-letter uppercase ISO 4217 currency code, e.g. 'USD'",
        ),
    ],
)
def test_field_errors(field: str, value: Any, reason: str) -> None:
    out, _, report = run([{**ORDER, field: value}])
    assert out == []
    assert errors(report) == [(1, field, reason)]


def test_unknown_fields_are_rejected_with_a_suggestion_unless_allowed() -> None:
    _, _, report = run([{**ORDER, "profit_amout": 1}])
    assert errors(report) == [
        (1, "profit_amout", "unknown field 'profit_amout'; did you mean 'profit_amount'?")
    ]
    out, _, report = run([{**ORDER, "note": "x"}], SchemaOptions(unknown_fields="allow"))
    assert report.ok and out[0]["note"] == "x"


def test_negative_sales_and_profit_are_accepted() -> None:
    out, _, report = run([{**ORDER, "sales_amount": -19.99, "profit_amount": -25}])
    assert report.ok
    assert (out[0]["sales_amount"], out[0]["profit_amount"]) == (-19.99, -25)


def test_round_trip() -> None:
    _, first, _ = run([{**ORDER, "order_timestamp": "2025-06-10T22:19:00.25+02:00"}])
    report = ValidationReport("enrich")
    second = list(validate_json_lines(enumerate(first, 1), "enrich", report=report))
    assert second == first and report.ok
