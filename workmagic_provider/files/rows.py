"""Where rows come from, one protocol: numbered input lines, over any number of inputs.

Every flow hands the pipeline ``(row number, JSON line)`` pairs. Rows are numbered across all
inputs of one run (files first, in order, then records), so a report's row names one place:
a file reader numbers the lines of its file after the ``offset`` it is given and returns the
last number it used (:data:`ReadOne`, e.g. :meth:`.readers.InputReader.read`); records
(an upstream XCom, a SQL cursor's rows) continue after the files. :func:`numbered` and
:func:`record_lines` are the only places that do this numbering, and :func:`require_records`
the only place that checks that ``rows`` is a list of mappings.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from typing import Any

from workmagic_provider.exceptions import WorkMagicConfigError
from workmagic_provider.schemas import ValidationReport

Line = tuple[int, bytes | str]
#: Reads one input: yields its rows numbered after ``offset``; returns the last number used.
ReadOne = Callable[[Any, int], Generator[Line, None, int]]
#: Told about each input before it is read: the input and the number of its first row.
OnInput = Callable[[Any, int], None]


def numbered(
    inputs: Iterable[Any], read_one: ReadOne, *, offset: int = 0, on_input: OnInput | None = None
) -> Generator[Line, None, int]:
    """The rows of every input in turn, numbered on from ``offset``; returns the last number."""
    for source in inputs:
        if on_input is not None:
            on_input(source, offset + 1)
        offset = yield from read_one(source, offset)
    return offset


def require_records(rows: Any, what: str = "rows") -> Iterable[Any]:
    """``rows`` if it is a list (any iterable) of records; a clear error for one mapping or text.

    The records themselves are checked one by one (:func:`record_lines`): one that is not a
    mapping is that row's error, not the run's.
    """
    if isinstance(rows, (str, bytes, Mapping)) or not isinstance(rows, Iterable):
        raise WorkMagicConfigError(
            f"{what} must be a list of mappings (one per row), got {type(rows).__name__}"
        )
    return rows


def numbered_records(rows: Any, offset: int = 0, what: str = "rows") -> Iterator[tuple[int, Any]]:
    """``(row number, record)`` of ``rows``, numbered on from ``offset``."""
    return zip(itertools.count(offset + 1), require_records(rows, what), strict=False)


def record_lines(
    rows: Any, report: ValidationReport, offset: int = 0, what: str = "rows"
) -> Generator[Line, None, int]:
    """Records (mappings) as numbered JSON lines; returns the last row number used.

    A record that is not a mapping or has no JSON form is reported as that row's error.
    """
    from workmagic_provider.schemas.validate import records_as_json_lines

    last = [offset]

    def counted() -> Iterator[tuple[int, Any]]:
        for row, record in numbered_records(rows, offset, what):
            last[0] = row
            yield row, record

    yield from records_as_json_lines(counted(), report)
    return last[0]


def cursor_records(cursor: Any, chunk_size: int = 1000) -> Iterator[dict[str, Any]]:
    """A DB-API cursor's rows as mappings (column name -> value), ``chunk_size`` at a time.

    Snowflake and Oracle fold unquoted names to upper case; our fields are lower case, so a
    name in upper case only is lowered (a quoted ``"Mixed"`` name is kept as it is).
    """
    columns = [str(d[0]).lower() if str(d[0]).isupper() else d[0] for d in cursor.description or ()]
    while chunk := cursor.fetchmany(chunk_size):
        for values in chunk:
            yield dict(zip(columns, values, strict=True))
