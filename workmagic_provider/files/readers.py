"""One entry point for every input file: detect the format, read, clean, check keys.

:class:`InputReader` turns a CSV, Excel (``.xlsx``) or JSON Lines file (plain or gzip, local
path or ``ObjectStoragePath``) into numbered JSON lines for the upload pipeline
(:func:`workmagic_provider.files.pipeline.upload_lines`), so the CLI, the upload operators and
the file import read files the same way. The format is detected from the content: a zip
archive is a workbook, a first character ``{`` is JSON Lines, anything else is CSV (its
delimiter is detected too).

Every input problem is a row error where one row is at fault (a line that is not UTF-8 or
too long, an unterminated quote, a record too large to keep), and an unusable file raises
:class:`WorkMagicInputError` naming it. Rows of a workbook's other sheets are not read, with a
warning (:attr:`InputReader.warnings`).

Table inputs (CSV, Excel) go through the header mapping (:mod:`.headers`), grouping
(:mod:`.grouping`) and, for imported rows, cleaning (:mod:`.cleaning`); JSON Lines must already
have the schema's shape and pass through untouched. Repeated keys are found after validation,
whatever the rows came from (:mod:`.unique_keys`); a ``gate`` (the import manifest) may drop or
reject records already imported.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Callable, Generator, Iterator
from typing import IO, Any

from workmagic_provider.exceptions import WorkMagicInputError, one_of
from workmagic_provider.files.manifest import key_digest
from workmagic_provider.files.sources import open_binary
from workmagic_provider.schemas import IMPORTED_PRIMARY_KEY, SchemaOptions, ValidationReport
from workmagic_provider.schemas.report import ROW

FORMATS: tuple[str, ...] = ("auto", "csv", "excel", "jsonl")
#: Receives each rejected record: row number and its raw input (a JSON text).
Rejected = Callable[[int, Any], None]
#: Decides on a record already keyed: ``None`` keep, ``"drop"`` leave out silently, any other
#: text rejects the record with that reason.
Gate = Callable[[int, int], str | None]

log = logging.getLogger(__name__)
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


#: A record's key as its first field, the common shape (``{"id": "A-1", ...``): read off the
#: bytes; a string with escapes, another position or a composite key takes a parse.
_FIRST_KEY = {
    schema: re.compile(rb'\{\s*"' + field + rb'"\s*:\s*(?:"([^"\\]*)"|(-?[0-9]+)[\s,}])')
    for schema, field in (("custom-site", b"id"), ("enrich", b"order_id"))
}
_KEY_NAMES = {"custom-site": "id", "enrich": "order_id"}


def json_key_of(schema: str, raw: bytes) -> tuple[str, tuple[Any, ...]] | None:
    """The key of a JSON Lines record, or None if it has none (validation then rejects it).

    The common shape, the key as the first field (``{"id": "A-1", ...``), is read off the
    bytes; anything else takes one parse.
    """
    pattern = _FIRST_KEY.get(schema)
    if pattern is not None and raw[-1:] == b"}":  # a cut-off record is left to validation
        found = pattern.match(raw)
        if found is not None:
            text, number = found.groups()
            if text is None:
                return _KEY_NAMES[schema], (int(number),)
            try:
                return (_KEY_NAMES[schema], (text.decode(),)) if text else None
            except UnicodeDecodeError:
                return None
    try:
        record = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return key_of(schema, record) if isinstance(record, dict) else None


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
    :param rejected: receives rows the reader rejects itself (ragged, conflicting, gated).
    :param gate: see :data:`Gate`; given, every record's key is computed.
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
        rejected: Rejected | None = None,
        gate: Gate | None = None,
    ) -> None:
        one_of("input_format", input_format, FORMATS)
        self.schema = schema
        self.report = report
        self.options = options or SchemaOptions()
        self.input_format = input_format
        self.rejected = rejected
        self.gate = gate
        self.cleaner: Any = None
        if clean and schema == "imported":
            from workmagic_provider.files.cleaning import ImportedCleaner

            self.cleaner = ImportedCleaner(week_start=self.options.week_start, day_first=day_first)
        self.formats: Counter[str] = Counter()
        self._table_counts: Counter[str] = Counter()
        self.dropped = 0
        #: problems that reject no row (e.g. a workbook sheet that is not read)
        self.warnings: list[str] = []

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
            "dropped_already_imported": self.dropped,
            "warnings": list(self.warnings),
        }

    # -- reading ---------------------------------------------------------------------------
    def read(self, source: Any, offset: int = 0) -> Generator[tuple[int, bytes | str], None, int]:
        """Yield ``(row, JSON line)`` of one input, rows numbered from ``offset + 1``.

        Returns the last row number used, so the next input continues after it.
        """
        import gzip
        import zlib

        name = str(source)  # paths only: URIs and ObjectStoragePaths print no credentials
        with open_binary(source) as stream:
            fmt = self.input_format
            if fmt == "auto":
                fmt = detect_format(_peek(stream, name), name)
            self.formats[fmt] += 1
            try:
                if fmt == "jsonl":
                    return (yield from self._read_json_lines(stream, name, offset))
                return (yield from self._read_table(stream, fmt, name, offset))
            except (gzip.BadGzipFile, EOFError, zlib.error) as err:
                raise WorkMagicInputError(f"{name} is not a readable gzip file: {err}") from None

    def _read_json_lines(
        self, stream: IO[bytes], name: str, offset: int
    ) -> Generator[tuple[int, bytes | str], None, int]:
        from workmagic_provider.files.jsonl import iter_lines

        last = offset

        def problem(number: int, reason: str) -> None:
            self.report.add(offset + number, ROW, reason)  # too large to keep in the sidecar

        for number, raw in iter_lines(stream, name, problem):
            last = row = offset + number
            if self.gate is not None:
                found = json_key_of(self.schema, raw)
                if found is not None and not self._admit(row, found, None, raw):
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

            rows = iter_excel_records(stream, name, self._warn)
        else:
            from workmagic_provider.files.csv_reader import iter_csv_records

            def problem(line: int, reason: str, text: str) -> None:
                self._reject(offset + line, ROW, reason, None, text)

            rows = iter_csv_records(stream, name, problem=problem)
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
        dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
        cleaner = self.cleaner
        try:
            for line, record in table.records(rows):
                row = offset + line
                if cleaner is not None:
                    cleaner.clean(record)
                if self.gate is not None:
                    found = key_of(self.schema, record)
                    if found is not None and not self._admit(row, found, record, None):
                        continue
                yield row, dumps(record)
        finally:
            self._table_counts.update(table.counts)
        return offset + table.last_line

    # -- gate ------------------------------------------------------------------------------
    def _warn(self, message: str) -> None:
        log.warning("%s", message)
        self.warnings.append(message)

    def _admit(self, row: int, found: tuple[str, tuple[Any, ...]], record: Any, raw: Any) -> bool:
        """Whether the gate lets the record of ``row`` through (dropped or rejected if not)."""
        assert self.gate is not None
        field, parts = found
        verdict = self.gate(row, key_digest(parts))
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
