"""Excel ``.xlsx`` reader: the first sheet, same layout as CSV (header row, then data rows).

openpyxl's read-only mode streams the sheet's XML, so memory stays flat whatever the number of
rows; an input that is not seekable (an object-store stream) is spooled to a temporary file
first, because an ``.xlsx`` is a zip archive. Cells become the text a CSV export of the same
sheet would hold (numbers without a trailing ``.0``, dates ``YYYY-MM-DD``, date-times ISO 8601
without a zone), so a CSV and an Excel file of the same data produce the same parts.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from datetime import date, datetime, time
from decimal import Decimal
from typing import IO, Any

from workmagic_provider.exceptions import WorkMagicInputError


def cell_text(value: Any) -> str:
    """A cell's value as the text a CSV of the same sheet would hold."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, datetime):
        if value.time() == time(0) and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, (date, time)):
        return value.isoformat()
    return str(value)


def iter_excel_records(
    stream: IO[bytes], name: str = "input", warn: Callable[[str], None] | None = None
) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(sheet row number, cell texts)`` of the first sheet's non-blank rows.

    Only the first sheet is read; ``warn`` receives a message naming every other sheet that
    holds data, so rows there are never ignored in silence.
    """
    try:
        import openpyxl
    except ImportError as err:  # pragma: no cover - depends on the installation
        from workmagic_provider.exceptions import MissingExtraError

        raise MissingExtraError("openpyxl", "excel") from err

    with tempfile.TemporaryFile(prefix="workmagic-xlsx-") as spool:
        seekable: IO[bytes]
        if _seekable(stream):
            seekable = stream
        else:
            shutil.copyfileobj(stream, spool, 1024 * 1024)
            spool.seek(0)
            seekable = spool  # type: ignore[assignment]
        try:
            book = openpyxl.load_workbook(seekable, read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError) as err:
            raise WorkMagicInputError(f"{name} is not a readable .xlsx workbook: {err}") from err
        try:
            if not book.worksheets:
                raise WorkMagicInputError(f"{name}: the workbook has no sheet")
            sheet = book.worksheets[0]
            for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
                texts = [cell_text(v) for v in row]
                while texts and texts[-1] == "":
                    texts.pop()
                if texts:
                    yield number, texts
            if warn is not None:
                for other in book.worksheets[1:]:
                    if _has_data(other):
                        warn(
                            f"{name}: sheet {other.title!r} holds rows that were not read; only "
                            f"the first sheet ({sheet.title!r}) is imported"
                        )
        finally:
            book.close()


def _has_data(sheet: Any) -> bool:
    for row in sheet.iter_rows(values_only=True):
        if any(v is not None and v != "" for v in row):
            return True
    return False


def _seekable(stream: Any) -> bool:
    try:
        return bool(stream.seekable()) and stream.tell() == 0
    except (AttributeError, OSError, ValueError):
        return False
