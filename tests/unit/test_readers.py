"""Readers over the fixture corpus in tests/data/files: every R-rule and cleaning rule.

Each failing file asserts the exact row and field in the report; passing files assert the
exact output. CSV and Excel of the same data must give byte-identical parts.
"""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from workmagic_provider.cli import main
from workmagic_provider.exceptions import WorkMagicInputError
from workmagic_provider.files.readers import InputReader, detect_format
from workmagic_provider.files.unique_keys import validated_unique
from workmagic_provider.schemas import SchemaOptions, ValidationReport

DATA = Path(__file__).resolve().parents[1] / "data" / "files"


def read(
    name: str | Path, schema: str, **kwargs: Any
) -> tuple[list[dict[str, Any]], ValidationReport, InputReader]:
    report = ValidationReport(schema)
    reader = InputReader(schema, report, **kwargs)
    path = name if isinstance(name, Path) else DATA / name
    lines = reader.read(path)
    options = kwargs.get("options")
    valid = validated_unique(lines, schema, report=report, options=options)
    rows = [json.loads(line) for _, line in valid]
    report.errors.sort(key=lambda e: e.row)
    return rows, report, reader


def errors(report: ValidationReport) -> list[tuple[int, str]]:
    return [(e.row, e.field) for e in report.errors]


def to_xlsx(source: Path, target: Path, numbers: bool = True) -> Path:
    """Write a CSV as the first sheet of a workbook (numbers as numbers, like a user's sheet)."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Orders"
    with source.open(newline="", encoding="utf-8-sig") as handle:
        sample = handle.read(4096)
        handle.seek(0)
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
        for n, row in enumerate(csv.reader(handle, dialect)):
            cells: list[Any] = []
            for value in row:
                if numbers and n and value.isdigit() and not value.startswith("0"):
                    cells.append(int(value))
                else:
                    cells.append(value or None)
            sheet.append(cells)
    book.create_sheet("Ignored").append(["not", "read"])
    book.save(target)
    return target


# --------------------------------------------------------------------------- R1 formats
@pytest.mark.parametrize(
    "name",
    [
        "imported_comma.csv",
        "imported_tab.tsv",
        "imported_pipe.csv",
        "imported_labels_semicolon.csv",
    ],
)
def test_delimiters_bom_and_header_labels_are_detected(name: str) -> None:
    rows, report, reader = read(name, "imported")
    assert report.ok, report.summary()
    assert rows and rows[0]["date_type"] == "DAILY" and rows[0]["geo_code"] == "02134"
    assert reader.formats == {"csv": 1}


def test_quoted_delimiter_and_thousands_inside_quotes() -> None:
    rows, _, _ = read("imported_comma.csv", "imported")
    assert rows == [
        {
            "date_type": "DAILY",
            "date_code": "2026-03-02",
            "geo_type": "ZIP",
            "geo_code": "02134",
            "sales_platform": "Walmart, Inc.",
            "sales_platform_type": "SECONDARY",
            "country_code": "US",
            "orders": 1,
            "sales": 1000.0,
        }
    ]


def test_undetectable_delimiter_is_an_input_error_naming_line_1() -> None:
    with pytest.raises(WorkMagicInputError, match=r"line 1 .*comma, semicolon, tab or pipe"):
        read("fail_no_delimiter.csv", "imported")


def test_ragged_rows_are_rejected_naming_the_line() -> None:
    rows, report, _ = read("fail_ragged.csv", "imported")
    assert errors(report) == [(3, "<row>"), (4, "<row>")]
    assert "8 fields but the header has 9" in report.errors[0].reason
    assert [r["date_code"] for r in rows] == ["2026-03-02", "2026-03-05"]  # R9: others pass


def test_repeated_header_names_are_an_input_error() -> None:
    with pytest.raises(WorkMagicInputError, match="'Date Code' and 'date_code' both name"):
        read("fail_duplicate_header.csv", "imported")


def test_json_lines_multi_line_objects_keep_their_first_line_number() -> None:
    rows, report, reader = read("orders_multiline.jsonl", "custom-site")
    assert [r["id"] for r in rows] == ["J-1", "J-2", "J-4"]
    assert rows[1]["line_items"] == [{"title": "Hat", "quantity": 1}]
    assert errors(report) == [(12, "total_price")]
    assert reader.formats == {"jsonl": 1}


def test_json_lines_unclosed_object_does_not_swallow_the_next(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text(
        '{"id": "1", "created_at": "2026-03-08T02:10:00Z", "updated_at": "2026-03-08T02:10:00Z",'
        ' "total_price": 1}\n{"id": "2",\n "total_price": 1\n{"id": "3", "created_at": '
        '"2026-03-08T02:10:00Z", "updated_at": "2026-03-08T02:10:00Z", "total_price": 3}\n'
    )
    rows, report, _ = read(path, "custom-site")
    assert [r["id"] for r in rows] == ["1", "3"]
    assert [(e.row, e.field) for e in report.errors] == [(2, "<row>")]


def test_format_is_detected_from_content() -> None:
    assert detect_format(b"PK\x03\x04rest") == "excel"
    assert detect_format(b'\xef\xbb\xbf  {"a": 1}') == "jsonl"
    assert detect_format(b"a;b\n1;2\n") == "csv"
    with pytest.raises(WorkMagicInputError, match=r"\.xls"):
        detect_format(b"\xd0\xcf\x11\xe0....")


def test_gzipped_csv_is_read(tmp_path: Path) -> None:
    packed = tmp_path / "rows.csv.gz"
    packed.write_bytes(gzip.compress((DATA / "imported_tab.tsv").read_bytes()))
    rows, report, _ = read(packed, "imported")
    assert report.ok and len(rows) == 1


# --------------------------------------------------------------------------- cleaning
def test_every_cleaning_rule_is_applied_and_counted() -> None:
    rows, report, reader = read("imported_labels_semicolon.csv", "imported")
    assert report.ok, report.summary()
    codes = [(r["date_code"], r["geo_code"], r["orders"], r["sales"]) for r in rows]
    assert codes == [
        ("2026-03-02", "02134", 12, 1234.5),
        ("2026-03-02", "10001", 1200, 1234.5),  # M/D/Y, ZIP+4, thousands, $ and ,
        ("2026-03-03", "02134", 7, 70.0),  # time stripped, ZIP zero-padded, spaces, ¥
        ("2026-03-02", "501", 40, 4000.0),  # YYYYWW -> Monday of ISO week 10, ₹
        ("2026-03-01", "501", 5, 50.0),  # YYYYMM -> month start
        ("2026-03-02", "203.0.113.9", 1, 9.99),  # D.M.Y
        ("2026-03-04", "02134", 1, 1.0),  # YYYYMMDD, ₩
        ("2026-03-05", "02134", 1, 1.0),  # month name, ¢
        ("2026-03-25", "02134", 1, 1.0),  # first number > 12: day first
    ]
    assert rows[1]["profit"] == -5.0 and rows[1]["new_customer_orders"] == 2
    assert rows[1]["new_customer_sales"] == 20.0 and rows[0]["geo_name"] == "Allston"
    assert reader.cleaned == {
        "currency_symbol": 7,
        "date_format": 6,
        "integer_decimal": 1,
        "month_code": 1,
        "thousands_separator": 3,
        "time_stripped": 1,
        "week_code": 1,
        "whitespace": 1,
        "zip_plus4": 1,
        "zip_zero_padded": 1,
    }


def test_week_code_follows_the_configured_week_start(tmp_path: Path) -> None:
    path = tmp_path / "w.csv"
    path.write_text(
        "date_type,date_code,geo_type,geo_code,sales_platform,sales_platform_type,country_code,"
        "orders,sales\nWEEKLY,202610,DMA,501,Amazon,SECONDARY,US,1,1\n"
    )
    rows, report, _ = read(path, "imported", options=SchemaOptions(week_start="SUNDAY"))
    assert report.ok and rows[0]["date_code"] == "2026-03-01"  # the Sunday before


def test_day_first_option(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text(
        "date_type,date_code,geo_type,geo_code,sales_platform,sales_platform_type,country_code,"
        "orders,sales\nDAILY,03/02/2026,DMA,501,Amazon,SECONDARY,US,1,1\n"
    )
    rows, _, _ = read(path, "imported", day_first=True)
    assert rows[0]["date_code"] == "2026-02-03"


def test_bad_enums_and_uncleanable_values_name_row_and_field() -> None:
    rows, report, _ = read("fail_bad_enums.csv", "imported")
    assert len(rows) == 1
    assert errors(report) == [
        (3, "date_type"),
        (4, "geo_type"),
        (5, "sales_platform_type"),
        (6, "country_code"),
        (7, "orders"),
        (7, "sales"),
    ]


def test_unknown_column_names_the_nearest_field() -> None:
    _, report, _ = read("fail_unknown_column.csv", "imported")
    assert (2, "salse") in errors(report)
    assert "did you mean 'sales'" in next(e.reason for e in report.errors if e.field == "salse")


# --------------------------------------------------------------------------- R2-R6 grouping
def test_rows_grouped_by_unique_id_with_custom_fields_and_multi_values() -> None:
    rows, report, _ = read("orders_unique_id.csv", "custom-site")
    assert report.ok, report.summary()
    assert [r["id"] for r in rows] == ["A-1", "A-2"]  # unique_id wins over order_ref (R4)
    first = rows[0]
    assert first["order_number"] == "1001"
    assert first["updated_at"] == "2026-03-08T01:15:00Z"
    assert first["shipping_address"] == {"zip": "02134"}
    assert first["line_items"] == [
        {"title": "Shirt\n(blue)", "price": 19.95, "quantity": 2},  # quoted line break
        {"title": "Socks", "price": 20.0, "quantity": 1},  # blank order columns (R3)
    ]
    assert first["discount_codes"] == [{"code": "SPRING"}, {"code": "VIP"}]  # R6
    assert first["custom_fields"] == {  # R5
        "gift_note": "Happy birthday, Ann",
        "sales_channel": [{"id": "3"}, {"id": "7"}],
    }
    assert rows[1]["custom_fields"] == {"sales_channel": {"id": "2"}}


def test_rows_grouped_by_order_ref_which_becomes_the_id() -> None:
    rows, report, _ = read("orders_order_ref.csv", "custom-site")
    assert report.ok, report.summary()
    assert [(r["id"], r["order_number"], len(r["line_items"])) for r in rows] == [
        ("R-1", "R-1", 2),
        ("R-2", "R-2", 1),
    ]


def test_file_without_key_is_one_order() -> None:
    report = ValidationReport("custom-site")
    reader = InputReader("custom-site", report)
    records = [json.loads(line) for _, line in reader.read(DATA / "orders_single_no_key.csv")]
    assert len(records) == 1
    assert [i["title"] for i in records[0]["line_items"]] == ["Hat", "Scarf", "Gloves"]
    assert report.ok


def test_two_orders_without_key_is_an_error_on_the_second_line() -> None:
    rows, report, _ = read("fail_two_orders_no_key.csv", "custom-site")
    assert rows == []
    assert errors(report) == [(3, "created_at")]
    assert "must be one order" in report.errors[0].reason


def test_conflicting_repeat_rejects_the_order_at_the_line_and_field() -> None:
    rows, report, _ = read("fail_conflict.csv", "custom-site")
    assert [r["id"] for r in rows] == ["C-2"]
    assert errors(report) == [(4, "total_price")]
    assert "conflicts with '30' on line 2" in report.errors[0].reason
    assert report.rows_rejected == 1 and report.rows_total == 2


def test_blank_grouping_key_is_an_error() -> None:
    rows, report, _ = read("fail_blank_key.csv", "custom-site")
    assert [r["id"] for r in rows] == ["B-2"]
    assert errors(report) == [(3, "order_number")]


# --------------------------------------------------------------------------- R8 duplicates
def test_duplicate_order_ids_within_a_file() -> None:
    rows, report, _ = read("fail_duplicate_ids.csv", "custom-site")
    assert [r["id"] for r in rows] == ["D-1", "D-2"]
    assert errors(report) == [(4, "id")]
    assert "row 2 already has it" in report.errors[0].reason


def test_duplicate_primary_keys_after_cleaning() -> None:
    rows, report, _ = read("fail_duplicate_keys.csv", "imported")
    assert len(rows) == 2
    assert errors(report) == [(4, "<row>")]
    assert "duplicate primary key" in report.errors[0].reason


def test_duplicates_in_json_lines_are_rejected_like_csv(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    line = (
        '{"order_id": "1", "order_timestamp": "2026-03-08T02:00:00Z", "sales_amount": 1,'
        ' "profit_amount": 1}\n'
    )
    path.write_text(line * 2)
    rows, report, _ = read(path, "enrich")
    assert len(rows) == 1
    assert errors(report) == [(2, "order_id")]
    assert "row 1 already has it" in report.errors[0].reason


def test_keys_are_unique_across_the_files_of_one_import() -> None:
    report = ValidationReport("imported")
    reader = InputReader("imported", report)

    def both() -> Any:
        last = yield from reader.read(DATA / "fail_ragged.csv")
        assert last == 5  # rows of the next file are numbered after this file's last line
        yield from reader.read(DATA / "fail_duplicate_keys.csv", offset=last)

    valid = validated_unique(both(), "imported", report=report)
    assert [row for row, _ in valid] == [2, 5, 8]
    report.errors.sort(key=lambda e: e.row)
    # rows 7 and 9 (lines 2 and 4 of the second file) repeat row 2's primary key
    assert [(e.row, e.field) for e in report.errors] == [
        (3, "<row>"),
        (4, "<row>"),
        (7, "<row>"),
        (9, "<row>"),
    ]


# --------------------------------------------------------------------------- Excel
def test_excel_first_sheet_is_read(tmp_path: Path) -> None:
    book = to_xlsx(DATA / "orders_unique_id.csv", tmp_path / "orders.xlsx")
    rows, report, reader = read(book, "custom-site")
    assert report.ok, report.summary()
    assert reader.formats == {"excel": 1}
    assert rows == read("orders_unique_id.csv", "custom-site")[0]


def test_excel_dates_and_numbers_read_like_csv(tmp_path: Path) -> None:
    import datetime as dt

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(
        [
            "Date Type",
            "Date Code",
            "Geo Type",
            "Geo Code",
            "Sales Platform",
            "Platform Type",
            "Country Code",
            "Orders",
            "Sales",
        ]
    )
    sheet.append(
        ["DAILY", dt.datetime(2026, 3, 2), "ZIP", 2134, "Walmart", "SECONDARY", "US", 3.0, 12.5]
    )
    sheet.append([None] * 9)  # blank rows are skipped
    sheet.append(["DAILY", dt.date(2026, 3, 3), "ZIP", "02134", "Walmart", "SECONDARY", "US", 1, 1])
    book.save(tmp_path / "s.xlsx")
    rows, report, reader = read(tmp_path / "s.xlsx", "imported")
    assert report.ok, report.summary()
    assert [(r["date_code"], r["geo_code"], r["orders"], r["sales"]) for r in rows] == [
        ("2026-03-02", "02134", 3, 12.5),
        ("2026-03-03", "02134", 1, 1.0),
    ]
    assert reader.cleaned == {"zip_zero_padded": 1}


def test_not_a_workbook_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"\0" * 100)
    with pytest.raises(WorkMagicInputError, match=r"not a readable \.xlsx"):
        read(path, "imported")


@pytest.mark.parametrize(
    ("source", "schema"),
    [("imported_labels_semicolon.csv", "imported"), ("orders_unique_id.csv", "custom-site")],
)
def test_csv_and_excel_of_the_same_data_give_byte_identical_parts(
    tmp_path: Path, source: str, schema: str
) -> None:
    book = to_xlsx(DATA / source, tmp_path / "same.xlsx")
    outputs = []
    for n, path in enumerate([DATA / source, book]):
        out = tmp_path / f"out{n}"
        code = main(
            [
                "convert",
                str(path),
                "--schema",
                schema,
                "--account",
                "121226",
                "--category",
                "order-geo-date-data",
                "--hour",
                "2026-03-08T02:00:00Z",
                "--out",
                str(out),
            ]
        )
        assert code == 0
        outputs.append([p.read_bytes() for p in sorted(out.rglob("*.json.gz"))])
    assert outputs[0] and outputs[0] == outputs[1]


# --------------------------------------------------------------------------- CLI
def test_cli_validate_csv_json_report_with_cleaning(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "validate",
            str(DATA / "fail_duplicate_keys.csv"),
            "--schema",
            "imported",
            "--format",
            "json",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 1
    assert [(e["row"], e["field"]) for e in out["errors"]] == [(4, "<row>")]
    assert out["cleaned"] == {"date_format": 1, "zip_plus4": 1}


def test_cli_convert_skip_writes_valid_rows_and_rejected_sidecar(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rejected = tmp_path / "rejected.jsonl"
    code = main(
        [
            "convert",
            str(DATA / "fail_ragged.csv"),
            "--schema",
            "imported",
            "--account",
            "1",
            "--category",
            "order-geo-date-data",
            "--hour",
            "2026-03-08T02:00:00Z",
            "--out",
            str(tmp_path / "out"),
            "--rejected",
            str(rejected),
        ]
    )
    summary = json.loads(capsys.readouterr().out)
    assert code == 1 and summary["rows_written"] == 2 and summary["rejected"] == 2
    sidecar = [json.loads(line) for line in rejected.read_text().splitlines()]
    assert [r["date_code"] for r in sidecar] == ["2026-03-03", "2026-03-04"]


def test_cli_unusable_csv_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(DATA / "fail_no_delimiter.csv"), "--schema", "imported"]) == 2
    assert "delimiter" in capsys.readouterr().err
