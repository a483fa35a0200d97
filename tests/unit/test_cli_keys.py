"""``convert`` of imported rows writes each primary key once (WorkMagic keeps one row per key)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from dag_helpers import IMPORTED_ROW

from workmagic_provider.cli import main

ROW = IMPORTED_ROW


def test_convert_rejects_a_repeated_imported_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "imported.jsonl"
    rows = [ROW, {**ROW, "geo_code": "10002"}, {**ROW, "orders": 9, "sales": 90.0}]
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out"
    code = main(
        ["convert", str(source), "--schema", "imported", "--account", "121226",
         "--category", "order-geo-date-data", "--hour", "2026-03-08T02:00:00Z", "--out", str(out)]
    )  # fmt: skip
    assert code == 1  # some rows invalid
    summary = json.loads(capsys.readouterr().out)
    assert (summary["rows_written"], summary["rejected"]) == (2, 1)
    [part] = sorted(out.rglob("*.json.gz"))
    written = [json.loads(line) for line in gzip.decompress(part.read_bytes()).splitlines()]
    assert [(r["geo_code"], r["orders"]) for r in written] == [("10001", 3), ("10002", 3)]
