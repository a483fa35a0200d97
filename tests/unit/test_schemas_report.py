"""The validation report and the streaming validators' row handling, shared by all schemas."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from workmagic_provider.exceptions import WorkMagicConfigError, WorkMagicValidationError
from workmagic_provider.schemas import (
    SCHEMA_NAMES,
    RowError,
    SchemaOptions,
    ValidationReport,
    get_model,
    validate_json_lines,
)

GOOD = {
    "order_id": "1",
    "order_timestamp": "2025-06-10T20:19:00Z",
    "sales_amount": 1,
    "profit_amount": 0,
}


def line(**changes: object) -> bytes:
    return json.dumps({**GOOD, **changes}).encode()


def test_schema_names_and_models() -> None:
    assert SCHEMA_NAMES == ("custom-site", "imported", "enrich")
    names = {get_model(name).__name__ for name in SCHEMA_NAMES}
    assert names == {"CustomSiteOrder", "ImportedSalesRow", "EnrichOrder"}


def test_get_model_is_cached_per_effective_options() -> None:
    assert get_model("custom-site") is get_model("custom-site", SchemaOptions())
    # options a schema does not read, or spelling out its default, give the same model
    assert get_model("custom-site") is get_model("custom-site", SchemaOptions(week_start=None))
    allow = SchemaOptions(unknown_fields="allow")
    assert get_model("custom-site") is get_model("custom-site", allow)
    assert get_model("imported") is get_model("imported", SchemaOptions(unknown_fields="reject"))
    assert get_model("imported") is not get_model("imported", SchemaOptions(week_start="SUNDAY"))
    assert get_model("enrich") is not get_model("enrich", SchemaOptions(unknown_fields="allow"))


def test_unknown_schema_lists_valid_names() -> None:
    with pytest.raises(WorkMagicConfigError, match=r"'orders'.*custom-site, imported, enrich"):
        get_model("orders")
    with pytest.raises(WorkMagicConfigError):  # raised at the call, not at the first row
        validate_json_lines([], "orders", report=ValidationReport("orders"))


def test_invalid_json_and_non_objects_are_row_errors_and_valid_rows_keep_order() -> None:
    report = ValidationReport("enrich")
    lines = [
        (1, line(order_id="a")),
        (2, b'{"order_id": "b", '),
        (3, line(order_id="c")),
        (4, b"[1, 2]"),
        (5, b'"text"'),
        (6, line(order_id="d", sales_amount="x")),
        (7, line(order_id="e")),
        (8, b""),
    ]
    out = [json.loads(x)["order_id"] for x in validate_json_lines(lines, "enrich", report=report)]
    assert out == ["a", "c", "e"]
    rows = [(e.row, e.field, e.reason.split(":")[0]) for e in report.errors]
    assert rows == [
        (2, "<row>", "not valid JSON"),
        (4, "<row>", "expected a JSON object, got an array"),
        (5, "<row>", "expected a JSON object, got a string"),
        (6, "sales_amount", "Input should be a valid number, unable to parse string as a number"),
        (8, "<row>", "not valid JSON"),
    ]
    assert (report.rows_total, report.rows_valid, report.rows_rejected) == (8, 3, 5)
    assert not report.ok


def test_validation_is_lazy_and_streaming() -> None:
    seen: list[int] = []

    def source() -> Iterator[tuple[int, bytes]]:
        for n in range(1, 1_000_000):
            seen.append(n)
            yield n, line(order_id=str(n)) if n % 2 else b"oops"

    report = ValidationReport("enrich", max_errors=10)
    stream = validate_json_lines(source(), "enrich", report=report)
    first = [next(stream) for _ in range(3)]
    assert [json.loads(x)["order_id"] for x in first] == ["1", "3", "5"]
    assert seen == [1, 2, 3, 4, 5]  # nothing read ahead
    assert report.rows_total == 5 and report.rows_rejected == 2


def test_long_values_are_truncated_to_81_characters() -> None:
    report = ValidationReport("enrich")
    secret = "x" * 10_000
    lines = [(1, line(currency=secret)), (2, secret.encode())]
    assert list(validate_json_lines(lines, "enrich", report=report)) == []
    assert [e.field for e in report.errors] == ["currency", "<row>"]
    for error in report.errors:
        assert error.value is not None and len(error.value) == 81 and error.value.endswith("…")
    report.add(3, "f", "reason", "y" * 500)
    report.add(4, "f", "reason", {"email": "a@b.c" * 100})
    assert all(e.value is not None and len(e.value) <= 81 for e in report.errors)


def test_max_errors_caps_the_list_and_counts_the_rest() -> None:
    report = ValidationReport("enrich", max_errors=3)
    lines = [(n, line(sales_amount="x", profit_amount="y")) for n in range(1, 6)]
    assert list(validate_json_lines(lines, "enrich", report=report)) == []
    assert len(report.errors) == 3 and report.errors_dropped == 7
    assert report.rows_rejected == 5 and report.rows_total == 5
    assert report.to_dict()["errors_dropped"] == 7


def test_to_dict_is_json_serialisable() -> None:
    report = ValidationReport("enrich")
    list(validate_json_lines([(1, line()), (2, line(sales_amount="x"))], "enrich", report=report))
    data = json.loads(json.dumps(report.to_dict()))
    data["errors"][0]["reason"] = "REASON"  # pydantic's wording
    assert data == {
        "schema": "enrich",
        "rows_total": 2,
        "rows_valid": 1,
        "rows_rejected": 1,
        "errors": [
            {
                "row": 2,
                "field": "sales_amount",
                "reason": "REASON",
                "value": "'x'",
            }
        ],
        "errors_dropped": 0,
    }


def test_summary_text() -> None:
    report = ValidationReport("custom-site")
    report.rows_valid = 7
    report.add(4, "total_price", "Input should be a valid number", "'abc'")
    report.add(4, "id", "field required")
    report.add(9, "<row>", "not valid JSON: EOF while parsing", "'{'")
    report.add(10, "<row>", "expected a JSON object, got an array", "[]")
    assert report.rows_rejected == 3 and report.rows_total == 10
    assert report.summary(max_lines=3) == (
        "3 of 10 rows rejected (schema custom-site):\n"
        "  row 4, field 'total_price': Input should be a valid number (value: 'abc')\n"
        "  row 4, field 'id': field required\n"
        "  row 9: not valid JSON: EOF while parsing (value: '{')\n"
        "  … and 1 more error"
    )
    ok = ValidationReport("imported")
    ok.rows_valid = 2
    assert ok.ok and ok.summary() == "all 2 rows valid (schema imported)"


def test_validation_error_carries_the_summary() -> None:
    report = ValidationReport("enrich")
    report.add(1, "order_id", "field required")
    err = WorkMagicValidationError(report)
    assert err.report is report and "row 1, field 'order_id': field required" in str(err)


def test_merge_adds_counts_and_respects_the_cap() -> None:
    a = ValidationReport("enrich", max_errors=2)
    a.rows_valid = 5
    a.add(1, "f", "r1")
    b = ValidationReport("enrich", max_errors=2)
    b.rows_valid = 1
    b.add(1, "f", "r2")
    b.add(2, "f", "r3")
    b.add(3, "f", "r4")  # dropped in b already
    assert a.merge(b) is a
    assert (a.rows_valid, a.rows_rejected, a.rows_total) == (6, 4, 10)
    assert [e.reason for e in a.errors] == ["r1", "r2"]
    assert a.errors_dropped == 2
    with pytest.raises(WorkMagicConfigError):
        a.merge(ValidationReport("imported"))


def test_row_error_is_frozen_and_readable() -> None:
    error = RowError(3, "line_items.0.price", "Input should be a number", "'x'")
    with pytest.raises(AttributeError):
        error.row = 4  # type: ignore[misc]
    assert str(error) == "row 3, field 'line_items.0.price': Input should be a number (value: 'x')"
    assert error.to_dict() == {
        "row": 3,
        "field": "line_items.0.price",
        "reason": "Input should be a number",
        "value": "'x'",
    }


def test_rejected_rows_are_not_kept() -> None:
    report = ValidationReport("enrich", max_errors=0)
    lines = ((n, b"not json") for n in range(1, 2001))
    assert list(validate_json_lines(lines, "enrich", report=report)) == []
    assert report.errors == [] and report.errors_dropped == 2000 and report.rows_rejected == 2000
    assert not any(isinstance(v, list) and v for k, v in vars(report).items() if k != "errors")


def test_bad_max_errors() -> None:
    with pytest.raises(WorkMagicConfigError):
        ValidationReport("enrich", max_errors=-1)
