"""Custom-site orders: required fields, coercions, timestamps to UTC, open schema, round trip."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from workmagic_provider.schemas import (
    SchemaOptions,
    ValidationReport,
    validate_json_lines,
    validate_records,
)

ORDER: dict[str, Any] = {
    "id": "id_56789_1001",
    "created_at": "2025-09-22T23:50:25.867Z",
    "updated_at": "2025-09-22T23:50:28Z",
    "order_number": "2025092216171311",
    "browser_ip": "204.9.253.8",
    "landing_site": "https://shop.example.com/products/widget",
    "referring_site": "https://www.google.com/",
    "checkout_token": "a3f9c1d2e4b5a6978812aa0b1c2d3e4f",
    "financial_status": "paid",
    "total_price": 214.96,
    "current_total_price": 214.96,
    "subtotal_price": 234.96,
    "current_subtotal_price": 234.96,
    "current_total_discounts": 20.5,
    "current_total_tax": 0.0,
    "discount_codes": [{"code": "WEB_WELCOME20"}],
    "shipping_address": {
        "zip": "02134",
        "city": "Boston",
        "country": "United States",
        "country_code": "US",
        "province_code": "MA",
        "province": "Massachusetts",
    },
    "line_items": [
        {"id": "li_1", "title": "Widget", "price": 99.99, "quantity": 2, "current_quantity": 2},
        {"id": "li_2", "title": "Case", "price": 34.98, "quantity": 1, "current_quantity": 1},
    ],
    "customer": {"id": "cust_4242", "email": "jane.doe@example.com"},
    "extensions": {
        "order_app_name": "Web",
        "order_cost_cogs": 80.5,
        "order_cost_handling": 2.5,
        "order_cost_shipping": 7.99,
        "order_cost_transaction": 6.53,
        "order_refund_amount": 0.0,
        "order_refund_product_count": 0,
        "is_subscription_order": False,
    },
}


def order(**changes: Any) -> dict[str, Any]:
    result = copy.deepcopy(ORDER)
    for key, value in changes.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result


def run(
    rows: list[Any], options: SchemaOptions | None = None
) -> tuple[list[dict[str, Any]], list[bytes], ValidationReport]:
    report = ValidationReport("custom-site")
    lines = [
        (n, row if isinstance(row, bytes) else json.dumps(row).encode())
        for n, row in enumerate(rows, 1)
    ]
    raw = list(validate_json_lines(lines, "custom-site", report=report, options=options))
    return [json.loads(line) for line in raw], raw, report


def errors(report: ValidationReport) -> list[tuple[int, str, str]]:
    return [(e.row, e.field, e.reason) for e in report.errors]


def test_typical_order_is_written_unchanged_apart_from_documented_forms() -> None:
    out, raw, report = run([ORDER])
    assert report.ok and report.rows_total == 1 and report.rows_valid == 1
    expected = order(created_at="2025-09-22T23:50:25.867000Z")
    assert out == [expected]
    assert b"\n" not in raw[0] and b": " not in raw[0]  # compact, one line


@pytest.mark.parametrize("missing", ["id", "created_at", "updated_at", "total_price"])
def test_each_required_field_missing_is_named(missing: str) -> None:
    out, _, report = run([ORDER, order(**{missing: None})])
    assert len(out) == 1
    assert errors(report) == [(2, missing, "field required")]
    assert report.errors[0].value is None  # the row itself is never echoed
    assert report.rows_rejected == 1 and report.rows_total == 2


@pytest.mark.parametrize(
    ("field", "given", "written"),
    [
        ("total_price", "214.96", 214.96),
        ("total_price", 20, 20.0),
        ("total_price", " 7.5 ", 7.5),
        ("total_price", "1e3", 1000.0),
        ("current_total_tax", "-1.25", -1.25),
    ],
)
def test_numeric_strings_and_integers_become_json_numbers(
    field: str, given: Any, written: float
) -> None:
    out, raw, report = run([order(**{field: given})])
    assert report.ok, report.summary()
    assert out[0][field] == written and isinstance(out[0][field], float)
    assert f'"{field}":{json.dumps(written)}'.encode() in raw[0]


@pytest.mark.parametrize(
    ("given", "written"), [("2", 2), (2.0, 2), ("2.0", 2), (3, 3), ("1000000000", 10**9)]
)
def test_integer_fields_must_be_integral(given: Any, written: int) -> None:
    item = {"id": "li", "price": 1, "quantity": given}
    out, _, report = run([order(line_items=[item])])
    assert report.ok, report.summary()
    assert out[0]["line_items"][0]["quantity"] == written


@pytest.mark.parametrize("given", [10**9 + 1, "12345678901234567890", 10**30])
def test_quantities_have_an_upper_bound(given: Any) -> None:
    item = {"id": "li", "price": 1, "quantity": given}
    out, _, report = run([order(line_items=[item])])
    assert out == []
    assert [(e.field, e.reason) for e in report.errors] == [
        ("line_items.0.quantity", "Input should be less than or equal to 1000000000")
    ]


def test_the_upper_bound_of_counts_is_an_option() -> None:
    report = ValidationReport("custom-site")
    raw = json.dumps(order(line_items=[{"id": "li", "quantity": 10**12}])).encode()
    lines = validate_json_lines(
        [(1, raw)], "custom-site", report=report, options=SchemaOptions(max_count=10**12)
    )
    assert len(list(lines)) == 1 and report.ok


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        (2.5, "Input should be a valid integer, got a number with a fractional part"),
        ("2.5", "Input should be a valid integer, unable to parse string as an integer"),
        (True, "Input should be an integer or an integer string"),
        (-1, "Input should be greater than or equal to 0"),
    ],
)
def test_integer_field_errors(given: Any, reason: str) -> None:
    out, _, report = run([order(line_items=[{"quantity": given}])])
    assert out == []
    assert errors(report) == [(1, "line_items.0.quantity", reason)]


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("abc", "Input should be a valid number, unable to parse string as a number"),
        ("$12.00", "Input should be a valid number, unable to parse string as a number"),
        ("1,234.50", "Input should be a valid number, unable to parse string as a number"),
        (True, "Input should be a number or a numeric string"),
        (False, "Input should be a number or a numeric string"),
        ([1], "Input should be a number or a numeric string"),
        ("NaN", "Input should be a finite number"),
        ("inf", "Input should be a finite number"),
    ],
)
def test_non_numbers_are_rejected(given: Any, reason: str) -> None:
    out, _, report = run([order(total_price=given)])
    assert out == []
    assert errors(report) == [(1, "total_price", reason)]
    assert report.errors[0].value == repr(given)


def test_nan_and_infinity_tokens_are_rejected() -> None:
    line = json.dumps(order(total_price=1.0)).replace('"total_price": 1.0', '"total_price": NaN')
    out, _, report = run([line.encode(), line.replace("NaN", "-Infinity").encode()])
    assert out == []
    assert errors(report) == [
        (1, "total_price", "Input should be a finite number"),
        (2, "total_price", "Input should be a finite number"),
    ]


@pytest.mark.parametrize(
    ("given", "written"),
    [
        ("2025-09-22T23:50:25+02:00", "2025-09-22T21:50:25Z"),
        ("2025-09-22T23:50:25-07:00", "2025-09-23T06:50:25Z"),
        ("2025-09-22T23:50:25.5+05:30", "2025-09-22T18:20:25.500000Z"),
        ("2025-09-22T23:50:25+00:00", "2025-09-22T23:50:25Z"),
        ("2025-09-22 23:50:25Z", "2025-09-22T23:50:25Z"),
    ],
)
def test_timestamps_are_written_in_utc_with_z(given: str, written: str) -> None:
    out, _, report = run([order(created_at=given, updated_at=given)])
    assert report.ok, report.summary()
    assert out[0]["created_at"] == written and out[0]["updated_at"] == written


def test_naive_timestamp_is_rejected_with_an_example() -> None:
    out, _, report = run([order(updated_at="2025-09-22T23:50:25")])
    assert out == []
    assert errors(report) == [
        (1, "updated_at", "timestamp must include a time zone, e.g. 2025-09-22T23:50:25Z")
    ]


@pytest.mark.parametrize("given", [1695425425, "1695425425", "2025-09-22", "yesterday", True])
def test_epoch_numbers_and_bare_dates_are_not_guessed(given: Any) -> None:
    out, _, report = run([order(created_at=given)])
    assert out == []
    assert errors(report) == [
        (
            1,
            "created_at",
            "Input should be an ISO 8601 timestamp with a time zone, e.g. 2025-09-22T23:50:25Z",
        )
    ]


def test_impossible_timestamp_is_rejected() -> None:
    _, _, report = run([order(created_at="2025-13-01T00:00:00Z")])
    assert [e.field for e in report.errors] == ["created_at"]
    assert "month" in report.errors[0].reason


def test_integer_ids_become_strings_other_types_do_not() -> None:
    out, _, report = run(
        [order(id=1001, order_number=2025092216171311, customer={"id": 42}), order(id=1.5)]
    )
    assert out[0]["id"] == "1001" and out[0]["order_number"] == "2025092216171311"
    assert out[0]["customer"] == {"id": "42"}
    assert errors(report) == [(2, "id", "Input should be a string or an integer")]


def test_empty_id_is_rejected() -> None:
    _, _, report = run([order(id="")])
    assert errors(report) == [(1, "id", "String should have at least 1 character")]


def test_zip_stays_a_string_and_a_number_zip_is_refused() -> None:
    out, _, report = run([ORDER, order(shipping_address={"zip": 2134, "country_code": "US"})])
    assert out[0]["shipping_address"]["zip"] == "02134"
    assert errors(report) == [(2, "shipping_address.zip", "Input should be a valid string")]


@pytest.mark.parametrize(("field", "value"), [("currency", "usd"), ("currency", "US")])
def test_currency_must_be_iso_4217_uppercase(field: str, value: str) -> None:
    _, _, report = run([order(currency="USD"), order(**{field: value})])
    assert report.rows_valid == 1
    assert errors(report) == [
        (2, "currency", "Input should be a 3-letter uppercase ISO 4217 currency code, e.g. 'USD'")
    ]


def test_country_code_must_be_uppercase_alpha_2() -> None:
    _, _, report = run([order(shipping_address={"country_code": "us"})])
    assert errors(report) == [
        (
            1,
            "shipping_address.country_code",
            "Input should be an ISO 3166-1 alpha-2 country code in uppercase, e.g. 'US'",
        )
    ]


def test_booleans_accept_common_spellings() -> None:
    ext = {"is_subscription_order": "true"}
    out, _, report = run([order(extensions=ext), order(extensions={"is_subscription_order": 2})])
    assert out[0]["extensions"] == {"is_subscription_order": True}
    assert [e.field for e in report.errors] == ["extensions.is_subscription_order"]


def test_null_optional_fields_are_not_written() -> None:
    row = order()
    row["order_number"] = None
    row["shipping_address"] = None
    out, _, report = run([row])
    assert report.ok
    assert "order_number" not in out[0] and "shipping_address" not in out[0]


def test_unknown_fields_pass_through_by_default_also_nested() -> None:
    row = order(note={"gift": True, "text": "hi"}, tags=["a", "b"])
    row["line_items"][0]["sku"] = "W-1"
    row["shipping_address"]["address1"] = "1 Main St"
    out, _, report = run([row])
    assert report.ok
    assert out[0]["note"] == {"gift": True, "text": "hi"} and out[0]["tags"] == ["a", "b"]
    assert out[0]["line_items"][0]["sku"] == "W-1"
    assert out[0]["shipping_address"]["address1"] == "1 Main St"
    assert list(out[0])[-2:] == ["note", "tags"]  # pass-through fields follow the schema's


def test_unknown_fields_reject_names_the_nearest_field() -> None:
    row = order(totl_price=1, zzz=1)
    row["line_items"][0]["titel"] = "x"
    out, _, report = run([row], SchemaOptions(unknown_fields="reject"))
    assert out == []
    assert sorted(errors(report)) == [
        (1, "line_items.0.titel", "unknown field 'titel'; did you mean 'title'?"),
        (1, "totl_price", "unknown field 'totl_price'; did you mean 'total_price'?"),
        (1, "zzz", "unknown field 'zzz'"),
    ]
    assert report.rows_rejected == 1


def test_unknown_fields_ignore_drops_them() -> None:
    row = order(note="x")
    row["customer"]["phone"] = "555"
    out, _, report = run([row], SchemaOptions(unknown_fields="ignore"))
    assert report.ok
    assert "note" not in out[0] and out[0]["customer"] == ORDER["customer"]


def test_output_round_trips() -> None:
    rows = [
        ORDER,
        order(id=7, total_price="10", created_at="2025-01-01T01:00:00.123456+01:00", extra=[1, {}]),
        order(line_items=None, shipping_address=None, extensions={"order_cost_cogs": "3"}),
    ]
    _, first, report = run(rows)
    assert report.ok and len(first) == 3
    _, second, report2 = run(list(first))
    assert second == first and report2.ok


def test_records_follow_the_same_rules_as_json_lines() -> None:
    record = order(
        id=1001,
        created_at=datetime(2025, 9, 22, 23, 50, 25, tzinfo=timezone(timedelta(hours=2))),
        total_price=Decimal("214.96"),
    )
    record["line_items"][0]["quantity"] = Decimal("2")
    report = ValidationReport("custom-site")
    out = list(validate_records([(1, record)], "custom-site", report=report))
    assert report.ok, report.summary()
    from_json, _, _ = run([json.loads(out[0])])
    got = json.loads(out[0])
    assert got == from_json[0]
    assert got["id"] == "1001" and got["created_at"] == "2025-09-22T21:50:25Z"
    assert got["total_price"] == 214.96 and got["line_items"][0]["quantity"] == 2


def test_records_with_naive_datetime_or_unserialisable_value_are_rejected() -> None:
    report = ValidationReport("custom-site")
    records = [
        (1, order(created_at=datetime(2025, 9, 22, 23, 50))),
        (2, order(note=b"bytes")),
        (3, ["not", "a", "mapping"]),
        (4, ORDER),
    ]
    out = list(validate_records(records, "custom-site", report=report))  # type: ignore[arg-type]
    assert len(out) == 1
    assert errors(report) == [
        (1, "created_at", "timestamp must include a time zone, e.g. 2025-09-22T23:50:25Z"),
        (2, "<row>", "not JSON-serialisable: a value of type bytes has no JSON form"),
        (3, "<row>", "expected a JSON object, got list"),
    ]
    assert report.rows_total == 4 and report.rows_rejected == 3
