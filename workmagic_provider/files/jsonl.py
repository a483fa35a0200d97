"""JSON Lines reader: yields ``(line_number, raw_bytes)`` so validation stays in pydantic-core.

Lines end with ``\\n``, ``\\r\\n`` or a lone ``\\r`` (a JSON string cannot hold a raw line
break, so splitting on each is safe), and a UTF-8 byte-order mark at the start of any line is
dropped (two exports concatenated). Blank lines are skipped but counted, so row numbers are the
line numbers a user sees in an editor.

An object may be spread over several lines (pretty-printed). A line that starts with ``{`` and
ends with ``}`` is a whole object (the fast path, never parsed here). Any other line starting
with ``{`` opens an object that is collected, line by line, until its brackets balance: the
brackets outside strings are counted once per line, so the work is linear in the input and the
object is parsed once, by validation. The object ends early, as it is, at a line starting with
``{`` in column 0 that is a whole object or follows a complete value (a new object: the
unclosed one is reported by validation); after ``,``, ``[``, ``{`` or ``:`` a line that only
opens an object is a nested value (``json.dumps(indent=0)``). A line that
starts with anything else is a row of its own (reported invalid by validation), so two bad
lines are two row errors.

Bounded memory per row: a line or a multi-line object over :data:`MAX_OBJECT_BYTES` is a row
error (``problem``) and its bytes are not kept. The first record is parsed once up front: a
file whose first record is not a JSON object is unusable input, not a file of invalid rows.
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from collections.abc import Callable, Iterator
from typing import IO, Any

from workmagic_provider.exceptions import WorkMagicInputError

_BOM = b"\xef\xbb\xbf"
_CHUNK = 1 << 16
#: A line or multi-line object larger than this is a row error (its bytes are not kept).
MAX_OBJECT_BYTES = 16 * 1024 * 1024
#: Strings (with escapes) of one line: brackets inside them do not count.
JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')

_EXPECTS_VALUE = (b",", b"[", b"{", b":")
_EOL = re.compile(rb"(\r\n|\r|\n)")

#: Receives a row the reader rejects itself: row (line) number and the reason.
Problem = Callable[[int, str], None]


def split_lines(
    stream: IO[bytes], limit: int = MAX_OBJECT_BYTES, keepends: bool = False
) -> Iterator[tuple[bytes, bool]]:
    """``(line, too_long)`` for every line of ``stream``, any line ending, in bounded memory.

    ``keepends`` keeps each line's own ending (``\\r\\n``, ``\\r`` or ``\\n``; CSV needs it
    for line breaks inside quoted fields); otherwise endings are dropped. A line longer than
    ``limit`` comes back as ``(b"", True)``; its bytes are not kept.
    """
    parts: list[bytes] = []  # pieces of the line not terminated yet
    size = 0
    too_long = False
    tail = b""  # a \r at the end of a read: it may be the first half of \r\n
    while True:
        data = stream.read(_CHUNK)
        end_of_input = not data
        data = tail + data if tail else data
        tail = b""
        if not end_of_input and data.endswith(b"\r"):
            data, tail = data[:-1], b"\r"
        if keepends:
            pieces, endings = _split_keeping_ends(data)
        else:
            if b"\r" in data:
                data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            pieces, endings = data.split(b"\n"), None
        last = len(pieces) - 1
        if last:  # the first piece ends the pending line, the middle ones are whole lines
            first = pieces[0]
            if too_long or size + len(first) > limit:
                yield b"", True
            else:
                if parts:
                    parts.append(first)
                    first = b"".join(parts)
                yield (first + endings[0] if endings is not None else first), False
            parts, size, too_long = [], 0, False
            for index in range(1, last):
                piece = pieces[index]
                if len(piece) > limit:
                    yield b"", True
                else:
                    yield (piece + endings[index] if endings is not None else piece), False
        rest = pieces[last]
        if rest and not too_long:
            size += len(rest)
            if size > limit:
                too_long, parts = True, []
            else:
                parts.append(rest)
        if end_of_input:
            break
    if parts or too_long:
        yield (b"", True) if too_long else (b"".join(parts), False)


def _split_keeping_ends(data: bytes) -> tuple[list[bytes], list[bytes]]:
    """``data`` split at every line ending: the pieces (one more) and the endings between."""
    pieces = _EOL.split(data)
    return pieces[0::2], pieces[1::2]


def bracket_depth(line: bytes) -> int:
    """Opening minus closing brackets of ``line``, outside its JSON strings."""
    if b'"' in line:
        line = JSON_STRING.sub(b"", line)
    return line.count(b"{") + line.count(b"[") - line.count(b"}") - line.count(b"]")


def iter_lines(
    stream: IO[bytes], name: str = "input", problem: Problem | None = None
) -> Iterator[tuple[int, bytes]]:
    """Yield the JSON records of a binary stream with the 1-based line each starts on.

    ``problem(row, reason)`` receives rows too large to keep; without it they raise
    :class:`WorkMagicInputError`.
    """
    first = True
    number = 0
    pending: list[bytes] = []  # lines of a multi-line object
    start = depth = size = 0
    last_end = b""  # the last byte of the open object's last line
    skipping = False  # inside a multi-line object that grew too large

    def too_large(row: int, what: str) -> None:
        reason = f"{what} is over {MAX_OBJECT_BYTES} bytes"
        if problem is None:
            raise WorkMagicInputError(f"{name}: line {row}: {reason}")
        problem(row, reason)

    try:
        for line, too_long in split_lines(stream):
            number += 1
            if too_long:
                if pending or skipping:
                    too_large(start, f"the object starting on line {start}")
                    pending, skipping = [], False
                else:
                    too_large(number, "the line")
                first = False
                continue
            if line.startswith(_BOM):
                line = line[len(_BOM) :]
            stripped = line.strip()
            if not stripped:
                continue
            if pending or skipping:
                # part of the open object, unless a "{" in column 0 starts a new one: a line
                # that is a whole object does, and so does any after a complete value; after
                # ",", "[", "{" or ":" an opening "{" is nested (json.dumps(indent=0))
                if line[:1] != b"{" or (last_end in _EXPECTS_VALUE and stripped[-1:] != b"}"):
                    depth += bracket_depth(stripped)
                    last_end = stripped[-1:]
                    if not skipping:
                        pending.append(stripped)
                        size += len(stripped)
                        if size > MAX_OBJECT_BYTES:
                            pending, skipping = [], True
                    if depth <= 0:
                        if skipping:
                            too_large(start, f"the object starting on line {start}")
                            skipping = False
                        else:
                            yield start, _finish(pending, start, first, name)
                            pending, first = [], False
                    continue
                if skipping:
                    too_large(start, f"the object starting on line {start}")
                    skipping = False
                else:  # the open object never closed: validation reports it as it is
                    yield start, _finish(pending, start, first, name)
                    pending, first = [], False
            if stripped[:1] != b"{" or stripped[-1:] == b"}":
                if first:
                    _check_first_record(stripped, number, name)
                    first = False
                yield number, stripped
                continue
            depth = bracket_depth(stripped)
            if depth <= 0:  # e.g. an object followed by text on its line: one (bad) row
                if first:
                    _check_first_record(stripped, number, name)
                    first = False
                yield number, stripped
                continue
            pending, start, size = [stripped], number, len(stripped)
            last_end = stripped[-1:]
        if skipping:
            too_large(start, f"the object starting on line {start}")
        elif pending:
            yield start, _finish(pending, start, first, name)
    except (gzip.BadGzipFile, EOFError, zlib.error) as err:
        raise WorkMagicInputError(f"{name} is not a readable gzip file: {err}") from err


def _finish(pending: list[bytes], start: int, first: bool, name: str) -> bytes:
    # lines joined by a space: safe, because a JSON string cannot span lines
    raw = b" ".join(pending)
    if first:
        _check_first_record(raw, start, name)
    return raw


def _check_first_record(raw: bytes, number: int, name: str) -> None:
    try:
        value = json.loads(raw)
    except RecursionError:
        return  # nested too deeply for this parser, yet an object: validation reports it
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
    from workmagic_provider.files.sources import open_binary

    with open_binary(source) as stream:
        yield from iter_lines(stream, str(source))
