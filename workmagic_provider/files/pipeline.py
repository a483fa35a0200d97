"""The one upload pipeline: rows -> validation -> part writer -> sink.

Every flow that moves rows through the worker (CLI ``convert``, the S3/GCS upload operators, the
file import) calls :func:`upload_lines`. Parts are spooled to a local temporary folder first and
published only after the whole input was read, so ``on_invalid="fail"`` publishes nothing when
any row is bad. Published parts carry this run's generation and say "part N of M"; afterwards
the folder is settled (``generations``): parts of older runs of the hour are removed, and if a
newer run of the hour finished meanwhile this run's own parts give way to it, so the folder
always ends as exactly one complete run's output.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from workmagic_provider.exceptions import WorkMagicValidationError, one_of
from workmagic_provider.files.part_writer import Part, PartWriter, oversized_to_report
from workmagic_provider.files.sinks import PartSink, settle_parts
from workmagic_provider.files.spool import spool_folder
from workmagic_provider.files.unique_keys import UniqueKeys
from workmagic_provider.generations import new_generation
from workmagic_provider.schemas import SchemaOptions, ValidationReport
from workmagic_provider.schemas.batch import BatchValidator, pack_batches
from workmagic_provider.standards import DEFAULT_MAX_PART_BYTES, HourFolder

log = logging.getLogger(__name__)

OnInvalid = Literal["fail", "skip"]
#: Receives each rejected row (row number, raw input) — e.g. to write a ``rejected_path`` sidecar.
RejectedConsumer = Callable[[int, bytes], None]


@dataclass
class UploadResult:
    """What one run moved; ``summary()`` is what operators push to XCom (no row data)."""

    report: ValidationReport
    parts: list[Part] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    published: bool = False
    generation: str = ""
    #: a newer complete run of the same hour this run's parts gave way to (see generations)
    superseded_by: str | None = None
    #: rows rejected because an earlier row of the upload had their key
    duplicates: int = 0

    @property
    def rows_written(self) -> int:
        return sum(p.rows for p in self.parts)

    @property
    def bytes_written(self) -> int:
        return sum(p.bytes for p in self.parts)

    def summary(self) -> dict[str, object]:
        return {
            "rows": self.report.rows_total,
            "rows_written": self.rows_written if self.published else 0,
            "rejected": self.report.rows_rejected,
            "duplicates": self.duplicates,
            "bytes": self.bytes_written if self.published else 0,
            "parts": [p.to_dict() for p in self.parts] if self.published else [],
            "removed_stale": list(self.removed),
            "generation": self.generation,
            "superseded_by": self.superseded_by,
        }


def upload_lines(
    lines: Iterable[tuple[int, bytes | str]],
    *,
    schema: str,
    folder: HourFolder,
    flow: str,
    sink: PartSink,
    options: SchemaOptions | None = None,
    on_invalid: OnInvalid = "fail",
    max_part_bytes: int = DEFAULT_MAX_PART_BYTES,
    compresslevel: int = 6,
    rejected: RejectedConsumer | None = None,
    report: ValidationReport | None = None,
    prune: bool = True,
    before_publish: Callable[[ValidationReport], None] | None = None,
) -> UploadResult:
    """Validate JSON lines and publish them as size-capped parts of ``folder`` into ``sink``.

    ``rejected(row, raw_line)`` receives every rejected row, in order; a row whose key (see
    ``unique_keys``) an earlier row had is rejected too. Validation runs in this process, in
    batches: more CPUs are used by running more tasks, not processes inside one task.
    ``before_publish(report)`` runs once the input is read and validated, before anything is
    published: an operator checks its rejected-rows limit there (``rejections``).
    """
    one_of("on_invalid", on_invalid, ("fail", "skip"))
    report = report if report is not None else ValidationReport(schema)
    result = UploadResult(report=report)
    with spool_folder() as spool:
        spool_dir = Path(spool)

        def spool_part(name: str, data: bytes) -> str:
            (spool_dir / name).write_bytes(data)
            return name

        writer = PartWriter(
            lambda index: folder.part_name(flow, index),
            spool_part,
            max_part_bytes=max_part_bytes,
            compresslevel=compresslevel,
            on_oversized=oversized_to_report(report, rejected),
        )
        result.duplicates = _validate_into(writer, lines, schema, options, report, rejected)
        spooled = writer.close()

        if not report.ok:
            log.warning("%s", report.summary(max_lines=10))
            if on_invalid == "fail":
                raise WorkMagicValidationError(report)
        if before_publish is not None:
            before_publish(report)
        if report.rows_total == 0:
            # nothing read: leave the hour folder as it is (an upstream export that broke must
            # not wipe what an earlier run delivered); the operator says the hour was empty
            log.info("%s %s: no row read; the folder is left as it is", flow, folder.prefix)
            result.published = True
            return result
        result.generation = new_generation()
        result.parts = _publish(spooled, spool_dir, sink, folder, flow, result.generation)
    result.published = True
    if prune:
        mine = {p.name for p in result.parts}
        plan = settle_parts(sink, folder, flow, result.generation, mine)
        result.removed = [name for name in plan.delete if name not in mine]
        result.superseded_by = plan.superseded_by
    log.info(
        "%s %s: %d rows read, %d written in %d parts (%d bytes), %d rejected, %d stale removed",
        flow,
        folder.prefix,
        report.rows_total,
        result.rows_written,
        len(result.parts),
        result.bytes_written,
        report.rows_rejected,
        len(result.removed),
    )
    return result


def _validate_into(
    writer: PartWriter,
    lines: Iterable[tuple[int, bytes | str]],
    schema: str,
    options: SchemaOptions | None,
    report: ValidationReport,
    rejected: RejectedConsumer | None,
) -> int:
    """Validate ``lines`` batch by batch and write each key's first valid row to ``writer``.

    Returns the number of rows rejected for repeating a key.
    """
    first_error = len(report.errors)
    validator = BatchValidator(
        schema,
        options,
        report_name=report.schema,
        max_errors=report.max_errors,
        keep_rejected=rejected is not None,
    )
    keys = UniqueKeys.for_schema(schema)
    with keys if keys is not None else contextlib.nullcontext():
        for batch in map(validator, pack_batches(lines)):
            report.merge(batch.report)
            refused: list[tuple[int, bytes]] = list(batch.rejected)
            block: bytes = batch.valid
            rows: Sequence[int] = batch.rows
            repeats = keys.admit_block(report, rows, block) if keys is not None else None
            if repeats is not None:
                block, rows, repeated = repeats
                refused += repeated
            if rejected is not None:
                for row, raw in refused:
                    rejected(row, raw)
            writer.write_block(block, rows)
    _sort_new_errors(report, first_error)
    return keys.repeats if keys is not None else 0


def _publish(
    spooled: Sequence[Part],
    spool_dir: Path,
    sink: PartSink,
    folder: HourFolder,
    flow: str,
    generation: str,
) -> list[Part]:
    """Put the spooled parts into ``sink`` under their final names ("part N of M")."""
    parts: list[Part] = []
    for index, part in enumerate(spooled):
        name = folder.part_name(flow, index, generation=generation, count=len(spooled))
        location = sink.put(name, (spool_dir / part.name).read_bytes())
        log.info("wrote %s: %d rows, %d bytes", location, part.rows, part.bytes)
        parts.append(Part(name, location, part.rows, part.bytes, part.raw_bytes))
    return parts


def _sort_new_errors(report: ValidationReport, start: int) -> None:
    """Put the errors added during this upload in row order.

    Validation errors arrive batch by batch, so an error a reader added itself (e.g. a CSV
    line it could not split) for a row of a later batch can precede them; a stable sort by row
    restores the order the row-by-row path had (errors of one row keep their order).
    """
    added = report.errors[start:]
    if any(a.row > b.row for a, b in itertools.pairwise(added)):
        report.errors[start:] = sorted(added, key=lambda error: error.row)
