"""Stream JSON lines into gzip parts that each stay strictly under a byte limit.

WorkMagic skips files of 1.5 MB or more, so the limit is a hard guarantee, not an estimate: the
writer tracks the compressed bytes already produced plus a worst-case bound for what the
compressor still holds, and only asks zlib for a sync flush (the real size so far) when that
bound could cross the limit. Memory is one part (at most the limit) plus a small input buffer,
whatever the input size. Output is byte-for-byte deterministic (gzip header with mtime 0), so a
re-run produces identical objects.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from workmagic_provider.exceptions import WorkMagicConfigError, WorkMagicInputError
from workmagic_provider.standards import DEFAULT_MAX_PART_BYTES, HARD_LIMIT_BYTES

_GZIP_WRAPPER_BYTES = 18  # 10-byte header + 8-byte trailer
_FEED_CHUNK = 64 * 1024  # lines are buffered and handed to zlib in chunks this size


def gzip_bound(raw_bytes: int) -> int:
    """Upper bound of deflate output for ``raw_bytes`` of input (looser than deflateBound)."""
    return raw_bytes + (raw_bytes >> 10) + 64


@dataclass(frozen=True)
class Part:
    """One finished part: its name, where it went, and what it holds."""

    name: str
    location: str
    rows: int
    bytes: int
    raw_bytes: int

    def to_dict(self) -> dict[str, object]:
        return {"path": self.location, "rows": self.rows, "bytes": self.bytes}


#: Receives a finished part's name and compressed bytes; returns where it was put.
PartConsumer = Callable[[str, bytes], str]


class PartWriter:
    """Write newline-free JSON rows into size-capped ``.json.gz`` parts.

    ``name_for(index)`` names part ``index`` (deterministic, see ``standards.part_name``);
    ``consume(name, data)`` stores a finished part and returns its location.
    """

    def __init__(
        self,
        name_for: Callable[[int], str],
        consume: PartConsumer,
        *,
        max_part_bytes: int = DEFAULT_MAX_PART_BYTES,
        compresslevel: int = 6,
    ) -> None:
        if not 1024 <= max_part_bytes <= HARD_LIMIT_BYTES:
            raise WorkMagicConfigError(
                f"max_part_bytes must be between 1024 and {HARD_LIMIT_BYTES} "
                f"(WorkMagic skips files of 1.5 MB or more), got {max_part_bytes}"
            )
        if not 0 <= compresslevel <= 9:
            raise WorkMagicConfigError(f"compresslevel must be 0..9, got {compresslevel}")
        self._name_for = name_for
        self._consume = consume
        self._limit = max_part_bytes
        self._level = compresslevel
        self.parts: list[Part] = []
        self._start_part()

    # -- part lifecycle -------------------------------------------------------------------
    def _start_part(self) -> None:
        self._zip = zlib.compressobj(self._level, zlib.DEFLATED, 31)  # 31: gzip wrapper, mtime 0
        self._out: list[bytes] = []
        self._emitted = 0  # compressed bytes produced so far for this part
        self._unflushed = 0  # raw bytes given to zlib (or buffered) since the last flush
        self._buffer: list[bytes] = []
        self._buffered = 0
        self._rows = 0
        self._raw = 0

    def _feed_buffer(self) -> None:
        if self._buffer:
            self._emit(self._zip.compress(b"".join(self._buffer)))
            self._buffer.clear()
            self._buffered = 0

    def _emit(self, chunk: bytes) -> None:
        if chunk:
            self._out.append(chunk)
            self._emitted += len(chunk)

    def _would_overflow(self, extra_raw: int) -> bool:
        worst = self._emitted + gzip_bound(self._unflushed + extra_raw) + _GZIP_WRAPPER_BYTES
        return worst >= self._limit

    def _sync_flush(self) -> None:
        self._feed_buffer()
        self._emit(self._zip.flush(zlib.Z_SYNC_FLUSH))
        self._unflushed = 0

    def _finish_part(self) -> None:
        self._feed_buffer()
        self._emit(self._zip.flush(zlib.Z_FINISH))
        data = b"".join(self._out)
        if len(data) >= self._limit:  # cannot happen by construction; never ship a bad part
            raise AssertionError(f"part of {len(data)} bytes exceeds limit {self._limit}")
        index = len(self.parts)
        name = self._name_for(index)
        location = self._consume(name, data)
        self.parts.append(Part(name, location, self._rows, len(data), self._raw))

    # -- public API -----------------------------------------------------------------------
    def write(self, row: bytes, row_number: int | None = None) -> None:
        """Append one serialized JSON object (without newline) to the current part."""
        size = len(row) + 1
        if self._would_overflow(size):
            if self._unflushed:
                self._sync_flush()
            if self._would_overflow(size) and self._rows:
                self._finish_part()
                self._start_part()
            if self._would_overflow(size):
                self._write_oversized_row(row, size, row_number)
                return
        self._buffer.append(row)
        self._buffer.append(b"\n")
        self._buffered += size
        self._unflushed += size
        self._rows += 1
        self._raw += size
        if self._buffered >= _FEED_CHUNK:
            self._feed_buffer()

    def _write_oversized_row(self, row: bytes, size: int, row_number: int | None) -> None:
        """A row whose worst case alone exceeds the limit: compress it and check the real size."""
        self._buffer.extend((row, b"\n"))
        self._rows += 1
        self._raw += size
        self._unflushed = size
        self._sync_flush()
        if self._emitted + _GZIP_WRAPPER_BYTES >= self._limit:
            where = f"row {row_number}" if row_number is not None else "a row"
            raise WorkMagicInputError(
                f"{where} is {size} bytes and compresses to {self._emitted} bytes; it cannot "
                f"fit in one part under {self._limit} bytes"
            )

    def write_all(self, rows: Iterable[bytes]) -> None:
        for row in rows:
            self.write(row)

    def close(self) -> list[Part]:
        """Finish the last part (if it holds rows) and return every part written."""
        if self._rows:
            self._finish_part()
            self._start_part()
        return self.parts

    @property
    def rows_written(self) -> int:
        return sum(p.rows for p in self.parts) + self._rows
