"""The upload pipeline in one process: batches give what row-by-row validation gives, and an
imported key is written once."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from dag_helpers import IMPORTED_ROW

from workmagic_provider.files.part_writer import PartWriter
from workmagic_provider.files.pipeline import upload_lines
from workmagic_provider.files.rows import record_lines
from workmagic_provider.files.sinks import LocalDirSink
from workmagic_provider.schemas import ValidationReport, validate_json_lines
from workmagic_provider.standards import HourFolder, parse_hour
from workmagic_sandbox.sample_data import custom_site_orders

FOLDER = HourFolder("121226", "orders", parse_hour("2026-03-08T02:00:00Z"))


def mixed_lines(count: int) -> list[tuple[int, bytes]]:
    """Orders with every kind of bad row sprinkled in (row numbers skip like blank lines do)."""
    lines: list[tuple[int, bytes]] = []
    number = 0
    for index, order in enumerate(custom_site_orders(count)):
        number += 2 if index % 97 == 0 else 1  # a "blank line" now and then
        if index % 53 == 5:
            order["total_price"] = "twelve"
        elif index % 61 == 7:
            del order["id"]
        elif index % 71 == 11:
            order["created_at"] = "2026-03-08T02:00:00"  # no zone
        elif index % 73 == 13:
            order["created_at"] = "2026-03-08T04:00:00+02:00"  # converted to UTC
        raw = b'{"id": "broken",' if index % 79 == 15 else json.dumps(order).encode()
        lines.append((number, raw))
    return lines


def _parts(folder: Path) -> list[bytes]:
    return [p.read_bytes() for p in sorted(folder.iterdir())]


def test_batched_pipeline_equals_row_by_row_validation(tmp_path: Path) -> None:
    lines = mixed_lines(3000)  # several batches
    ref_report = ValidationReport("custom-site", max_errors=30)
    ref_rejected: list[tuple[int, bytes]] = []
    ref_parts: dict[str, bytes] = {}
    writer = PartWriter(
        lambda i: f"p{i}", lambda n, d: ref_parts.setdefault(n, d), max_part_bytes=50_000
    )
    for row in validate_json_lines(
        lines,
        "custom-site",
        report=ref_report,
        rejected=lambda r, raw: ref_rejected.append((r, raw)),
    ):
        writer.write(row)
    writer.close()

    report = ValidationReport("custom-site", max_errors=30)
    rejected: list[tuple[int, bytes]] = []
    result = upload_lines(
        lines, schema="custom-site", folder=FOLDER, flow="upload",
        sink=LocalDirSink(tmp_path, FOLDER.prefix), on_invalid="skip", report=report,
        rejected=lambda r, raw: rejected.append((r, raw)), max_part_bytes=50_000,
    )  # fmt: skip
    assert len(ref_parts) > 3 and result.rows_written == ref_report.rows_valid
    assert _parts(tmp_path / FOLDER.prefix) == list(ref_parts.values())
    assert report.to_dict() == ref_report.to_dict()
    assert rejected == ref_rejected


def _imported(geo: str, orders: int, country: str = "US") -> bytes:
    row = {**IMPORTED_ROW, "geo_code": geo, "country_code": country}
    row.update(orders=orders, sales=orders * 10.0)
    return json.dumps(row).encode()


def test_a_repeated_imported_key_is_rejected_naming_the_first_row(tmp_path: Path) -> None:
    lines = [
        (1, _imported("10001", 3)),
        (2, _imported("10002", 1)),
        (3, _imported("10001", 5)),
    ]
    report = ValidationReport("imported")
    rejected: list[int] = []
    result = upload_lines(
        lines, schema="imported", folder=FOLDER, flow="upload",
        sink=LocalDirSink(tmp_path, FOLDER.prefix), on_invalid="skip", report=report,
        rejected=lambda r, raw: rejected.append(r),
    )  # fmt: skip
    assert (report.rows_valid, report.rows_rejected, rejected) == (2, 1, [3])
    [error] = report.errors
    assert error.row == 3 and "row 1 already has it" in error.reason
    [part] = _parts(tmp_path / FOLDER.prefix)
    written = [json.loads(line) for line in gzip.decompress(part).splitlines()]
    assert [(r["geo_code"], r["orders"]) for r in written] == [("10001", 3), ("10002", 1)]
    assert result.rows_written == 2


def test_a_custom_site_id_repeated_in_records_is_rejected_across_batches(tmp_path: Path) -> None:
    """Records (an XCom's ``rows=``) skip the file readers: the pipeline still keeps each id once,
    within a batch and against every earlier batch."""
    orders = list(custom_site_orders(3000))
    repeats = {1500: dict(orders[10]), 1501: dict(orders[1499]), 2999: dict(orders[2998])}
    for index, order in repeats.items():
        orders[index] = {**order, "total_price": "1.00"}
    report = ValidationReport("custom-site")
    rejected: list[int] = []
    result = upload_lines(
        record_lines(orders, report), schema="custom-site", folder=FOLDER, flow="upload",
        sink=LocalDirSink(tmp_path, FOLDER.prefix), on_invalid="skip", report=report,
        rejected=lambda r, raw: rejected.append(r),
    )  # fmt: skip
    assert rejected == [1501, 1502, 3000] and result.duplicates == 3
    assert [(e.row, e.field) for e in report.errors] == [(1501, "id"), (1502, "id"), (3000, "id")]
    assert "row 11 already has it" in report.errors[0].reason
    written = [
        json.loads(line)["id"]
        for part in _parts(tmp_path / FOLDER.prefix)
        for line in gzip.decompress(part).splitlines()
    ]
    assert len(written) == len(set(written)) == 2997 and result.rows_written == 2997
