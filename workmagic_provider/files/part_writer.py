"""Stream JSON lines into gzip parts that each stay strictly under a byte limit.

WorkMagic skips files of 1.5 MB or more, so the limit is a hard guarantee, not an estimate: the
writer knows the exact compressed size at the last sync flush and adds a worst-case bound for
the raw bytes given to zlib since then, and only asks zlib for another sync flush (the real
size so far) when that bound could cross the limit. The decisions depend only on the rows, not
on when zlib happens to return output, so :meth:`PartWriter.write` row by row and
:meth:`PartWriter.write_block` produce the same bytes. Memory is one part (at most the limit)
plus a small input buffer, whatever the input size. Output is byte-for-byte deterministic (gzip
header with mtime 0), so a re-run produces identical objects. The compressor is ISA-L's where
installed, else zlib's (:mod:`.gzip_codec`); it is always fed the byte stream in the same
fixed-size chunks, as ISA-L's output (unlike zlib's) depends on how its input is split.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from workmagic_provider.exceptions import WorkMagicConfigError, WorkMagicInputError
from workmagic_provider.files.gzip_codec import compressobj
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
#: Receives a row too large for any part: its row number (if known), its bytes, the reason.
OversizedConsumer = Callable[[int | None, bytes, str], None]


def oversized_reason(
    row: bytes, max_part_bytes: int, compresslevel: int = 6, fast: bool | None = None
) -> str | None:
    """Why ``row`` cannot fit in a part of its own under ``max_part_bytes``, or ``None``.

    Cheap for every row that fits by its worst case; only a row that might not is compressed
    (alone, as the writer would), so the answer is exact and the same in ``validate``.
    """
    size = len(row) + 1
    if gzip_bound(size) + _GZIP_WRAPPER_BYTES < max_part_bytes:
        return None
    zip_ = compressobj(compresslevel, fast)
    emitted = len(zip_.compress(row + b"\n")) + len(zip_.flush(zlib.Z_SYNC_FLUSH))
    if emitted + _GZIP_WRAPPER_BYTES < max_part_bytes:
        return None
    return (
        f"the row is {size} bytes and compresses to {emitted} bytes; it cannot fit in one part "
        f"under {max_part_bytes} bytes"
    )


def oversized_to_report(report: Any, rejected: Callable[[int, bytes], None] | None = None) -> Any:
    """An :data:`OversizedConsumer` that makes an oversized valid row that row's error."""

    from workmagic_provider.schemas.report import ROW

    def consume(row: int | None, data: bytes, reason: str) -> None:
        report.rows_valid -= 1  # it was counted valid by validation
        report.add(row or 0, ROW, reason)
        if rejected is not None and row is not None:
            rejected(row, data)

    return consume


class PartWriter:
    """Write newline-free JSON rows into size-capped ``.json.gz`` parts.

    ``name_for(index)`` names part ``index`` (deterministic, see ``standards.part_name``);
    ``consume(name, data)`` stores a finished part and returns its location.
    ``on_oversized`` receives a row too large for any part (:func:`oversized_reason`), which
    is then left out; without it such a row raises :class:`WorkMagicInputError`. ``fast``
    picks ISA-L (``True``) or zlib (``False``); the default is ISA-L where installed.
    """

    def __init__(
        self,
        name_for: Callable[[int], str],
        consume: PartConsumer,
        *,
        max_part_bytes: int = DEFAULT_MAX_PART_BYTES,
        compresslevel: int = 6,
        on_oversized: OversizedConsumer | None = None,
        fast: bool | None = None,
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
        self._on_oversized = on_oversized
        self._fast = fast
        self.parts: list[Part] = []
        self._start_part()

    # -- part lifecycle -------------------------------------------------------------------
    def _start_part(self) -> None:
        self._zip = compressobj(self._level, self._fast)
        self._out: list[bytes] = []
        self._emitted = 0  # compressed bytes produced so far for this part
        self._flushed = 0  # compressed size of this part at its last sync flush (exact)
        self._unflushed = 0  # raw bytes given to zlib (or buffered) since the last flush
        self._pending = bytearray()  # raw bytes not yet given to the compressor
        self._rows = 0
        self._raw = 0

    def _feed_chunks(self) -> None:
        """Give the compressor every whole chunk pending, one call per chunk."""
        pending = self._pending
        whole = len(pending) - len(pending) % _FEED_CHUNK
        with memoryview(pending) as view:
            for start in range(0, whole, _FEED_CHUNK):
                self._emit(self._zip.compress(view[start : start + _FEED_CHUNK]))
        del pending[:whole]

    def _feed_buffer(self) -> None:
        """Give the compressor the rest pending (before a flush)."""
        if self._pending:
            self._emit(self._zip.compress(self._pending))
            self._pending.clear()

    def _emit(self, chunk: bytes) -> None:
        if chunk:
            self._out.append(chunk)
            self._emitted += len(chunk)

    def _would_overflow(self, extra_raw: int) -> bool:
        worst = self._flushed + gzip_bound(self._unflushed + extra_raw) + _GZIP_WRAPPER_BYTES
        return worst >= self._limit

    def _sync_flush(self) -> None:
        self._feed_buffer()
        self._emit(self._zip.flush(zlib.Z_SYNC_FLUSH))
        self._flushed = self._emitted
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
            reason = oversized_reason(row, self._limit, self._level)
            if reason is not None:
                where = f"row {row_number}" if row_number is not None else "a row"
                if self._on_oversized is None:
                    raise WorkMagicInputError(f"{where}: {reason}")
                self._on_oversized(row_number, row, reason)
                return
            if self._unflushed:
                self._sync_flush()
            if self._would_overflow(size) and self._rows:
                self._finish_part()
                self._start_part()
            if self._would_overflow(size):
                self._write_oversized_row(row, size, row_number)
                return
        pending = self._pending
        pending += row
        pending += b"\n"
        self._unflushed += size
        self._rows += 1
        self._raw += size
        if len(pending) >= _FEED_CHUNK:
            self._feed_chunks()

    def _write_oversized_row(self, row: bytes, size: int, row_number: int | None) -> None:
        """A row whose worst case alone exceeds the limit: compress it and check the real size."""
        self._pending += row
        self._pending += b"\n"
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

    def write_block(self, block: bytes, row_numbers: Sequence[int] | None = None) -> None:
        """Append many rows at once: ``block`` is rows each followed by ``b"\\n"``.

        Produces the same parts, byte for byte, as calling :meth:`write` for each row, at a
        fraction of the Python cost: the longest run of rows that fits under the size bound is
        found with one ``rfind`` and handed to zlib in one call; only the row that would cross
        the bound goes through :meth:`write` (flush, maybe a new part). That equivalence holds
        because the bound grows with the raw bytes added (if the last row of a run fits, every
        row before it fitted too) and because the compressor gets the same chunks either way --
        except at level 0 (zlib's stored blocks follow the calls), where this method simply
        writes row by row. ``row_numbers`` name the rows in errors (a row too big for a part).
        """
        if block and not block.endswith(b"\n"):
            raise ValueError("write_block needs rows each terminated by a newline")
        if self._level == 0:
            for index, row in enumerate(block.split(b"\n")[:-1]):
                self.write(row, row_numbers[index] if row_numbers is not None else None)
            return
        start, end, index = 0, len(block), 0
        while start < end:
            room = self._room()
            cut = end if end - start <= room else block.rfind(b"\n", start, start + room) + 1
            if cut > start:  # rows [start, cut) fit as they are: one zlib call
                rows = block.count(b"\n", start, cut)
                with memoryview(block) as view:
                    self._pending += view[start:cut]
                self._feed_chunks()
                self._unflushed += cut - start
                self._raw += cut - start
                self._rows += rows
                index += rows
                start = cut
                continue
            stop = block.index(b"\n", start)  # the next row alone does not fit: the slow path
            self.write(block[start:stop], row_numbers[index] if row_numbers is not None else None)
            index += 1
            start = stop + 1

    def _room(self) -> int:
        """The most raw bytes that can be added to the current part without a flush."""
        # largest x = unflushed + r with emitted + gzip_bound(x) + wrapper < limit
        budget = self._limit - 1 - self._flushed - _GZIP_WRAPPER_BYTES - 64
        if budget < 0:
            return 0
        x = budget * 1024 // 1025
        while x + 1 + ((x + 1) >> 10) <= budget:
            x += 1
        while x > 0 and x + (x >> 10) > budget:
            x -= 1
        return max(x - self._unflushed, 0)

    def close(self) -> list[Part]:
        """Finish the last part (if it holds rows) and return every part written."""
        if self._rows:
            self._finish_part()
            self._start_part()
        return self.parts

    @property
    def rows_written(self) -> int:
        return sum(p.rows for p in self.parts) + self._rows
