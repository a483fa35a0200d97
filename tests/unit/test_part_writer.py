"""Part writer: every part strictly under the limit, rows intact and in order, deterministic."""

from __future__ import annotations

import gzip
import json
import random
import tracemalloc
import zlib

import pytest

from workmagic_provider.exceptions import WorkMagicConfigError, WorkMagicInputError
from workmagic_provider.files.gzip_codec import compressobj
from workmagic_provider.files.part_writer import PartWriter, gzip_bound

pytestmark = pytest.mark.usefixtures("gzip_codec")  # zlib and ISA-L alike


def _collect(
    rows: list[bytes], limit: int, level: int = 6
) -> tuple[list[object], dict[str, bytes]]:
    store: dict[str, bytes] = {}

    def consume(name: str, data: bytes) -> str:
        store[name] = data
        return f"mem://{name}"

    writer = PartWriter(
        lambda i: f"part-{i:04d}.json.gz", consume, max_part_bytes=limit, compresslevel=level
    )
    for n, row in enumerate(rows, 1):
        writer.write(row, n)
    return writer.close(), store


def _random_rows(count: int, seed: int = 1) -> list[bytes]:
    rng = random.Random(seed)
    return [
        json.dumps(
            {"id": f"o{i}", "v": rng.random(), "pad": rng.randbytes(rng.randint(0, 300)).hex()}
        ).encode()
        for i in range(count)
    ]


@pytest.mark.parametrize(("limit", "level"), [(20_000, 6), (50_000, 1), (1_000_000, 6), (4096, 0)])
def test_parts_stay_under_limit_and_round_trip(limit: int, level: int) -> None:
    rows = _random_rows(6000)
    parts, store = _collect(rows, limit, level)
    assert len(parts) > 1 or limit == 1_000_000
    for part in parts:
        data = store[part.name]
        assert len(data) == part.bytes < limit
        assert part.location == f"mem://{part.name}"
    back = [line for p in parts for line in gzip.decompress(store[p.name]).splitlines()]
    assert back == rows
    assert [p.rows for p in parts] and sum(p.rows for p in parts) == len(rows)


def test_parts_are_filled_close_to_the_limit() -> None:
    rows = _random_rows(20000)
    parts, _ = _collect(rows, 100_000)
    # every part but the last is at least 95 % full: sync flushes find the real size
    assert all(p.bytes > 95_000 for p in parts[:-1])


def test_incompressible_rows_still_respect_the_limit() -> None:
    rng = random.Random(3)
    rows = [json.dumps({"blob": rng.randbytes(3000).hex()}).encode() for _ in range(300)]
    parts, store = _collect(rows, 30_000)
    assert all(len(store[p.name]) < 30_000 for p in parts)
    assert [line for p in parts for line in gzip.decompress(store[p.name]).splitlines()] == rows


def test_output_is_deterministic() -> None:
    rows = _random_rows(3000)
    _, first = _collect(rows, 40_000)
    _, second = _collect(rows, 40_000)
    assert first == second


def test_no_rows_no_parts() -> None:
    parts, store = _collect([], 10_000)
    assert parts == [] and store == {}


def test_row_larger_than_a_part_names_the_row() -> None:
    rng = random.Random(5)
    big = json.dumps({"blob": rng.randbytes(10_000).hex()}).encode()
    with pytest.raises(WorkMagicInputError, match="row 2: the row is"):
        _collect([b'{"a":1}', big], 8_000)


@pytest.mark.parametrize("limit", [100, 1_500_000 + 1, 2_000_000])
def test_limit_must_be_sane_and_below_hard_limit(limit: int) -> None:
    with pytest.raises(WorkMagicConfigError, match="max_part_bytes"):
        PartWriter(lambda i: "x", lambda n, d: n, max_part_bytes=limit)


def test_bound_is_above_real_deflate_output() -> None:
    rng = random.Random(9)
    for size in (0, 1, 100, 10_000, 300_000):
        data = rng.randbytes(size)
        assert len(gzip.compress(data, 9)) - 18 <= gzip_bound(size)


def test_memory_is_bounded_by_part_size_not_input_size() -> None:
    row = json.dumps({"id": "x" * 40, "pad": "y" * 400}).encode()

    def run(count: int) -> int:
        writer = PartWriter(lambda i: f"{i}", lambda n, d: n, max_part_bytes=200_000)
        tracemalloc.start()
        for _ in range(count):
            writer.write(row)
        writer.close()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak

    small, large = run(20_000), run(200_000)
    assert large < small * 1.5 + 100_000


def test_large_but_compressible_row_is_written_not_refused() -> None:
    big = json.dumps({"text": "abc" * 10_000}).encode()  # 30 kB raw, tiny compressed
    rows = [b'{"a":1}', big, b'{"b":2}']
    parts, store = _collect(rows, 8_000)
    assert all(len(store[p.name]) < 8_000 for p in parts)
    assert [line for p in parts for line in gzip.decompress(store[p.name]).splitlines()] == rows


def test_isal_is_used_where_installed_and_writes_standard_gzip(gzip_codec: str) -> None:
    rows = _random_rows(2000)
    data = b"".join(row + b"\n" for row in rows)
    fast = compressobj(6)
    written = fast.compress(data) + fast.flush(zlib.Z_FINISH)
    plain = zlib.compressobj(6, zlib.DEFLATED, 31)
    assert gzip.decompress(written) == data
    assert (written == plain.compress(data) + plain.flush()) is (gzip_codec == "zlib")


@pytest.mark.parametrize("level", range(1, 10))
def test_output_stays_under_the_bound_for_random_bytes(level: int) -> None:
    data = random.Random(level).randbytes(300_000)
    packer = compressobj(level)
    written = packer.compress(data) + packer.flush(zlib.Z_SYNC_FLUSH)
    assert len(written) <= gzip_bound(len(data)) + 10  # the gzip header, not yet the trailer
