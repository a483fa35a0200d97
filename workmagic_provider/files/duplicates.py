"""Duplicate keys within an import, in bounded memory.

Keys (an order id, an imported row's primary key) are reduced to 8-byte BLAKE2b digests. Two
different keys share a digest with probability about n^2 / 2^65 (3e-8 for a million keys).

:class:`KeySet` remembers each digest with the row that first had it, without its memory growing
with the row count the way a ``set`` (or any in-memory table) would:

* the newest ``buffer_keys`` digests live in a fixed-size open-addressing table of two
  ``array('Q')`` (64k keys, 2 MiB, at most half full; never resized);
* when that table is full, its entries are sorted by digest and spilled as one *run* (the
  digests, then their rows: 16 bytes a key) to an anonymous temporary file, with every 64th
  digest of the run kept in memory as a sparse index, so one small ``pread`` answers a lookup;
* a Bloom filter over the spilled digests (4 bits in one 64-bit word a key) means only a
  possible hit reads the runs: under 0.5 % of the lookups of new keys while the filter holds at
  most 16 bits a key. It is allocated at the first spill (4 MiB: 2M keys) and doubles, rebuilt
  from the runs on disk, when it would hold less.

So memory is flat: 2 MiB for up to 64k keys, 6 MiB (plus 0.13 byte a key of sparse index) up to
2M keys, then about 2 bytes a key for the filter, where a growing in-memory table needs 32-48
bytes a key (48 MiB for a million keys while it doubles). The temporary file is created at the
first spill only, so small imports never touch the disk; it is gone when the set is closed or
collected.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from typing import IO

KEY_SEPARATOR = "\x1f"

#: Keys kept in the in-memory table before a spill (the table takes 32 bytes a key: 2 MiB).
DEFAULT_BUFFER_KEYS = 1 << 16
#: Every ``_SPARSE``-th digest of a run is kept in memory.
_SPARSE = 64
#: Bloom filter: bits of filter per spilled key before it is doubled.
_BLOOM_BITS_PER_KEY = 16
#: Bloom filter size at the first spill, in 64-bit words (4 MiB: 2M keys at 16 bits a key).
DEFAULT_BLOOM_WORDS = 1 << 19
#: Two Bloom bits for each 12-bit value: ``_PAIRS[d & 4095] | _PAIRS[(d >> 12) & 4095]`` sets
#: 4 bits of a 64-bit word from bits 0-23 of a digest (bits 24 and up choose the word).
_PAIRS: tuple[int, ...] = tuple((1 << (i & 63)) | (1 << (i >> 6)) for i in range(4096))
_LOW64 = (1 << 64) - 1


def key_digest(parts: Iterable[object]) -> int:
    """The 64-bit digest of a (composite) key; never 0 (0 marks an empty slot)."""
    text = KEY_SEPARATOR.join(str(part) for part in parts)
    value = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")
    return value or 1


def digest_hex(digest: int) -> str:
    return f"{digest:016x}"


class _Run:
    """One sorted run in the spill file: ``count`` digests, then their ``count`` rows."""

    __slots__ = ("count", "index", "offset")

    def __init__(self, offset: int, count: int, index: array[int]) -> None:
        self.offset = offset  # in bytes
        self.count = count
        self.index = index  # digests at positions 0, _SPARSE, 2 * _SPARSE, ...


class KeySet:
    """Digests seen so far, each with the row that first had it (see the module docstring).

    :param buffer_keys: digests held in the in-memory table before a spill to disk.
    :param bloom_words: size of the Bloom filter over spilled digests at the first spill, in
        64-bit words; it doubles whenever it holds more than 16 bits a key.
    :param spill_dir: where the temporary spill file goes (default: the system's temp dir).
    """

    def __init__(
        self,
        buffer_keys: int = DEFAULT_BUFFER_KEYS,
        *,
        bloom_words: int = DEFAULT_BLOOM_WORDS,
        spill_dir: str | None = None,
    ) -> None:
        if buffer_keys < 1 or bloom_words < 1:
            raise ValueError(f"buffer_keys and bloom_words must be positive, got {buffer_keys}")
        size = 2
        while size < buffer_keys * 2:  # load factor at most 1/2 when full
            size *= 2
        self._size = size
        self._limit = buffer_keys
        self._keys = array("Q", bytes(8 * size))
        self._rows = array("Q", bytes(8 * size))
        self._buffered = 0
        self._count = 0
        self._spill_dir = spill_dir
        self._file: IO[bytes] | None = None
        self._runs: list[_Run] = []
        self._spilled = 0
        words = 1
        while words < bloom_words:
            words *= 2
        self._bloom_words = words
        self._bloom = array("Q")  # allocated at the first spill
        self._bloom_mask = 0
        #: Lookups that read the disk (possible hits of the Bloom filter), for tests and tuning.
        self.disk_probes = 0

    def __len__(self) -> int:
        return self._count

    @property
    def runs(self) -> int:
        """Runs spilled to disk so far."""
        return len(self._runs)

    def add(self, digest: int, row: int) -> int | None:
        """Remember ``digest`` for ``row``; return the earlier row if it was already there."""
        index, earlier = self._slot(digest)
        if earlier is None:
            earlier = self._spilled_row(digest)
        if earlier is not None:
            return earlier
        self._keys[index] = digest
        self._rows[index] = row
        self._count += 1
        self._buffered += 1
        if self._buffered >= self._limit:
            self._spill()
        return None

    def get(self, digest: int) -> int | None:
        _, earlier = self._slot(digest)
        return earlier if earlier is not None else self._spilled_row(digest)

    def _slot(self, digest: int) -> tuple[int, int | None]:
        """``digest``'s slot in the in-memory table and its row, or the free slot and None."""
        keys = self._keys
        mask = self._size - 1
        index = (digest ^ (digest >> 29)) & mask
        while True:
            found = keys[index]
            if found == 0:
                return index, None
            if found == digest:
                return index, int(self._rows[index])
            index = (index + 1) & mask

    def _spilled_row(self, digest: int) -> int | None:
        """The row of ``digest`` in the runs on disk; the Bloom filter spares most reads."""
        if not self._runs:
            return None
        bits = _PAIRS[digest & 4095] | _PAIRS[(digest >> 12) & 4095]
        if self._bloom[(digest >> 24) & self._bloom_mask] & bits != bits:
            return None
        return self._find_spilled(digest)

    def close(self) -> None:
        """Remove the spill file and forget every key."""
        if self._file is not None:
            self._file.close()
            self._file = None
        self._runs = []
        self._spilled = self._count = self._buffered = 0
        self._keys = array("Q", bytes(8 * self._size))
        self._rows = array("Q", bytes(8 * self._size))
        self._bloom = array("Q")
        self._bloom_mask = 0

    def __enter__(self) -> KeySet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- spilled runs ----------------------------------------------------------------------
    def _find_spilled(self, digest: int) -> int | None:
        """The row of ``digest`` in the runs on disk (the Bloom filter said it may be there)."""
        self.disk_probes += 1
        assert self._file is not None
        fd = self._file.fileno()
        for run in self._runs:
            slot = bisect_right(run.index, digest) - 1
            if slot < 0:
                continue
            start = slot * _SPARSE
            length = min(_SPARSE, run.count - start)
            block = array("Q")
            block.frombytes(os.pread(fd, 8 * length, run.offset + 8 * start))
            at = bisect_left(block, digest)
            if at < length and block[at] == digest:
                position = run.offset + 8 * (run.count + start + at)
                return int.from_bytes(os.pread(fd, 8, position), sys.byteorder)
        return None

    def _spill(self) -> None:
        """Write the table as one sorted run, add its digests to the Bloom filter, empty it."""
        if not self._bloom:  # first spill: the filter exists before the transients below,
            self._bloom = array("Q", bytes(8 * self._bloom_words))  # so every spill peaks alike
            self._bloom_mask = self._bloom_words - 1
        # one int per entry (digest above row) sorts by digest with the least garbage
        packed = sorted((d << 64) | r for d, r in zip(self._keys, self._rows, strict=True) if d)
        self._keys = self._rows = array("Q")  # release the table before the run is built
        digests = array("Q", (value >> 64 for value in packed))
        rows = array("Q", (value & _LOW64 for value in packed))
        del packed
        if self._file is None:
            self._file = tempfile.TemporaryFile(  # noqa: SIM115 - lives as long as the set
                prefix="workmagic-keys-", dir=self._spill_dir
            )
        handle = self._file
        offset = handle.seek(0, os.SEEK_END)
        digests.tofile(handle)
        rows.tofile(handle)
        handle.flush()
        count = len(digests)
        self._runs.append(_Run(offset, count, digests[::_SPARSE]))
        self._spilled += count
        del rows
        words = max(len(self._bloom), self._bloom_words)
        while self._spilled * _BLOOM_BITS_PER_KEY > words * 64:
            words *= 2
        if words != len(self._bloom):
            self._rebuild_bloom(words)  # reads this run back too
        else:
            self._bloom_add(digests)
        del digests
        self._keys = array("Q", bytes(8 * self._size))
        self._rows = array("Q", bytes(8 * self._size))
        self._buffered = 0

    def _bloom_add(self, digests: Iterable[int]) -> None:
        bloom, mask, pairs = self._bloom, self._bloom_mask, _PAIRS
        for d in digests:
            bloom[(d >> 24) & mask] |= pairs[d & 4095] | pairs[(d >> 12) & 4095]

    def _rebuild_bloom(self, words: int) -> None:
        """A Bloom filter of ``words`` words over every spilled digest, read back from disk."""
        self._bloom = array("Q")  # the old filter goes first: never two filters at once
        self._bloom = array("Q", bytes(8 * words))
        self._bloom_mask = words - 1
        assert self._file is not None
        fd = self._file.fileno()
        chunk = 1 << 16  # digests read at once
        for run in self._runs:
            for start in range(0, run.count, chunk):
                block = array("Q")
                length = min(chunk, run.count - start)
                block.frombytes(os.pread(fd, 8 * length, run.offset + 8 * start))
                self._bloom_add(block)
