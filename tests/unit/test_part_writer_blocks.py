"""``PartWriter.write_block`` (used by the batched pipeline) writes exactly what ``write`` does."""

from __future__ import annotations

import gzip
import json
import random

import pytest

from workmagic_provider.exceptions import WorkMagicInputError
from workmagic_provider.files.part_writer import PartWriter

pytestmark = pytest.mark.usefixtures("gzip_codec")  # zlib and ISA-L alike


def _rows(count: int, seed: int = 1) -> list[bytes]:
    rng = random.Random(seed)
    return [
        json.dumps(
            {"id": f"o{i}", "v": rng.random(), "pad": rng.randbytes(rng.randint(0, 300)).hex()}
        ).encode()
        for i in range(count)
    ]


def _write(
    rows: list[bytes], limit: int, level: int, block_rows: int | None, seed: int = 3
) -> tuple[list[tuple[str, int, int, int]], dict[str, bytes]]:
    store: dict[str, bytes] = {}
    writer = PartWriter(
        lambda i: f"p{i:04d}",
        lambda n, d: store.setdefault(n, d) and n,
        max_part_bytes=limit,
        compresslevel=level,
    )
    if block_rows is None:
        for number, row in enumerate(rows, 1):
            writer.write(row, number)
    else:
        rng = random.Random(seed)
        start = 0
        while start < len(rows):
            size = rng.randint(1, block_rows)
            chunk = rows[start : start + size]
            writer.write_block(
                b"".join(r + b"\n" for r in chunk), range(start + 1, start + 1 + len(chunk))
            )
            start += size
    parts = writer.close()
    return [(p.name, p.rows, p.bytes, p.raw_bytes) for p in parts], store


@pytest.mark.parametrize(
    ("limit", "level"),
    [(20_000, 6), (50_000, 1), (1_000_000, 6), (4096, 0), (4096, 6), (1024, 9), (300_000, 9)],
)
@pytest.mark.parametrize("block_rows", [1, 7, 500, 100_000])
def test_write_block_equals_row_by_row(limit: int, level: int, block_rows: int) -> None:
    rows = _rows(3000)
    expected = _write(rows, limit, level, None)
    assert _write(rows, limit, level, block_rows) == expected
    names, store = expected
    assert all(len(store[name]) < limit for name, *_ in names)
    back = [line for name, *_ in names for line in gzip.decompress(store[name]).splitlines()]
    assert back == rows


def test_empty_block_writes_nothing() -> None:
    writer = PartWriter(lambda i: f"{i}", lambda n, d: n, max_part_bytes=10_000)
    writer.write_block(b"")
    assert writer.close() == []


def test_block_must_end_with_a_newline() -> None:
    writer = PartWriter(lambda i: f"{i}", lambda n, d: n, max_part_bytes=10_000)
    with pytest.raises(ValueError, match="newline"):
        writer.write_block(b'{"a":1}')


def test_oversized_row_in_a_block_is_named_by_its_row_number() -> None:
    rng = random.Random(5)
    big = json.dumps({"blob": rng.randbytes(10_000).hex()}).encode()
    writer = PartWriter(lambda i: f"{i}", lambda n, d: n, max_part_bytes=8_000)
    with pytest.raises(WorkMagicInputError, match="row 42: the row is"):
        writer.write_block(b'{"a":1}\n' + big + b"\n", [41, 42])
