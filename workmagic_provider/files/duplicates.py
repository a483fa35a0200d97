"""Duplicate keys within an import (spec R8), in about 12 bytes per distinct key.

Keys (an order id, an imported row's primary key) are reduced to 8-byte BLAKE2b digests and
kept with the row that first used them in an open-addressing table of two arrays, so checking a
million keys costs tens of megabytes instead of the hundreds a ``set`` of strings would. Two
different keys share a digest with probability about n^2 / 2^65 (3e-8 for a million keys).
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Iterable

KEY_SEPARATOR = "\x1f"


def key_digest(parts: Iterable[object]) -> int:
    """The 64-bit digest of a (composite) key; never 0 (0 marks an empty slot)."""
    text = KEY_SEPARATOR.join(str(part) for part in parts)
    value = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")
    return value or 1


def digest_hex(digest: int) -> str:
    return f"{digest:016x}"


class KeySet:
    """Digests seen so far, each with the row that first had it."""

    def __init__(self, capacity: int = 1024) -> None:
        size = 1
        while size < capacity * 2:
            size *= 2
        self._size = size
        self._keys = array("Q", bytes(8 * size))
        self._rows = array("Q", bytes(8 * size))
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def add(self, digest: int, row: int) -> int | None:
        """Remember ``digest`` for ``row``; return the earlier row if it was already there."""
        keys = self._keys
        mask = self._size - 1
        index = (digest ^ (digest >> 29)) & mask
        while True:
            found = keys[index]
            if found == 0:
                keys[index] = digest
                self._rows[index] = row
                self._count += 1
                if self._count * 10 > self._size * 7:
                    self._grow()
                return None
            if found == digest:
                return int(self._rows[index])
            index = (index + 1) & mask

    def get(self, digest: int) -> int | None:
        keys = self._keys
        mask = self._size - 1
        index = (digest ^ (digest >> 29)) & mask
        while True:
            found = keys[index]
            if found == 0:
                return None
            if found == digest:
                return int(self._rows[index])
            index = (index + 1) & mask

    def _grow(self) -> None:
        old = zip(self._keys, self._rows, strict=True)
        self._size *= 2
        self._keys = array("Q", bytes(8 * self._size))
        self._rows = array("Q", bytes(8 * self._size))
        self._count = 0
        for digest, row in old:
            if digest:
                self.add(digest, row)
