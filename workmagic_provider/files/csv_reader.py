"""CSV reader: delimiter detection, UTF-8 with or without BOM, quoted fields over several lines.

Yields ``(line_number, fields)`` where ``line_number`` is the line a record starts on (the
header is line 1), so a record with an embedded line break is reported where a user finds it.
Lines end with ``\\n``, ``\\r\\n`` or a lone ``\\r`` (each read as a line break; one inside a
quoted field is kept as it is). Blank lines are skipped. Checking the width of single-line
records against the header is the caller's job (:mod:`workmagic_provider.files.grouping`).

One bad line never swallows the rest of the file. A record is parsed from as few lines as the
``csv`` module needs; when it needs more than one line, its quoted field is trusted only if

* it closes within ``max_record_lines`` lines (default :data:`MAX_RECORD_LINES`), and
* the record then has the header's number of fields,

otherwise (and at any ``csv`` error, e.g. a field over its size limit, or a line that is not
UTF-8) the record's first line is a row error and reading goes on at the line after it, so an
unterminated ``"`` costs exactly its own row. Work stays linear: a line is re-read at most
``max_record_lines`` times.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Callable, Iterator
from typing import IO, Any

from workmagic_provider.exceptions import WorkMagicInputError
from workmagic_provider.files.jsonl import split_lines

#: Delimiters tried, in order of preference when several split the header equally well.
DELIMITERS: tuple[str, ...] = (",", ";", "\t", "|")
SAMPLE_BYTES = 64 * 1024
#: Lines one quoted field may span before its opening line counts as an unterminated quote.
MAX_RECORD_LINES = 100
_SAMPLE_RECORDS = 50
_BOM = b"\xef\xbb\xbf"

#: Receives a record the reader rejects itself: start line, reason, the line's text.
Problem = Callable[[int, str, str], None]


class _Prefixed(io.RawIOBase):
    """A raw stream that returns ``head`` and then the rest of ``tail``."""

    def __init__(self, head: bytes, tail: IO[bytes]) -> None:
        self.head = memoryview(head)
        self.tail = tail

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.head:
            n = min(len(buffer), len(self.head))
            buffer[:n] = self.head[:n]
            self.head = self.head[n:]
            return n
        chunk = self.tail.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


class _Reject(Exception):
    """The record starting at the current line cannot be read (reason in ``args[0]``)."""

    def __init__(self, reason: str, skip_to: int | None = None) -> None:
        super().__init__(reason)
        self.skip_to = skip_to  # the last line that is part of the bad record, if known


def detect_delimiter(sample: str, name: str = "input") -> str:
    """The delimiter that splits the header into the most columns, consistently.

    A candidate counts only if it splits the header into 2 or more fields; among those, one
    whose records (in the sample) mostly have the header's width wins, then the widest header,
    then the order of :data:`DELIMITERS`. Quotes are honoured (a ``;`` inside a quoted field
    does not count). Raises :class:`WorkMagicInputError` naming line 1 when none fits.
    """
    lines = sample.splitlines(keepends=True)
    if len(sample) >= SAMPLE_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line of a cut sample may be partial
    best: tuple[int, int, int] | None = None
    chosen = ""
    for rank, delimiter in enumerate(DELIMITERS):
        try:
            reader = csv.reader(lines, delimiter=delimiter)
            records = list(itertools.islice(reader, _SAMPLE_RECORDS))
        except csv.Error:
            continue
        records = [r for r in records if r]
        if not records or len(records[0]) < 2:
            continue
        width = len(records[0])
        consistent = sum(1 for r in records[1:] if len(r) == width)
        score = (consistent * 2 >= len(records) - 1, width, -rank)
        if best is None or score > best:
            best, chosen = score, delimiter
    if not chosen:
        first = lines[0].rstrip("\r\n") if lines else ""
        raise WorkMagicInputError(
            f"{name}: cannot detect the CSV delimiter: line 1 (the header, {first[:80]!r}) is "
            "not split into columns by a comma, semicolon, tab or pipe"
        )
    return chosen


class _Lines:
    """Numbered physical lines of a byte stream, with lines put back to be read again."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._source = split_lines(stream, keepends=True)
        self._number = 0
        self._back: list[tuple[int, bytes | None]] = []  # a stack: next line last

    def next(self) -> tuple[int, bytes | None] | None:
        """``(number, bytes)``; bytes ``None`` for a line too long to keep; None at the end."""
        if self._back:
            return self._back.pop()
        found = next(self._source, None)
        if found is None:
            return None
        self._number += 1
        line, too_long = found
        if self._number == 1 and line.startswith(_BOM):
            line = line[len(_BOM) :]
        return self._number, None if too_long else line

    def put_back(self, lines: list[tuple[int, bytes | None]]) -> None:
        self._back.extend(reversed(lines))


def _text(number: int, line: bytes | None) -> str:
    if line is None:
        raise _Reject(f"line {number} is too long to be a CSV record", number)
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError as err:
        raise _Reject(
            f"line {number} is not UTF-8 text (byte 0x{line[err.start]:02x} at column "
            f"{err.start + 1}); save the file as UTF-8",
            number,
        ) from None


def iter_csv_records(
    stream: IO[bytes],
    name: str = "input",
    delimiter: str | None = None,
    *,
    problem: Problem | None = None,
    max_record_lines: int = MAX_RECORD_LINES,
) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(start line, fields)`` of every non-blank CSV record of a UTF-8 byte stream.

    ``problem(line, reason, text)`` receives records that cannot be read (see the module
    docstring); without it they raise :class:`WorkMagicInputError`, and so does a header that
    cannot be read.
    """
    head = stream.read(SAMPLE_BYTES)
    if delimiter is None:
        delimiter = detect_delimiter(head.removeprefix(_BOM).decode("utf-8", "ignore"), name)
    lines = _Lines(io.BufferedReader(_Prefixed(head, stream), buffer_size=SAMPLE_BYTES))
    feed = _Feed(lines, max_record_lines)
    reader = csv.reader(feed, delimiter=delimiter)  # one reader: it resets at every record
    width: int | None = None  # the header's, once read
    while True:
        taken: list[tuple[int, bytes | None]] = []
        feed.taken = taken
        try:
            record = next(reader)
            if len(taken) > 1 and width is not None and len(record) != width:
                raise _Reject(
                    f"a quoted field opened on line {taken[0][0]} makes a record of "
                    f"{len(record)} fields over lines {taken[0][0]}-{taken[-1][0]} (the header "
                    f'has {width}); an unterminated " is read as part of this line only'
                )
        except StopIteration:
            return
        except (_Reject, csv.Error) as err:
            start, line = taken[0]
            if width is None or problem is None:
                raise WorkMagicInputError(f"{name}: line {start}: {err}") from None
            problem(start, str(err), _shown(line))
            skip_to = err.skip_to if isinstance(err, _Reject) else None
            if skip_to is not None:  # that line is unreadable: go on after it
                lines.put_back([t for t in taken if t[0] > skip_to])
            else:
                lines.put_back(taken[1:])
            continue
        if not record or (len(record) == 1 and not record[0].strip()):
            continue
        if width is None:
            width = len(record)
        yield taken[0][0], record


class _Feed:
    """The lines ``csv.reader`` asks for, each recorded in ``taken`` (the current record's).

    An iterator class, not a generator, so that raising (a record over ``max_lines`` lines,
    an unreadable line) leaves it usable for the next record.
    """

    def __init__(self, lines: _Lines, max_lines: int) -> None:
        self.lines = lines
        self.max_lines = max_lines
        self.taken: list[tuple[int, bytes | None]] = []

    def __iter__(self) -> _Feed:
        return self

    def __next__(self) -> str:
        taken = self.taken
        if len(taken) >= self.max_lines:
            raise _Reject(
                f"a quoted field opened on line {taken[0][0]} is not closed within "
                f"{self.max_lines} lines"
            )
        found = self.lines.next()
        if found is None:
            if taken:
                raise _Reject(f"a quoted field opened on line {taken[0][0]} is never closed")
            raise StopIteration
        taken.append(found)
        return _text(*found)


def _shown(line: bytes | None) -> str:
    """The rejected line as text for the rejected-rows sidecar (undecodable bytes escaped)."""
    if line is None:
        return ""
    return line.rstrip(b"\r\n").decode("utf-8", errors="backslashreplace")
