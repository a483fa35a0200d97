"""The readers' bounded-memory key set (rule R8 of docs/design.md): table, spills, Bloom."""

from __future__ import annotations

import os
import random
from pathlib import Path

from workmagic_provider.files.duplicates import KeySet, key_digest
from workmagic_provider.files.readers import InputReader
from workmagic_provider.schemas import ValidationReport


def test_a_key_seen_before_a_spill_is_still_a_duplicate(tmp_path: Path) -> None:
    keys = KeySet(buffer_keys=16, spill_dir=str(tmp_path))
    assert keys.add(key_digest(["first"]), 2) is None
    for n in range(100):  # six spills: "first" is in the oldest run on disk
        assert keys.add(key_digest([n]), n + 3) is None
    assert keys.runs == 6
    assert keys.add(key_digest(["first"]), 500) == 2
    assert keys.get(key_digest(["first"])) == 2
    assert keys.add(key_digest([50]), 501) == 53
    assert len(keys) == 101  # duplicates are not added


def test_matches_a_dict_through_spills_and_bloom_rebuilds(tmp_path: Path) -> None:
    rng = random.Random(11)
    # a tiny table and filter: many runs, and the filter doubles (rebuilt from disk) 10 times
    keys = KeySet(buffer_keys=64, bloom_words=1, spill_dir=str(tmp_path))
    reference: dict[int, int] = {}
    for row in range(2, 30_002):
        digest = key_digest([rng.randrange(20_000)])
        expected = reference.setdefault(digest, row)
        assert keys.add(digest, row) == (expected if expected != row else None), row
    assert len(keys) == len(reference)
    assert keys.runs == len(reference) // 64
    for digest, row in reference.items():
        assert keys.get(digest) == row
    assert keys.get(key_digest(["absent"])) is None


def test_the_bloom_filter_keeps_absent_keys_off_the_disk(tmp_path: Path) -> None:
    keys = KeySet(buffer_keys=4096, bloom_words=1 << 10, spill_dir=str(tmp_path))
    for n in range(100_000):
        keys.add(key_digest([n]), n)
    assert keys.runs == 24
    keys.disk_probes = 0
    for n in range(100_000, 150_000):
        assert keys.get(key_digest([n])) is None
    assert keys.disk_probes < 50_000 * 0.01  # false positives of the filter only


def test_the_spill_file_is_created_on_first_spill_and_removed_by_close(tmp_path: Path) -> None:
    with KeySet(buffer_keys=8, spill_dir=str(tmp_path)) as keys:
        for n in range(7):
            keys.add(key_digest([n]), n)
        assert keys.runs == 0 and keys._file is None
        keys.add(key_digest([7]), 7)
        assert keys.runs == 1 and keys._file is not None
        spill = keys._file
    assert spill.closed and len(keys) == 0 and keys.get(key_digest([3])) is None
    assert os.listdir(tmp_path) == []  # an anonymous file: nothing left behind


def test_reader_reports_the_first_row_of_a_key_spilled_long_before(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    lines = [
        "Date Type,Date Code,Geo Type,Geo Code,Sales Platform,Platform Type,Country Code,"
        "Orders,Sales"
    ]
    lines += [
        f"DAILY,2026-03-0{1 + n // 1000},ZIP,{n % 1000:05d},Walmart,SECONDARY,US,1,2"
        for n in range(5000)
    ]
    lines.append("DAILY,2026-03-01,ZIP,00007,Walmart,SECONDARY,US,1,2")  # repeats line 9 (row 9)
    path.write_text("\n".join(lines) + "\n")
    report = ValidationReport("imported")
    reader = InputReader("imported", report, unique=True)
    reader.keys = KeySet(buffer_keys=256, spill_dir=str(tmp_path))
    rows = [row for row, _ in reader.read(path)]
    assert reader.keys.runs == 19
    assert len(rows) == 5000 and reader.duplicates == 1
    assert [(e.row, e.field) for e in report.errors] == [(5002, "<row>")]
    assert "row 9 already has it" in report.errors[0].reason
