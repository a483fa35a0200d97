"""Hostile input through the readers, the schemas and the CLI: row errors, never a traceback.

Each test builds one kind of bad input the way a user's export would carry it and checks that
the row at fault is named, that every valid row is still written in skip mode, and that the
report's counts match what was read.
"""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path
from typing import Any

import pytest

from workmagic_provider.cli import main
from workmagic_provider.exceptions import WorkMagicConfigError
from workmagic_provider.files import jsonl
from workmagic_provider.files.readers import InputReader
from workmagic_provider.schemas import ValidationReport, validate_json_lines, validate_records

HOUR = "2026-03-08T02:00:00Z"
PREFIX = "account-121226/orders/2026/03/08/02/"
HEADER = (
    "date_type,date_code,geo_type,geo_code,sales_platform,sales_platform_type,country_code,"
    "orders,sales"
)


def order(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"o-{n}",
        "created_at": "2026-03-08T02:10:00Z",
        "updated_at": "2026-03-08T02:10:00Z",
        "total_price": 10 + n,
        **extra,
    }


def imported_line(n: int, platform: str = "Walmart") -> str:
    return f"DAILY,2026-03-02,ZIP,{n:05d},{platform},SECONDARY,US,1,{n}"


def read(path: Path, schema: str, **kwargs: Any) -> tuple[list[dict[str, Any]], ValidationReport]:
    report = ValidationReport(schema)
    reader = InputReader(schema, report, **kwargs)
    rows = [json.loads(r) for r in validate_json_lines(reader.read(path), schema, report=report)]
    report.errors.sort(key=lambda e: e.row)
    return rows, report


def errors(report: ValidationReport) -> list[tuple[int, str]]:
    return [(e.row, e.field) for e in report.errors]


def convert(source: Path, out: Path, *extra: str, schema: str = "custom-site") -> list[str]:
    return [
        "convert",
        str(source),
        "--schema",
        schema,
        "--account",
        "121226",
        "--category",
        "orders",
        "--hour",
        HOUR,
        "--out",
        str(out),
        *extra,
    ]


def written(out: Path) -> list[dict[str, Any]]:
    folder = out / PREFIX
    rows: list[dict[str, Any]] = []
    for part in sorted(folder.iterdir()):
        rows.extend(json.loads(x) for x in gzip.decompress(part.read_bytes()).splitlines())
    return rows


# ------------------------------------------------------------------ timestamps at the edges
@pytest.mark.parametrize("moment", ["0001-01-01T00:30:00+05:00", "9999-12-31T23:30:00-05:00"])
def test_timestamp_out_of_range_in_utc_is_a_row_error(tmp_path: Path, moment: str) -> None:
    source = tmp_path / "o.jsonl"
    source.write_text("\n".join(json.dumps(o) for o in [order(1), order(2, created_at=moment)]))
    assert main(convert(source, tmp_path / "out")) == 1
    assert [r["id"] for r in written(tmp_path / "out")] == ["o-1"]
    _, report = read(source, "custom-site")
    assert errors(report) == [(2, "created_at")]
    assert "out of range once converted to UTC" in report.errors[0].reason


def test_path_with_an_hour_out_of_range_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["path", "--account", "1", "--category", "c", "--hour", "9999-12-31T23:30:00-05:00"]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "out of range once converted to UTC" in captured.err


# ------------------------------------------------------------------ CSV quotes and fields
def test_unterminated_quote_costs_only_its_own_row(tmp_path: Path) -> None:
    lines = [HEADER] + [imported_line(n) for n in range(1, 200)]
    lines[11] = imported_line(11, platform='"Walmart, Inc.')  # never closed
    lines[60] = imported_line(60, platform='"Target, Inc."')  # a later quote closes nothing
    source = tmp_path / "sales.csv"
    source.write_text("\n".join(lines) + "\n")
    rows, report = read(source, "imported")
    assert errors(report) == [(12, "<row>")]
    assert "quoted field opened on line 12" in report.errors[0].reason
    assert len(rows) == 198 and report.rows_total == 199 and report.rows_rejected == 1
    assert any(r["sales_platform"] == "Target, Inc." for r in rows)


def test_quote_open_at_the_end_of_the_file_costs_only_its_row(tmp_path: Path) -> None:
    lines = [HEADER] + [imported_line(n) for n in range(1, 30)]
    lines[5] = imported_line(5, platform='"Walmart')
    source = tmp_path / "sales.csv"
    source.write_text("\n".join(lines) + "\n")
    rows, report = read(source, "imported")
    assert errors(report) == [(6, "<row>")] and len(rows) == 28
    assert "never closed" in report.errors[0].reason


def test_quoted_line_breaks_within_the_limit_are_one_record(tmp_path: Path) -> None:
    source = tmp_path / "sales.csv"
    source.write_text(
        HEADER + "\n" + imported_line(1, platform='"Walmart,\nInc."') + "\n" + imported_line(2)
    )
    rows, report = read(source, "imported")
    assert report.ok, report.summary()
    assert [r["sales_platform"] for r in rows] == ["Walmart,\nInc.", "Walmart"]
    assert report.rows_total == 2


def test_a_quoted_field_may_span_at_most_max_record_lines(tmp_path: Path) -> None:
    from workmagic_provider.files.csv_reader import iter_csv_records

    body = "a,b\n" + '1,"x' + "\nmore" * 5 + '"\n' + "2,y\n"
    problems: list[tuple[int, str]] = []
    import io

    def problem(line: int, reason: str, text: str) -> None:
        problems.append((line, reason))

    stream = io.BufferedReader(io.BytesIO(body.encode()))  # type: ignore[arg-type]
    records = list(iter_csv_records(stream, problem=problem, max_record_lines=3))
    assert problems and problems[0][0] == 2 and "not closed within 3 lines" in problems[0][1]
    assert (8, ["2", "y"]) in records  # reading went on after the bad record


def test_csv_field_over_the_csv_module_limit_is_a_row_error(tmp_path: Path) -> None:
    lines = [HEADER, imported_line(1), imported_line(2, platform="W" * 200_000), imported_line(3)]
    source = tmp_path / "sales.csv"
    source.write_text("\n".join(lines) + "\n")
    assert main(convert(source, tmp_path / "out", schema="imported")) == 1
    assert [r["geo_code"] for r in written(tmp_path / "out")] == ["00001", "00003"]
    assert main(["validate", str(source), "--schema", "imported"]) == 1
    _, report = read(source, "imported")
    assert errors(report) == [(3, "<row>")] and "field limit" in report.errors[0].reason


# ------------------------------------------------------------------ encodings and line ends
def test_latin1_byte_names_its_csv_line_and_the_rest_is_read(tmp_path: Path) -> None:
    lines = [HEADER.encode()] + [imported_line(n).encode() for n in range(1, 8)]
    lines[5] = imported_line(5, platform="Caf\xe9").encode("latin-1")
    source = tmp_path / "sales.csv"
    source.write_bytes(b"\n".join(lines) + b"\n")
    rows, report = read(source, "imported")
    assert errors(report) == [(6, "<row>")] and len(rows) == 6
    assert "line 6 is not UTF-8 text (byte 0xe9 at column" in report.errors[0].reason


def test_latin1_byte_in_json_lines_is_that_rows_error(tmp_path: Path) -> None:
    lines = [json.dumps(order(n)).encode() for n in range(1, 5)]
    lines[2] = json.dumps(order(3, note="Caf\xe9"), ensure_ascii=False).encode("latin-1")
    source = tmp_path / "o.jsonl"
    source.write_bytes(b"\n".join(lines))
    rows, report = read(source, "custom-site")
    assert errors(report) == [(3, "<row>")] and len(rows) == 3


@pytest.mark.parametrize("ending", [b"\r", b"\r\n", b"mixed"])
def test_line_endings_read_like_lf(tmp_path: Path, ending: bytes) -> None:
    csv_lines = [HEADER.encode()] + [imported_line(n).encode() for n in range(1, 6)]
    json_lines = [json.dumps(order(n)).encode() for n in range(1, 6)]
    for name, lines, schema in (
        ("s.csv", csv_lines, "imported"),
        ("o.jsonl", json_lines, "custom-site"),
    ):
        endings = [b"\r", b"\n", b"\r\n"] if ending == b"mixed" else [ending]
        data = b"".join(line + endings[i % len(endings)] for i, line in enumerate(lines))
        (tmp_path / ("lf-" + name)).write_bytes(b"\n".join(lines) + b"\n")
        (tmp_path / name).write_bytes(data)
        assert read(tmp_path / name, schema)[0] == read(tmp_path / ("lf-" + name), schema)[0]
        assert read(tmp_path / name, schema)[1].ok


def test_bom_at_the_start_of_a_concatenated_part_is_read(tmp_path: Path) -> None:
    part = lambda a, b: "\ufeff" + "\n".join(json.dumps(order(n)) for n in range(a, b)) + "\n"  # noqa: E731
    source = tmp_path / "o.jsonl"
    source.write_text(part(1, 4) + part(4, 7), encoding="utf-8")
    rows, report = read(source, "custom-site")
    assert report.ok, report.summary()
    assert [r["id"] for r in rows] == [f"o-{n}" for n in range(1, 7)]


# ------------------------------------------------------------------ JSON Lines shapes
def test_consecutive_non_object_lines_are_separate_row_errors(tmp_path: Path) -> None:
    source = tmp_path / "o.jsonl"
    source.write_text(
        "\n".join([json.dumps(order(1)), "oops", "[1, 2]", "42", json.dumps(order(5))])
    )
    rows, report = read(source, "custom-site")
    assert errors(report) == [(2, "<row>"), (3, "<row>"), (4, "<row>")]
    assert [r["id"] for r in rows] == ["o-1", "o-5"]


def test_deep_nesting_in_the_first_record_is_a_row_error(tmp_path: Path) -> None:
    deep = json.dumps(order(1))[:-1] + ', "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    source = tmp_path / "o.jsonl"
    source.write_text(deep + "\n" + json.dumps(order(2)) + "\n")
    rows, report = read(source, "custom-site")
    assert errors(report) == [(1, "<row>")] and [r["id"] for r in rows] == ["o-2"]
    assert main(convert(source, tmp_path / "out")) == 1
    assert [r["id"] for r in written(tmp_path / "out")] == ["o-2"]


def test_multi_line_object_is_read_with_linear_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 117 KB object over ~6,000 lines: every byte is scanned a bounded number of times."""
    big = order(2, items=[{"n": n, "tags": {"a": {"b": n}}} for n in range(1600)])
    text = json.dumps(order(1)) + "\n" + json.dumps(big, indent=1) + "\n" + json.dumps(order(3))
    assert 100_000 < len(text) < 140_000
    source = tmp_path / "o.jsonl"
    source.write_text(text)
    work = {"parsed": 0, "scanned": 0}
    loads, depth = jsonl.json.loads, jsonl.bracket_depth

    def counting_loads(raw: Any, *args: Any, **kwargs: Any) -> Any:
        work["parsed"] += len(raw)
        return loads(raw, *args, **kwargs)

    def counting_depth(line: bytes) -> int:
        work["scanned"] += len(line)
        return depth(line)

    monkeypatch.setattr(jsonl.json, "loads", counting_loads)
    monkeypatch.setattr(jsonl, "bracket_depth", counting_depth)
    lines = list(jsonl.iter_lines(source.open("rb")))
    monkeypatch.undo()
    assert [n for n, _ in lines] == [1, 2, text.count("\n") + 1]
    assert json.loads(lines[1][1]) == big
    assert work["parsed"] <= len(json.dumps(order(1)))  # the first record, checked once
    assert work["scanned"] <= len(text)  # each line of the object once


# ------------------------------------------------------------------ values JSON cannot hold
@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ('"x": NaN', "x"),
        ('"x": -Infinity', "x"),
        ('"x": {"y": [1, 1e400]}', "x.y.1"),
        ('"x": 1, "x": 2', "x"),
        ('"id": "o-9"', "id"),
        ('"line_items": [{"title": "a", "title": "b"}]', "line_items.0.title"),
    ],
)
def test_non_finite_numbers_and_repeated_keys_are_row_errors(extra: str, field: str) -> None:
    good = json.dumps(order(1)).encode()
    bad = (json.dumps(order(2))[:-1] + ", " + extra + "}").encode()
    report = ValidationReport("custom-site")
    out = list(validate_json_lines([(1, good), (2, bad)], "custom-site", report=report))
    assert len(out) == 1 and json.loads(out[0])["id"] == "o-1"
    assert errors(report) == [(2, field)]


def test_strings_that_look_like_constants_pass_unchanged() -> None:
    row = order(1, note="NaN Infinity null", tags=[None, 'a":b'], nested={"k": "v"})
    report = ValidationReport("custom-site")
    out = list(validate_json_lines([(1, json.dumps(row))], "custom-site", report=report))
    assert report.ok, report.summary()
    written_row = json.loads(out[0])
    assert written_row["note"] == "NaN Infinity null" and written_row["tags"] == [None, 'a":b']


def test_non_finite_python_floats_in_records_are_row_errors() -> None:
    report = ValidationReport("custom-site")
    records = [(1, order(1)), (2, order(2, score=float("nan")))]
    assert len(list(validate_records(records, "custom-site", report=report))) == 1
    assert errors(report) == [(2, "score")]


# ------------------------------------------------------------------ rows too large for a part
def test_row_too_large_for_a_part_is_its_error_in_validate_and_convert(tmp_path: Path) -> None:
    blob = random.Random(7).randbytes(3000).hex()
    source = tmp_path / "o.jsonl"
    source.write_text(
        "\n".join(json.dumps(o) for o in [order(1), order(2, blob=blob), order(3)]) + "\n"
    )
    assert main(convert(source, tmp_path / "out", "--max-part-bytes", "2000")) == 1
    assert [r["id"] for r in written(tmp_path / "out")] == ["o-1", "o-3"]
    fail_out = tmp_path / "fail"
    assert main(convert(source, fail_out, "--max-part-bytes", "2000", "--on-invalid", "fail")) == 1
    assert not (fail_out / PREFIX).exists() or not any((fail_out / PREFIX).iterdir())
    argv = ["validate", str(source), "--schema", "custom-site", "--max-part-bytes", "2000"]
    assert main([*argv, "--format", "json"]) == 1


def test_validate_names_the_oversized_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blob = random.Random(7).randbytes(3000).hex()
    source = tmp_path / "o.jsonl"
    source.write_text("\n".join(json.dumps(o) for o in [order(1), order(2, blob=blob)]) + "\n")
    argv = ["validate", str(source), "--schema", "custom-site", "--max-part-bytes", "2000"]
    assert main([*argv, "--format", "json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert [(e["row"], e["field"]) for e in document["errors"]] == [(2, "<row>")]
    assert "cannot fit in one part under 2000 bytes" in document["errors"][0]["reason"]
    assert document["rows_valid"] == 1 and document["rows_rejected"] == 1


# ------------------------------------------------------------------ CLI contract
def test_internal_error_exits_3_with_a_trace_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from workmagic_provider import cli

    def broken(args: Any) -> int:
        raise RuntimeError("a bug")

    monkeypatch.setitem(cli.COMMANDS, "path", broken)
    assert main(["path", "--account", "1", "--category", "c", "--hour", HOUR]) == 3
    captured = capsys.readouterr()
    assert captured.out == "" and "RuntimeError: a bug" in captured.err
    assert "internal error" in captured.err


def test_convert_stdout_is_one_json_document(tmp_path: Path) -> None:
    """Through the installed console script, so Airflow's logging set-up takes part."""
    import subprocess
    import sys

    source = tmp_path / "o.jsonl"
    source.write_text(json.dumps(order(1)) + "\n" + json.dumps({"id": "x"}) + "\n")
    script = Path(sys.executable).with_name("workmagic-provider")
    done = subprocess.run(
        [str(script), *convert(source, tmp_path / "out")], capture_output=True, timeout=120
    )
    assert done.returncode == 1, done.stderr.decode()
    summary = json.loads(done.stdout)  # the whole of stdout: nothing before or after
    assert summary["rows"] == 2 and summary["rejected"] == 1
    assert b"rows rejected" in done.stderr


def test_second_excel_sheet_with_rows_is_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    first = book.active
    for line in [HEADER, imported_line(1)]:
        first.append(line.split(","))
    book.create_sheet("March").append(imported_line(2).split(","))
    book.create_sheet("Empty")
    path = tmp_path / "sales.xlsx"
    book.save(path)
    assert main(["validate", str(path), "--schema", "imported", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["rows_valid"] == 1
    assert len(document["warnings"]) == 1 and "'March'" in document["warnings"][0]


# ------------------------------------------------------------------ settings
def test_setup_sql_refuses_a_role_arn_that_is_not_an_arn(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["setup-sql", "snowflake", "--account", "121226", "--external-id", "e"]
    assert main([*argv, "--role-arn", "AmazonS3FolderAccess121226"]) == 2
    assert "role ARN must look like arn:aws:iam::" in capsys.readouterr().err
    assert main([*argv, "--role-arn", "arn:aws:iam::588759585297:role/AmazonS3FolderAccess1"]) == 0


def test_window_macros_in_a_comment_do_not_satisfy_require_window() -> None:
    from workmagic_provider.warehouse.sql_common import user_select

    tokens = ("@window_start", "@window_end")
    sql = "SELECT * FROM t -- WHERE ts >= @window_start AND ts < @window_end"
    with pytest.raises(WorkMagicConfigError, match="must select rows of the run's window"):
        user_select(sql, "bigquery", tokens)
    with pytest.raises(WorkMagicConfigError, match="must select rows of the run's window"):
        user_select("SELECT * FROM t /* @window_start @window_end */", "bigquery", tokens)
    ok = "SELECT * FROM t WHERE ts >= @window_start AND ts < @window_end AND s = '--'"
    assert user_select(ok, "bigquery", tokens) == ok


def test_unterminated_block_comment_is_a_config_error() -> None:
    from workmagic_provider.warehouse.sql_common import user_select

    with pytest.raises(WorkMagicConfigError, match="does not parse as snowflake SQL"):
        user_select("SELECT * FROM t /* where", "snowflake", ())


def test_non_ascii_api_key_is_a_config_error_without_the_key() -> None:
    from workmagic_provider.hooks.api import ApiEndpoint

    key = "wm-s3cr3t-k\u00e9y"
    with pytest.raises(WorkMagicConfigError) as caught:
        ApiEndpoint(
            name="Enrich Order API",
            base_url="http://127.0.0.1:1",
            path="/enrich/orders",
            auth_header="Authorization",
            auth_value=f"Bearer {key}",
            id_field="order_id",
        )
    assert "cannot carry" in str(caught.value)
    assert key not in str(caught.value) and all(key not in str(a) for a in caught.value.args)
    assert caught.value.__cause__ is None and caught.value.__context__ is None


def test_strict_json_can_be_turned_off_for_trusted_exports() -> None:
    from workmagic_provider.schemas import SchemaOptions

    bad = (json.dumps(order(2))[:-1] + ', "x": 1, "x": 2}').encode()
    report = ValidationReport("custom-site")
    lenient = SchemaOptions(strict_json=False)
    lines = validate_json_lines([(1, bad)], "custom-site", report=report, options=lenient)
    assert json.loads(next(iter(lines)))["x"] == 2 and report.ok


def test_objects_pretty_printed_without_indent_are_read_whole(tmp_path: Path) -> None:
    """``json.dumps(indent=0)`` puts nested objects' ``{`` in column 0 too."""
    big = order(2, items=[{"n": 1}, {"n": 2}], address={"zip": "02134"})
    source = tmp_path / "o.jsonl"
    source.write_text(
        "\n".join([json.dumps(order(1)), json.dumps(big, indent=0), json.dumps(order(3))])
    )
    rows, report = read(source, "custom-site")
    assert report.ok, report.summary()
    assert [r["id"] for r in rows] == ["o-1", "o-2", "o-3"] and rows[1]["items"] == big["items"]
