"""Which source files the sync delivers (judged by name, then by their first bytes) and the
destination names of nested and compressed files (deterministic, never colliding)."""

from __future__ import annotations

import gzip
import itertools
import json
import random

import pytest

from workmagic_provider.sync_files import (
    HEAD_BYTES,
    destination_names,
    verdict_by_content,
    verdict_by_name,
)

ROW = json.dumps({"id": "o1", "total_price": 1.5}).encode() + b"\n"


@pytest.mark.parametrize(
    ("path", "size", "reason"),
    [
        ("_SUCCESS", 0, "empty file"),
        ("orders.json.gz", 0, "empty file"),
        ("_committed_123", 10, "marker"),
        (".part-0000.crc", 10, "marker"),
        ("orders.csv", 10, "CSV"),
        ("nested/orders.CSV.gz", 10, "CSV"),
        ("part-0000.snappy.parquet", 10, "Parquet"),
    ],
)
def test_foreign_by_name(path: str, size: int, reason: str) -> None:
    verdict = verdict_by_name(path, size)
    assert verdict is not None and verdict.kind == "foreign" and reason in verdict.reason


@pytest.mark.parametrize("path", ["orders.json.gz", "a/b.jsonl", "part-00000", "x.txt"])
def test_other_names_need_a_look_at_the_content(path: str) -> None:
    assert verdict_by_name(path, 10) is None


@pytest.mark.parametrize(
    ("path", "data", "kind", "reason"),
    [
        ("a.json.gz", gzip.compress(ROW * 3), "gzip", ""),
        ("a.jsonl", ROW * 3, "plain", ""),
        ("a.json", b"\xef\xbb\xbf\n\n" + ROW, "plain", ""),  # BOM and blank lines first
        ("part-0000", gzip.compress(ROW), "gzip", ""),
        ("a.json.gz", ROW, "foreign", "named .gz but not gzip"),
        ("a.json.gz", gzip.compress(b"id,total\n1,2\n"), "foreign", "not a JSON object"),
        ("a.json", b'[{"id": 1}]\n', "foreign", "not a JSON object"),
        ("a.json", b'{\n  "id": 1\n}\n', "foreign", "not a JSON object"),  # pretty-printed
        ("a.jsonl", b"\n\n", "foreign", "only blank lines"),
        ("a.json.gz", gzip.compress(ROW * 50)[:-30], "foreign", "truncated"),
        ("a.json.gz", b"\x1f\x8bnot deflate at all", "foreign", "corrupt gzip"),
    ],
)
def test_content_verdicts(path: str, data: bytes, kind: str, reason: str) -> None:
    verdict = verdict_by_content(path, data[:HEAD_BYTES], whole=len(data) <= HEAD_BYTES)
    assert (verdict.kind, reason in verdict.reason) == (kind, True), verdict


def test_a_first_line_longer_than_the_head_is_judged_by_its_start() -> None:
    long_row = json.dumps({"id": "o1", "note": "x" * (2 * HEAD_BYTES)}).encode() + b"\n"
    assert verdict_by_content("a.jsonl", long_row[:HEAD_BYTES], whole=False).kind == "plain"
    assert verdict_by_content("a.jsonl", b"x" * HEAD_BYTES, whole=False).kind == "foreign"


def test_names_flatten_folders_and_end_in_gz() -> None:
    names = destination_names(["a.json.gz", "region=eu/day/a.json.gz", "plain.jsonl", "p"])
    assert names == {
        "a.json.gz": "a.json.gz",
        "region=eu/day/a.json.gz": "region=eu__day__a.json.gz",
        "plain.jsonl": "plain.jsonl.gz",
        "p": "p.gz",
    }


def test_clashing_names_are_told_apart_and_top_level_files_keep_theirs() -> None:
    paths = ["a/b.json.gz", "a__b.json.gz", "x.jsonl", "x.jsonl.gz"]
    names = destination_names(paths)
    assert names["a__b.json.gz"] == "a__b.json.gz"  # top level first
    assert names["x.jsonl"] == "x.jsonl.gz"  # by path among equals
    assert names["a/b.json.gz"].startswith("a__b-") and names["a/b.json.gz"].endswith(".json.gz")
    assert names["x.jsonl.gz"].startswith("x-") and names["x.jsonl.gz"].endswith(".jsonl.gz")
    assert len(set(names.values())) == len(paths)
    assert destination_names(reversed(paths)) == names  # the listing's order does not matter


def test_names_never_collide_for_any_listing() -> None:
    """Every combination of awkward paths, and random ones, maps to distinct names."""
    parts = ["a", "b", "a__b", "x.jsonl", "x.jsonl.gz", "x", "x.gz"]
    awkward = ["/".join(p) for n in (1, 2, 3) for p in itertools.product(parts, repeat=n)]
    rng = random.Random(13)
    for _ in range(300):
        paths = rng.sample(awkward, rng.randint(2, 40))
        names = destination_names(paths)
        assert len(set(names.values())) == len(paths), paths
        assert all("/" not in n and n.endswith(".gz") for n in names.values())
