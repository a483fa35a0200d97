"""Import manifest: re-imports drop or reject what another hour already has (no Airflow runs)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workmagic_provider.files.manifest import ImportManifest, key_digest
from workmagic_provider.files.readers import InputReader
from workmagic_provider.files.unique_keys import validated_unique
from workmagic_provider.schemas import ValidationReport

DATA = Path(__file__).resolve().parents[1] / "data" / "files"
DEST = "s3://workmagic-inbound-data/account-1/order-geo-date-data/"


def _import(manifest_file: Path, hour: str, on_duplicate: str, source: str) -> tuple:
    manifest = ImportManifest(manifest_file, DEST, hour, on_duplicate).load()  # type: ignore[arg-type]
    report = ValidationReport("custom-site")
    reader = InputReader("custom-site", report, gate=manifest.gate)
    valid = validated_unique(
        reader.read(DATA / source),
        "custom-site",
        report=report,
        rejected=lambda row, _: manifest.rejected(row),
    )
    rows = [row for row, _ in valid]
    manifest.commit()
    return rows, report, reader


def test_drop_sends_only_records_not_imported_into_another_hour(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    rows, _, _ = _import(path, "2026/03/08/02", "drop", "fail_duplicate_ids.csv")
    assert rows == [2, 3]
    stored = json.loads(path.read_text())["destinations"][DEST]
    assert len(stored) == 2 and set(stored.values()) == {"2026/03/08/02"}
    assert "D-1" not in path.read_text()  # digests only, no ids
    # same hour again: a re-run rewrites its hour, nothing dropped
    rows, _, reader = _import(path, "2026/03/08/02", "drop", "fail_duplicate_ids.csv")
    assert rows == [2, 3] and reader.dropped == 0
    # a later hour: all three records dropped (row 4 repeats row 2's id)
    rows, report, reader = _import(path, "2026/03/08/03", "drop", "fail_duplicate_ids.csv")
    assert rows == [] and reader.dropped == 3 and report.ok


def test_error_rejects_records_already_imported(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    _import(path, "2026/03/08/02", "error", "orders_order_ref.csv")
    rows, report, _ = _import(path, "2026/03/08/05", "error", "orders_order_ref.csv")
    assert rows == []
    assert [(e.row, e.field) for e in report.errors] == [(2, "id"), (4, "id")]
    assert "already imported into hour 2026/03/08/02" in report.errors[0].reason


def test_rejected_records_are_not_recorded(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    manifest = ImportManifest(path, DEST, "2026/03/08/02").load()  # type: ignore[arg-type]
    assert manifest.gate(2, key_digest(["a"])) is None
    assert manifest.gate(3, key_digest(["b"])) is None
    manifest.rejected(3)
    assert manifest.commit() == 1


def test_unreadable_manifest_is_an_input_error(tmp_path: Path) -> None:
    from workmagic_provider.exceptions import WorkMagicInputError

    path = tmp_path / "m.json"
    path.write_text("{not json")
    with pytest.raises(WorkMagicInputError, match="not readable JSON"):
        ImportManifest(path, DEST, "2026/03/08/02").load()  # type: ignore[arg-type]
