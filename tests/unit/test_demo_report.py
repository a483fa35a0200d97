"""The demo's table reads every operator's XCom summary into the same columns."""

from __future__ import annotations

from datetime import datetime, timezone

from workmagic_sandbox.demo_report import Moved, RunLine, moved, render_table
from workmagic_sandbox.sample_data import last_complete_hours


def test_last_complete_hours_excludes_the_running_hour() -> None:
    now = datetime(2026, 3, 8, 5, 42, tzinfo=timezone.utc)
    hours = last_complete_hours(3, now)
    assert [h.hour for h in hours] == [2, 3, 4]


def test_a_byte_copy_sync_does_not_claim_a_row_count() -> None:
    summary = {"destination": "s3://b/x/", "objects_written": 2, "bytes_written": 10,
               "rows_written": 0, "rows_rejected": 0, "split": 0, "skipped": 1}  # fmt: skip
    assert moved(summary) == Moved(2, None, 10, 0, "s3://b/x/", "1 unchanged skipped, 0 re-split")
    summary.update(split=1, rows_written=7)
    assert moved(summary).rows == 7


def test_upload_enrich_sheet_and_render_only_shapes() -> None:
    upload = {"destination": "s3://b/y/", "parts": [{}, {}], "rows_written": 5, "bytes": 99,
              "rejected": 1}  # fmt: skip
    assert moved(upload) == Moved(2, 5, 99, 1, "s3://b/y/")
    enrich = {"endpoint": "http://h/enrich/orders", "accepted": 4, "rows_invalid": 1,
              "rejected": 2, "requests": 3}  # fmt: skip
    assert moved(enrich) == Moved(None, 4, None, 3, "http://h/enrich/orders", "3 requests")
    sheet = {"spreadsheet_id": "s", "tab": "T", "rows_written": 9, "rejected": 0}
    assert moved(sheet).rows == 9 and moved(sheet).where == "sheet s, tab 'T'"
    rendered = {"mode": "render_only", "destination": "gs://b/z/", "statements": [{}, {}]}
    assert moved(rendered).note == "rendered 2 statements, submitted none"
    assert moved(rendered).moved_something
    assert not moved(None).moved_something


def test_table_aligns_numbers_right() -> None:
    line = RunLine("workmagic_s3_sync_hourly", "2026-03-08 02:00", "success",
                   Moved(1, None, 1234, 0, "s3://b/"))  # fmt: skip
    text = render_table([line])
    assert text.splitlines()[2].startswith("s3_sync_hourly  2026-03-08 02:00  success")
    assert "1,234" in text
