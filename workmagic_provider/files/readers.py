"""One entry point for every input file: detect the format, read, clean, check keys.

:class:`InputReader` turns a CSV, Excel (``.xlsx``) or JSON Lines file (plain or gzip, local
path or ``ObjectStoragePath``) into numbered JSON lines for the upload pipeline
(:func:`workmagic_provider.files.pipeline.upload_lines`), so the CLI, the upload operators and
the file import read files the same way. The format is detected from the content: a zip
archive is a workbook, a first character ``{`` is JSON Lines, anything else is CSV (its
delimiter is detected too).

Table inputs (CSV, Excel) go through the header mapping (:mod:`.headers`), grouping
(:mod:`.grouping`) and, for imported rows, cleaning (:mod:`.cleaning`); JSON Lines must already
have the schema's shape (spec R7) and pass through untouched. Keys must be unique within the
import (spec R8: order ids, imported primary keys, enrich order ids): a repeat is rejected
naming the row that had it first. A ``gate`` (the import manifest) may drop or reject records
already imported.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Generator, Iterator
from typing import IO, Any, Literal

from workmagic_provider.exceptions import WorkMagicConfigError, WorkMagicInputError
from workmagic_provider.files.duplicates import KeySet, key_digest
from workmagic_provider.files.sources import open_binary, source_name
from workmagic_provider.schemas import IMPORTED_PRIMARY_KEY, SchemaOptions, ValidationReport
from workmagic_provider.schemas.report import ROW

Format = Literal["auto", "csv", "excel", "jsonl"]
FORMATS: tuple[str, ...] = ("auto", "csv", "excel", "jsonl")
#: Receives each rejected record: row number and its raw input (a JSON text).
Rejected = Callable[[int, Any], None]
#: Decides on a record already keyed: ``None`` keep, ``"drop"`` leave out silently, any other
#: text rejects the record with that reason.
Gate = Callable[[int, int], str | None]

_XLS_MAGIC = b"\xd0\xcf\x11\xe0"
_ZIP_MAGIC = b"PK\x03\x04"


def detect_format(head: bytes, name: str = "input") -> str:
    """``"excel"``, ``"jsonl"`` or ``"csv"`` from the first bytes of a (gunzipped) input."""
    if head.startswith(_ZIP_MAGIC):
        return "excel"
    if head.startswith(_XLS_MAGIC):
        raise WorkMagicInputError(
            f"{name} is an old binary Excel file (.xls); save it as .xlsx or CSV"
        )
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if text[:1] == b"{":
        return "jsonl"
    if text[:1] == b"[":
        raise WorkMagicInputError(
            f"{name} is a JSON array; WorkMagic takes JSON Lines (one object per line)"
        )
    return "csv"


def key_of(schema: str, record: dict[str, Any]) -> tuple[str, tuple[Any, ...]] | None:
    """The field that names a record's key and the key's parts, or None if it has none."""
    if schema == "imported":
        parts = tuple(record.get(f) for f in IMPORTED_PRIMARY_KEY)
        if any(p is None or p == "" for p in parts):
            return None
        return "primary key", parts
    field = "order_id" if schema == "enrich" else "id"
    value = record.get(field)
    if value is None or value == "" or isinstance(value, (dict, list)):
        return None
    return field, (value,)


class InputReader:
    """Reads the files of one import for ``schema`` into one report.

    :param clean: clean imported rows of tables (see :mod:`.cleaning`); counts in ``cleaned``.
    :param unique: reject repeated keys; ``None`` (default) checks tables only, so plain JSON
        Lines conversion keeps its fast path (the file import passes ``True``).
    :param rejected: receives rows the reader rejects itself (ragged, conflicting, duplicate).
    :param gate: see :data:`Gate`; given, every record's key is computed (JSON Lines too).
    """

    def __init__(
        self,
        schema: str,
        report: ValidationReport,
        *,
        options: SchemaOptions | None = None,
        input_format: str = "auto",
        clean: bool = True,
        day_first: bool = False,
        unique: bool | None = None,
        rejected: Rejected | None = None,
        gate: Gate | None = None,
    ) -> None:
        if input_format not in FORMATS:
            raise WorkMagicConfigError(
                f"input_format must be one of {', '.join(FORMATS)}, got {input_format!r}"
            )
        self.schema = schema
        self.report = report
        self.options = options or SchemaOptions()
        self.input_format = input_format
        self.unique = unique
        self.rejected = rejected
        self.gate = gate
        self.cleaner: Any = None
        if clean and schema == "imported":
            from workmagic_provider.files.cleaning import ImportedCleaner

            self.cleaner = ImportedCleaner(week_start=self.options.week_start, day_first=day_first)
        self.keys = KeySet()
        self.formats: Counter[str] = Counter()
        self._table_counts: Counter[str] = Counter()
        self.dropped = 0
        self.duplicates = 0

    @property
    def cleaned(self) -> dict[str, int]:
        """Changes made to the input, by rule (see :mod:`.cleaning`)."""
        counts = Counter(self._table_counts)
        if self.cleaner is not None:
            counts.update(self.cleaner.counts)
        return dict(sorted(counts.items()))

    def summary(self) -> dict[str, Any]:
        return {
            "formats": dict(self.formats),
            "cleaned": self.cleaned,
            "duplicates": self.duplicates,
            "dropped_already_imported": self.dropped,
        }

    def close(self) -> None:
        """Forget the keys seen and remove their spill file (see :class:`.duplicates.KeySet`)."""
        self.keys.close()

    # -- reading ---------------------------------------------------------------------------
    def read(self, source: Any, offset: int = 0) -> Generator[tuple[int, bytes | str], None, int]:
        """Yield ``(row, JSON line)`` of one input, rows numbered from ``offset + 1``.

        Returns the last row number used, so the next input continues after it.
        """
        name = source_name(source)
        with open_binary(source) as stream:
            fmt = self.input_format
            if fmt == "auto":
                fmt = detect_format(_peek(stream, name), name)
            self.formats[fmt] += 1
            if fmt == "jsonl":
                return (yield from self._read_json_lines(stream, name, offset))
            return (yield from self._read_table(stream, fmt, name, offset))

    def _read_json_lines(
        self, stream: IO[bytes], name: str, offset: int
    ) -> Generator[tuple[int, bytes | str], None, int]:
        from workmagic_provider.files.jsonl import iter_lines

        last = offset
        check = self.unique is True or self.gate is not None
        for number, raw in iter_lines(stream, name):
            last = row = offset + number
            if check:
                try:
                    record = json.loads(raw)
                except ValueError:
                    record = None  # validation reports it
                if isinstance(record, dict) and not self._admit(row, record, raw):
                    continue
            yield row, raw
        return last

    def _read_table(
        self, stream: IO[bytes], fmt: str, name: str, offset: int
    ) -> Generator[tuple[int, bytes | str], None, int]:
        from workmagic_provider.files.grouping import TableRecords
        from workmagic_provider.files.headers import map_header

        rows: Iterator[tuple[int, list[str]]]
        if fmt == "excel":
            from workmagic_provider.files.excel import iter_excel_records

            rows = iter_excel_records(stream, name)
        else:
            from workmagic_provider.files.csv_reader import iter_csv_records

            rows = iter_csv_records(stream, name)
        try:
            _, header = next(rows)
        except StopIteration:
            raise WorkMagicInputError(f"{name} is empty: expected a header row") from None
        columns = map_header(header, name, items=self.schema == "custom-site")

        def shifted(row: int, raw: Any) -> None:
            if self.rejected is not None:
                self.rejected(offset + row, raw)

        table = TableRecords(
            columns,
            _ShiftedReport(self.report, offset),  # type: ignore[arg-type]
            group=self.schema == "custom-site",
            pad_short=fmt == "excel",
            rejected=shifted,
            name=name,
        )
        check = self.unique is not False
        dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
        cleaner = self.cleaner
        try:
            for line, record in table.records(rows):
                row = offset + line
                if cleaner is not None:
                    cleaner.clean(record)
                if (check or self.gate is not None) and not self._admit(row, record, None):
                    continue
                yield row, dumps(record)
        finally:
            self._table_counts.update(table.counts)
        return offset + table.last_line

    # -- keys ------------------------------------------------------------------------------
    def _admit(self, row: int, record: dict[str, Any], raw: Any) -> bool:
        found = key_of(self.schema, record)
        if found is None:
            return True
        field, parts = found
        digest = key_digest(parts)
        if self.unique is not False:
            first = self.keys.add(digest, row)
            if first is not None:
                self.duplicates += 1
                shown = parts[0] if len(parts) == 1 else ", ".join(str(p) for p in parts)
                self._reject(
                    row,
                    field if len(parts) == 1 else ROW,
                    f"duplicate {field} ({shown}): row {first} already has it; keys must be "
                    "unique within an import",
                    record,
                    raw,
                )
                return False
        if self.gate is not None:
            verdict = self.gate(row, digest)
            if verdict == "drop":
                self.dropped += 1
                return False
            if verdict is not None:
                self._reject(row, field if len(parts) == 1 else ROW, verdict, record, raw)
                return False
        return True

    def _reject(self, row: int, field: str, reason: str, record: Any, raw: Any) -> None:
        self.report.add(row, field, reason)
        if self.rejected is not None:
            self.rejected(row, raw if raw is not None else json.dumps(record, ensure_ascii=False))


class _ShiftedReport:
    """A report view that adds ``offset`` to row numbers (tables number rows per file)."""

    def __init__(self, report: ValidationReport, offset: int) -> None:
        self._report = report
        self._offset = offset

    def add(self, row: int, field: str, reason: str, value: Any = None) -> None:
        self._report.add(row + self._offset, field, reason, value)


def _peek(stream: IO[bytes], name: str) -> bytes:
    """The first bytes of ``stream`` without consuming them (it is buffered or gzip)."""
    import gzip
    import zlib

    try:
        head: bytes = stream.peek(64)  # type: ignore[attr-defined]
    except (gzip.BadGzipFile, EOFError, zlib.error) as err:
        raise WorkMagicInputError(f"{name} is not a readable gzip file: {err}") from err
    return head[:64]


def read_input(
    source: Any,
    schema: str,
    report: ValidationReport,
    **kwargs: Any,
) -> Iterator[tuple[int, bytes | str]]:
    """Numbered JSON lines of one input file of any supported format (see :class:`InputReader`)."""
    reader = InputReader(schema, report, **kwargs)
    return reader.read(source)
