"""JSON Lines reader: yields ``(line_number, raw_bytes)`` so validation stays in pydantic-core.

Blank lines are skipped but counted, so row numbers in reports are the line numbers a user sees
in an editor. The first record is parsed once up front: a file whose first record is not a JSON
object is unusable input (wrong format), not a file of invalid rows.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator
from typing import IO, Any

from workmagic_provider.exceptions import WorkMagicInputError
from workmagic_provider.files.sources import open_binary, source_name

_BOM = b"\xef\xbb\xbf"


def iter_lines(stream: IO[bytes], name: str = "input") -> Iterator[tuple[int, bytes]]:
    """Yield non-blank lines of a binary stream with their 1-based line numbers."""
    first = True
    number = 0
    try:
        for line in stream:
            number += 1
            if first and line.startswith(_BOM):
                line = line[len(_BOM) :]
            stripped = line.strip()
            if not stripped:
                continue
            if first:
                _check_first_record(stripped, number, name)
                first = False
            yield number, stripped
    except (gzip.BadGzipFile, EOFError, zlib.error) as err:
        raise WorkMagicInputError(f"{name} is not a readable gzip file: {err}") from err


def _check_first_record(raw: bytes, number: int, name: str) -> None:
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as err:
        raise WorkMagicInputError(
            f"{name} is not JSON Lines: line {number} is not valid JSON ({err})"
        ) from err
    if not isinstance(value, dict):
        raise WorkMagicInputError(
            f"{name} is not JSON Lines of objects: line {number} is a {type(value).__name__}"
        )


def read_json_lines(source: Any) -> Iterator[tuple[int, bytes]]:
    """Open ``source`` (path or ObjectStoragePath, plain or gzip) and yield its lines."""
    with open_binary(source) as stream:
        yield from iter_lines(stream, source_name(source))
