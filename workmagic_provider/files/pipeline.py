"""The one upload pipeline (design Decision 3): rows -> validation -> part writer -> sink.

Every flow that moves rows through the worker (CLI ``convert``, the S3/GCS upload operators, the
file import) calls :func:`upload_lines`. Parts are spooled to a local temporary folder first and
published only after the whole input was read, so ``on_invalid="fail"`` publishes nothing when
any row is bad, and a crash mid-input never leaves a mixture of new and old parts behind. After
publishing, parts of the same flow and hour that a previous run wrote but this run did not are
removed, so a re-run that produces fewer parts leaves exactly its own output.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from workmagic_provider.exceptions import WorkMagicConfigError, WorkMagicValidationError
from workmagic_provider.files.part_writer import Part, PartWriter
from workmagic_provider.files.sinks import PartSink, remove_stale_parts
from workmagic_provider.schemas import SchemaOptions, ValidationReport, validate_json_lines
from workmagic_provider.standards import DEFAULT_MAX_PART_BYTES, HourFolder, owned_part_pattern

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
        }


def _tee_rejected(
    lines: Iterable[tuple[int, bytes]], report: ValidationReport, rejected: RejectedConsumer
) -> Iterator[tuple[int, bytes]]:
    """Hand lines to the validator and pass each one it rejected to ``rejected``.

    The validator pulls one line, validates it, and yields it or not before pulling the next,
    so a rise of ``rows_rejected`` between two pulls belongs to the line handed out last.
    """
    previous: tuple[int, bytes] | None = None
    seen = report.rows_rejected
    for item in lines:
        if previous is not None and report.rows_rejected > seen:
            seen = report.rows_rejected
            rejected(*previous)
        previous = item
        yield item
    if previous is not None and report.rows_rejected > seen:
        rejected(*previous)


def upload_lines(
    lines: Iterable[tuple[int, bytes]],
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
) -> UploadResult:
    """Validate JSON lines and publish them as size-capped parts of ``folder`` into ``sink``."""
    if on_invalid not in ("fail", "skip"):
        raise WorkMagicConfigError(f"on_invalid must be 'fail' or 'skip', got {on_invalid!r}")
    report = report if report is not None else ValidationReport(schema)
    result = UploadResult(report=report)
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
        source = _tee_rejected(lines, report, rejected) if rejected else lines
        for row in validate_json_lines(source, schema, report=report, options=options):
            writer.write(row)
        spooled = writer.close()

        if not report.ok:
            log.warning("%s", report.summary(max_lines=10))
            if on_invalid == "fail":
                raise WorkMagicValidationError(report)

        for part in spooled:
            location = sink.put(part.name, (spool_dir / part.name).read_bytes())
            log.info("wrote %s: %d rows, %d bytes", location, part.rows, part.bytes)
            result.parts.append(Part(part.name, location, part.rows, part.bytes, part.raw_bytes))
    result.published = True
    if prune:
        keep = {p.name for p in result.parts}
        result.removed = remove_stale_parts(sink, owned_part_pattern(folder.hour, flow), keep)
        for name in result.removed:
            log.info("removed stale part %s%s left by an earlier run", folder.prefix, name)
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
