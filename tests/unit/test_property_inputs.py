"""Property tests: any bytes, any JSON values, through the readers and the schemas.

Two properties, over inputs hypothesis makes up:

* nothing raises but our own errors (``WorkMagicError``: an unusable file), whatever the bytes;
  every row read is counted valid or rejected;
* a row that is accepted keeps its values: pass-through fields come out exactly as they went in
  (JSON Lines, CSV cells), never rounded, nulled or merged; only a top-level null field is
  left out (documented: absent and null fields are not written).
"""

from __future__ import annotations

import csv
import io
import json
import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workmagic_provider.exceptions import WorkMagicError
from workmagic_provider.files.csv_reader import iter_csv_records
from workmagic_provider.files.readers import InputReader
from workmagic_provider.files.unique_keys import validated_unique
from workmagic_provider.schemas import ValidationReport, validate_json_lines, validate_records

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SCHEMAS = ("custom-site", "imported", "enrich")

REQUIRED = {
    "id": "o-1",
    "created_at": "2026-03-08T02:10:00+02:00",
    "updated_at": "2026-03-08T02:10:00Z",
    "total_price": "12.5",
}

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


class Bytes:
    """An input that is just bytes (anything with ``open("rb")`` is one)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def open(self, mode: str = "rb") -> io.BufferedReader:
        return io.BufferedReader(io.BytesIO(self.data))  # type: ignore[arg-type]

    def __str__(self) -> str:
        return "generated-input"


def _finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    return True


def _read_all(data: bytes, schema: str, input_format: str) -> ValidationReport:
    report = ValidationReport(schema)
    reader = InputReader(schema, report, input_format=input_format)
    try:
        for _ in validated_unique(reader.read(Bytes(data)), schema, report=report):
            pass
    except WorkMagicError:
        pass  # an unusable file: one clear error is the contract
    return report


@SETTINGS
@given(
    data=st.binary(max_size=600)
    | st.text(alphabet='{}[]",:;|\t\r\n \ufeffaé1\\', max_size=300).map(str.encode),
    schema=st.sampled_from(SCHEMAS),
    input_format=st.sampled_from(("auto", "csv", "jsonl")),
)
def test_any_bytes_raise_only_our_errors(data: bytes, schema: str, input_format: str) -> None:
    report = _read_all(data, schema, input_format)
    assert report.rows_total == report.rows_valid + report.rows_rejected


@SETTINGS
@given(extra=st.dictionaries(st.text(max_size=6).map(lambda k: "x_" + k), json_values, max_size=5))
def test_accepted_json_lines_keep_their_pass_through_values(extra: dict[str, Any]) -> None:
    row = {**REQUIRED, **extra}
    text = json.dumps(row, allow_nan=True)
    report = ValidationReport("custom-site")
    out = list(validate_json_lines([(1, text.encode())], "custom-site", report=report))
    if not _finite(extra):
        assert out == [] and report.rows_rejected == 1  # never written as null
        return
    assert report.ok, report.summary()
    written = json.loads(out[0])
    for key, value in extra.items():
        if value is None:
            assert key not in written
        else:
            assert written[key] == value


@SETTINGS
@given(records=st.lists(st.dictionaries(st.text(max_size=10), json_values, max_size=6), max_size=5))
def test_any_records_are_row_errors_or_rows(records: list[dict[str, Any]]) -> None:
    for schema in SCHEMAS:
        report = ValidationReport(schema)
        out = list(validate_records(enumerate(records, 1), schema, report=report))
        assert len(out) == report.rows_valid and report.rows_total == len(records)


cells = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)


@SETTINGS
@given(
    rows=st.lists(st.lists(cells, min_size=3, max_size=3), min_size=1, max_size=8),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    terminator=st.sampled_from(["\n", "\r\n", "\r"]),
    quote_all=st.booleans(),
)
def test_csv_cells_are_read_back_unchanged(
    rows: list[list[str]], delimiter: str, terminator: str, quote_all: bool
) -> None:
    header = ["alpha", "beta", "gamma"]
    if not quote_all:  # csv.writer may leave a line break unquoted then: no reader could tell
        rows = [[cell.replace("\r", "").replace("\n", "") for cell in row] for row in rows]
    buffer = io.StringIO()
    quoting = csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=terminator, quoting=quoting)
    writer.writerows([header, *rows])
    problems: list[Any] = []
    stream = io.BufferedReader(io.BytesIO(buffer.getvalue().encode()))  # type: ignore[arg-type]
    records = [
        cells
        for _, cells in iter_csv_records(
            stream, delimiter=delimiter, problem=lambda *p: problems.append(p)
        )
    ]
    assert problems == []
    if quote_all:
        assert records == [header, *rows]  # every record quoted: none is blank
    else:  # a row of empty cells is written as a line of delimiters only
        assert [r for r in records if any(r)] == [header, *(r for r in rows if any(r))]
