"""Batch validation: many JSON lines packed in one buffer, validated in one call.

A :class:`Batch` is the unit of work of the upload pipeline: about 512 KiB of raw lines with
their row numbers, validated by a :class:`BatchValidator` through the same codec as
``validate_json_lines``, so the valid rows (compact JSON, one per line), the errors and the
rejected rows are exactly what row-by-row validation gives, at a fraction of the Python cost
per row. A raw line may contain newlines (pretty-printed JSON from a reader that yields whole
records), since rows are delimited by their lengths.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from workmagic_provider.schemas.options import SchemaOptions
from workmagic_provider.schemas.report import ValidationReport
from workmagic_provider.schemas.validate import get_codec, validate_with

#: A batch is sent once it holds this many raw bytes ...
BATCH_BYTES = 1 << 19
#: ... or this many rows, whichever comes first.
BATCH_ROWS = 4096


@dataclass
class Batch:
    """Raw lines ``data[sum(lengths[:i]) : sum(lengths[:i + 1])]`` with row numbers ``rows``."""

    rows: array[int]
    lengths: array[int]
    data: bytes

    @property
    def first_row(self) -> int:
        return self.rows[0] if self.rows else 0


@dataclass
class BatchResult:
    """What validating one batch found.

    ``valid``: the valid rows as compact JSON, each followed by ``b"\\n"`` (model output never
    contains a raw newline); ``rows``: their row numbers; ``report``: counts and errors of this
    batch only, ready to :meth:`~ValidationReport.merge`; ``rejected``: the raw lines of the
    rejected rows, when the validator was asked to keep them.
    """

    valid: bytes
    rows: array[int]
    report: ValidationReport
    rejected: list[tuple[int, bytes]] = field(default_factory=list)


def pack_batches(
    lines: Iterable[tuple[int, bytes | str]],
    *,
    max_bytes: int = BATCH_BYTES,
    max_rows: int = BATCH_ROWS,
) -> Iterator[Batch]:
    """Group ``(row number, raw line)`` pairs into batches, lazily (one batch in memory).

    ``str`` lines are encoded as UTF-8 (lone surrogates are kept as invalid bytes, which
    validation then reports as a row that is not valid JSON instead of failing the run).
    This loop runs once per input row in the calling process, so it does as little as it can
    per row and leaves lengths and joining to C code once per batch.
    """
    rows: list[int] = []
    chunks: list[bytes | str] = []
    add_row, add_chunk = rows.append, chunks.append
    size = 0
    for row, raw in lines:
        add_row(row)
        add_chunk(raw)
        size += len(raw)
        if size >= max_bytes or len(rows) >= max_rows:
            yield _batch(rows, chunks)
            rows.clear()
            chunks.clear()
            size = 0
    if rows:
        yield _batch(rows, chunks)


def _batch(rows: list[int], chunks: list[bytes | str]) -> Batch:
    try:
        data = b"".join(chunks)  # type: ignore[arg-type]
    except TypeError:  # some lines are str (rows from records): encode those
        chunks = [_as_bytes(chunk) for chunk in chunks]
        data = b"".join(chunks)  # type: ignore[arg-type]
    return Batch(array("q", rows), array("q", map(len, chunks)), data)


def _as_bytes(raw: bytes | str) -> bytes:
    if isinstance(raw, str):
        return raw.encode("utf-8", "surrogatepass")
    return bytes(raw)


class BatchValidator:
    """Validates batches against one schema, through the same codec as ``validate_json_lines``.

    ``report_name`` and ``max_errors`` shape each batch's report like the caller's report, so
    that merging them is exact. ``keep_rejected`` returns the raw lines of rejected rows.
    """

    def __init__(
        self,
        schema: str,
        options: SchemaOptions | None = None,
        *,
        report_name: str | None = None,
        max_errors: int = 1000,
        keep_rejected: bool = False,
    ) -> None:
        self.schema = schema
        self.options = options
        self.report_name = report_name or schema
        self.max_errors = max_errors
        self.keep_rejected = keep_rejected
        self.codec = get_codec(schema, options)  # an unknown schema fails here

    def __call__(self, batch: Batch) -> BatchResult:
        report = ValidationReport(self.report_name, max_errors=self.max_errors)
        rejected: list[tuple[int, bytes]] = []
        keep = (lambda row, raw: rejected.append((row, raw))) if self.keep_rejected else None
        strict = self.options is None or self.options.strict_json
        out: list[bytes] = []
        valid_rows: array[int] = array("q")
        for row, line in validate_with(batch_lines(batch), self.codec, report, keep, strict):
            out.append(line)
            valid_rows.append(row)
        out.append(b"")
        return BatchResult(b"\n".join(out), valid_rows, report, rejected)


def batch_lines(batch: Batch) -> Iterator[tuple[int, bytes]]:
    """The ``(row, raw line)`` pairs of a batch."""
    data = batch.data
    start = 0
    for row, length in zip(batch.rows, batch.lengths, strict=True):
        end = start + length
        yield row, data[start:end]
        start = end
