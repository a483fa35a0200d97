"""The part writer's gzip compressor: ISA-L's where installed (the ``fast`` extra), else zlib.

Compression is a large share of ``convert``'s time; ISA-L (``isal``) writes the same standard
gzip several times faster at a slightly lower ratio, so it is used whenever it can be imported.
Levels are zlib's 0-9; with ISA-L, 1-3 map to its level 1, 4-6 to 2 and 7-9 to 3. Level 0
(stored blocks) always uses zlib: ISA-L's level 0 still Huffman-codes, and can make
incompressible rows larger than the part writer's size bound allows.
"""

from __future__ import annotations

import zlib
from types import ModuleType
from typing import Any, Protocol

_isal_zlib: ModuleType | None
try:
    from isal import isal_zlib as _isal_zlib
except ImportError:  # the fast extra is not installed: zlib it is
    _isal_zlib = None

GZIP_WBITS = 31  # deflate with a gzip wrapper; the header's mtime is 0, so output is repeatable


class Compressor(Protocol):
    """What the part writer needs of a compress object (``zlib`` and ``isal_zlib`` alike)."""

    def compress(self, data: Any, /) -> bytes: ...

    def flush(self, mode: int = ..., /) -> bytes: ...


def isal_available() -> bool:
    return _isal_zlib is not None


def compressobj(level: int, fast: bool | None = None) -> Compressor:
    """A gzip compressor for zlib ``level``; ISA-L's if ``fast`` (default: where installed)."""
    use_isal = isal_available() if fast is None else fast
    if use_isal and level > 0:
        if _isal_zlib is None:
            raise ImportError("isal is not installed: pip install airflow-provider-workmagic[fast]")
        return _isal_zlib.compressobj((level + 2) // 3, _isal_zlib.DEFLATED, GZIP_WBITS)
    return zlib.compressobj(level, zlib.DEFLATED, GZIP_WBITS)
