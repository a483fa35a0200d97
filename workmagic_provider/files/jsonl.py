"""JSON Lines reader: yields ``(line_number, raw_bytes)`` so validation stays in pydantic-core.

Blank lines are skipped but counted, so row numbers in reports are the line numbers a user sees
in an editor. An object may also be spread over several lines (pretty-printed, objects
separated by newlines, spec R1): its row number is the line it starts on and it is yielded as
one line (its lines joined by a space, which is safe because a JSON string cannot span lines).
A line that starts with ``{`` and ends with ``}`` is taken as a whole object without parsing it
(the fast path); only other lines are buffered until the buffer parses. A buffered object ends
at the line that completes it, at the next line starting with ``{`` in column 0 (a new object:
the buffer is yielded as it is and validation reports it), or at the end of the input.

The first record is parsed once up front: a file whose first record is not a JSON object is
unusable input (wrong format), not a file of invalid rows.
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
#: A multi-line object larger than this is yielded as it is (and reported invalid).
MAX_OBJECT_BYTES = 16 * 1024 * 1024


def iter_lines(stream: IO[bytes], name: str = "input") -> Iterator[tuple[int, bytes]]:
    """Yield the JSON objects of a binary stream with the 1-based line each starts on."""
    first = True
    number = 0
    pending: list[bytes] = []  # lines of a multi-line object
    pending_start = 0
    pending_size = 0
    check_pending = False  # the buffered object is the file's first record
    try:
        for line in stream:
            number += 1
            if number == 1 and line.startswith(_BOM):
                line = line[len(_BOM) :]
            stripped = line.strip()
            if not stripped:
                continue
            if pending:
                if line[:1] == b"{":  # a new top-level object: the buffered one never closed
                    if check_pending:
                        _check_first_record(b" ".join(pending), pending_start, name)
                    yield pending_start, b" ".join(pending)
                    pending, pending_size, check_pending = [], 0, False
                else:
                    pending.append(stripped)
                    pending_size += len(stripped)
                    if _completes(stripped, pending, pending_size):
                        yield pending_start, b" ".join(pending)
                        pending, pending_size, check_pending = [], 0, False
                    continue
            if stripped[:1] == b"{" and stripped[-1:] == b"}":
                if first:
                    _check_first_record(stripped, number, name)
                    first = False
                yield number, stripped
                continue
            if stripped[:1] != b"{" and first:
                _check_first_record(stripped, number, name)  # raises: not an object
            pending, pending_start, pending_size = [stripped], number, len(stripped)
            check_pending, first = first, False
        if pending:
            if check_pending:
                _check_first_record(b" ".join(pending), pending_start, name)
            yield pending_start, b" ".join(pending)
    except (gzip.BadGzipFile, EOFError, zlib.error) as err:
        raise WorkMagicInputError(f"{name} is not a readable gzip file: {err}") from err


def _completes(last: bytes, pending: list[bytes], size: int) -> bool:
    if size > MAX_OBJECT_BYTES:
        return True
    if last[-1:] != b"}":
        return False
    try:
        json.loads(b" ".join(pending))
    except ValueError:
        return False
    return True


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
    """Open ``source`` (path or ObjectStoragePath, plain or gzip) and yield its objects."""
    with open_binary(source) as stream:
        yield from iter_lines(stream, source_name(source))
