"""CSV reader: delimiter detection, UTF-8 with or without BOM, quoted fields over several lines.

Yields ``(line_number, fields)`` where ``line_number`` is the line a record starts on (the
header is line 1), so a record with an embedded newline is reported where a user finds it.
Blank lines are skipped. Checking the record width against the header is the caller's job
(:mod:`workmagic_provider.files.tables`), which reports ragged records as row errors.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterator
from typing import IO, Any

from workmagic_provider.exceptions import WorkMagicInputError

#: Delimiters tried, in order of preference when several split the header equally well.
DELIMITERS: tuple[str, ...] = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
SAMPLE_BYTES = 64 * 1024
_SAMPLE_RECORDS = 50


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


def iter_csv_records(
    stream: IO[bytes], name: str = "input", delimiter: str | None = None
) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(start line, fields)`` of every non-blank CSV record of a UTF-8 byte stream."""
    head = stream.read(SAMPLE_BYTES)
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    sample = head.decode("utf-8", errors="ignore")
    if delimiter is None:
        delimiter = detect_delimiter(sample, name)
    text = io.TextIOWrapper(
        io.BufferedReader(_Prefixed(head, stream), buffer_size=SAMPLE_BYTES),
        encoding="utf-8",
        newline="",
    )
    reader = csv.reader(text, delimiter=delimiter)
    line = 0
    while True:
        start = line + 1
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            raise WorkMagicInputError(f"{name}: line {reader.line_num}: {err}") from err
        except UnicodeDecodeError as err:
            raise WorkMagicInputError(
                f"{name} is not UTF-8 text (after line {reader.line_num}): {err.reason}"
            ) from err
        line = reader.line_num
        if not record or (len(record) == 1 and not record[0].strip()):
            continue
        yield start, record
