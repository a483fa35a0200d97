"""The one upload pipeline (design Decision 3): rows -> validation -> part writer -> sink.

Every flow that moves rows through the worker (CLI ``convert``, the S3/GCS upload operators, the
file import) calls :func:`upload_lines`. Parts are spooled to a local temporary folder first and
published only after the whole input was read, so ``on_invalid="fail"`` publishes nothing when
any row is bad. Published parts carry this run's generation and say "part N of M"; afterwards
the folder is settled (``generations``): parts of older runs of the hour are removed, and if a
newer run of the hour finished meanwhile this run's own parts give way to it, so the folder
always ends as exactly one complete run's output.
"""

from __future__ import annotations

import itertools
import logging
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from workmagic_provider.exceptions import WorkMagicConfigError, WorkMagicValidationError
from workmagic_provider.files.parallel import ParallelStats, resolve_workers, validate_json_batches
from workmagic_provider.files.part_writer import Part, PartWriter
from workmagic_provider.files.sinks import PartSink, settle_parts
from workmagic_provider.generations import new_generation
from workmagic_provider.schemas import SchemaOptions, ValidationReport
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
    workers: int = 0  # validation processes that ran (0: validated in the calling process)
    worker_peak_rss_kib: int = 0  # largest peak resident memory of one of them

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
    workers: int | None = None,
) -> UploadResult:
    """Validate JSON lines and publish them as size-capped parts of ``folder`` into ``sink``.

    ``rejected(row, raw_line)`` receives every rejected row, in order. ``workers``: processes
    that validate beside this one, which reads, compresses and validates too
    (``workmagic_provider.files.parallel``); ``None`` (default) means usable CPUs minus one, at
    most 2 (so none on one CPU), and no process is started for an input of a single batch
    (512 KiB); ``0`` validates here only. The parts, report and rejected rows are the same
    whatever ``workers`` is; a worker that dies fails the upload before anything is published.
    """
    if on_invalid not in ("fail", "skip"):
        raise WorkMagicConfigError(f"on_invalid must be 'fail' or 'skip', got {on_invalid!r}")
    workers = resolve_workers(workers)
    report = report if report is not None else ValidationReport(schema)
    result = UploadResult(report=report)
    stats = ParallelStats()
    first_error = len(report.errors)
    with tempfile.TemporaryDirectory(prefix="workmagic-parts-") as spool:
        spool_dir = Path(spool)

        def spool_part(name: str, data: bytes) -> str:
            (spool_dir / name).write_bytes(data)
            return name

        writer = PartWriter(
            lambda index: folder.part_name(flow, index),
            spool_part,
            max_part_bytes=max_part_bytes,
            compresslevel=compresslevel,
        )
        batches = validate_json_batches(
            lines,
            schema,
            report=report,
            options=options,
            rejected=rejected,
            workers=workers,
            stats=stats,
        )
        for batch in batches:
            writer.write_block(batch.data, batch.rows)
        spooled = writer.close()
        result.workers = stats.workers
        result.worker_peak_rss_kib = stats.worker_peak_rss_kib
        _sort_new_errors(report, first_error)

        if not report.ok:
            log.warning("%s", report.summary(max_lines=10))
            if on_invalid == "fail":
                raise WorkMagicValidationError(report)

        generation = new_generation()
        for index, part in enumerate(spooled):
            name = folder.part_name(flow, index, generation=generation, count=len(spooled))
            location = sink.put(name, (spool_dir / part.name).read_bytes())
            log.info("wrote %s: %d rows, %d bytes", location, part.rows, part.bytes)
            result.parts.append(Part(name, location, part.rows, part.bytes, part.raw_bytes))
    result.published = True
    result.generation = generation
    if prune:
        settle_parts(sink, folder, flow, result)
    log.info(
        "%s %s: %d rows read, %d written in %d parts (%d bytes), %d rejected, %d stale removed"
        " (validated in %s)",
        flow,
        folder.prefix,
        report.rows_total,
        result.rows_written,
        len(result.parts),
        result.bytes_written,
        report.rows_rejected,
        len(result.removed),
        f"{result.workers} worker processes" if result.workers else "this process",
    )
    return result


def _sort_new_errors(report: ValidationReport, start: int) -> None:
    """Put the errors added during this upload in row order.

    Validation errors arrive batch by batch, so an error a reader added itself (e.g. a CSV
    line it could not split) for a row of a later batch can precede them; a stable sort by row
    restores the order the row-by-row path had (errors of one row keep their order).
    """
    added = report.errors[start:]
    if any(a.row > b.row for a, b in itertools.pairwise(added)):
        report.errors[start:] = sorted(added, key=lambda error: error.row)
