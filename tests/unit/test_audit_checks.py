"""The audit's checks of one object's head and of one hour's part names (pure logic)."""

from __future__ import annotations

import gzip
import io
import os
import subprocess
import sys
from datetime import datetime, timezone

import pytest

from workmagic_provider.audit import (
    NEED_MORE,
    check_object,
    hours_between,
    inspect_head,
    run_problems,
)
from workmagic_provider.exceptions import WorkMagicConfigError
from workmagic_provider.standards import part_name
from workmagic_provider.stores import ObjectInfo

HOUR = datetime(2026, 3, 8, 2, tzinfo=timezone.utc)
GOOD = gzip.compress(b'{"id": 1}\n{"id": 2}\n')


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (GOOD, None),
        (gzip.compress(b'{"id": 1}'), None),  # one line without a final newline
        (gzip.compress(b'{"id": 1}\r\n'), None),
        (b"", "empty object (0 bytes)"),
        (b"id,total\n1,2\n", "not gzip (starts with b'id,total')"),
        (b'{"id": 1}\n', "not gzip"),
        (gzip.compress(b"id,total\n1,2\n"), "first line is not JSON"),
        (gzip.compress(b"[1, 2]\n"), "first line is a JSON list, not an object"),
        (gzip.compress(b"\xef\xbb\xbf{}\n"), "first line is not JSON"),
        (gzip.compress(b"\xff\xfe{}\n"), "first line is not UTF-8 text"),
        (gzip.compress(b""), "no JSON line (the gzip holds nothing)"),
        (gzip.compress(b'{"id": 1}' * 1000)[:60], "gzip data ends early (truncated object)"),
        (GOOD[:-8], "gzip data ends early (truncated object)"),  # first line whole, tail cut
        (gzip.compress(b"x")[:10] + b"\xff" * 8, "gzip data is corrupt"),
    ],
)
def test_inspect_head(data: bytes, problem: str | None) -> None:
    gzipped, json_lines, found = inspect_head(data, whole=True)
    if problem is None:
        assert found is None and gzipped and json_lines
    else:
        assert found is not None and found.startswith(problem), found
        assert not json_lines


def test_a_head_that_ends_inside_the_first_line_asks_for_more() -> None:
    data = gzip.compress(b'{"pad": "' + os.urandom(50_000).hex().encode() + b'"}\n')
    assert inspect_head(data[:200], whole=False) == (True, False, NEED_MORE)


class _Store:
    """An in-memory store that records how many bytes each head read asked for."""

    scheme, bucket = "mem", "b"

    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = objects
        self.asked: list[int] = []

    def read_head(self, key: str, size: int) -> bytes:
        self.asked.append(size)
        return self.objects[key][:size]

    def open_read(self, key: str) -> io.BytesIO:
        raise AssertionError("the head is read with a ranged read")


def test_a_long_first_line_is_read_with_growing_heads_up_to_a_cap() -> None:
    long_line = b'{"pad": "' + os.urandom(40_000).hex().encode() + b'"}\n'
    data = gzip.compress(long_line + b'{"id": 2}\n')
    store = _Store({"p/x.json.gz": data})

    check = check_object(store, ObjectInfo("p/x.json.gz", len(data), "e"), "p/")  # type: ignore[arg-type]

    assert check.ok, check.problems
    assert store.asked == [16 * 1024, len(data)]  # 16 KiB did not hold the line; then all
    assert check.head_bytes_read == len(data)


def test_a_first_line_longer_than_the_cap_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    from workmagic_provider import audit

    monkeypatch.setattr(audit, "MAX_HEAD_BYTES", 20_000)
    data = gzip.compress(b'{"pad": "' + os.urandom(40_000).hex().encode() + b'"}\n')
    store = _Store({"p/x.json.gz": data})

    check = check_object(store, ObjectInfo("p/x.json.gz", len(data), "e"), "p/")  # type: ignore[arg-type]

    assert store.asked == [16 * 1024, 20_000]
    assert check.problems == ("first line is longer than the 20,000 bytes read",)


def test_check_object_names_path_suffix_and_size() -> None:
    store = _Store({"p/sub/x.txt": GOOD})
    info = ObjectInfo("p/sub/x.txt", 1_500_000, "e")  # listed size at the limit

    check = check_object(store, info, "p/")  # type: ignore[arg-type]

    assert check.name == "sub/x.txt"
    assert check.problems == (
        "not directly in the hour folder (WorkMagic skips other paths)",
        "name does not end with .json.gz",
        "1,500,000 bytes, at or over the 1,500,000-byte limit",
    )
    under = ObjectInfo("p/sub/x.txt", 1_499_999, "e")
    assert check_object(store, under, "p/", suffix=None).problems == (  # type: ignore[arg-type]
        "not directly in the hour folder (WorkMagic skips other paths)",
    )


def _part(generation: str | None, index: int, count: int | None) -> str:
    return part_name(HOUR, "upload", index, generation=generation, count=count)


G1, G2 = "20260308T030000000000abcd", "20260308T040000000000abcd"


def test_one_complete_run_has_no_run_problem() -> None:
    names = [_part(G1, 0, 2), _part(G1, 1, 2), "order_data_0001.json.gz"]
    assert run_problems(names, HOUR) == []
    assert run_problems([_part(None, 0, None), _part(None, 1, None)], HOUR) == []


def test_an_incomplete_run_is_named() -> None:
    assert run_problems([_part(G1, 0, 3), _part(G1, 2, 3)], HOUR) == [
        f"upload run {G1}: 2 of 3 parts present (incomplete)"
    ]


def test_two_runs_of_one_hour_are_named() -> None:
    (problem,) = run_problems([_part(G1, 0, 1), _part(G2, 0, 1)], HOUR)
    assert problem == f"upload parts of 2 runs ({G1}, {G2}): an older run's rows are still there"


def test_hours_between_includes_both_ends_and_refuses_bad_ranges() -> None:
    last = datetime(2026, 3, 8, 5, 59, tzinfo=timezone.utc)
    assert [h.hour for h in hours_between(HOUR, last)] == [2, 3, 4, 5]
    with pytest.raises(WorkMagicConfigError, match=r"ends .* before it starts"):
        hours_between(last, HOUR)
    with pytest.raises(WorkMagicConfigError, match="at most 3 are audited"):
        hours_between(HOUR, last, max_hours=3)


def test_the_cli_does_not_import_airflow_for_path_or_a_refused_audit_range() -> None:
    code = (
        "import sys\n"
        "from workmagic_provider.cli import main\n"
        "main(['path', '--account', '1', '--category', 'c', '--hour', '2026-03-08T02:00:00Z'])\n"
        "assert main(['audit', '--from', '2026-03-08T03:00Z', '--to', '2026-03-08T02:00Z']) == 2\n"
        "import workmagic_provider.audit\n"
        "assert 'airflow' not in sys.modules, 'airflow imported'\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
