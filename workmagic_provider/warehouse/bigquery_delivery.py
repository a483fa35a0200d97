"""From BigQuery's staged export into WorkMagic's hour folder, every row validated on the way.

BigQuery's JSON export writes INT64 as strings and TIMESTAMP as ``2026-03-08 01:30:00 UTC``,
and cannot cap file sizes. So the staged files are read through the shared upload pipeline:
every row validated, re-serialised (numbers as numbers, ``Z`` timestamps) and written as
size-capped parts of this run's generation; the folder is then settled (older runs' parts
removed; without delete rights: reported, not failed), and the hour's earlier staged exports
deleted.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from workmagic_provider.exceptions import WorkMagicError
from workmagic_provider.standards import hour_stamp

if TYPE_CHECKING:
    from workmagic_provider.schemas import SchemaOptions
    from workmagic_provider.standards import HourFolder
    from workmagic_provider.stores import GCSStore

#: BigQuery's JSON text of a TIMESTAMP (``2026-03-08 01:30:00[.ffffff] UTC``), as a JSON string.
_BQ_TIMESTAMP = re.compile(rb'"(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d(?:\.\d{1,9})?) UTC"')


def normalise_bigquery_line(line: bytes) -> bytes:
    """Rewrite BigQuery's ``... UTC`` timestamp strings as ISO-8601 ``...Z`` (INT64 strings
    need nothing here: the schemas read numeric strings and write numbers)."""
    return _BQ_TIMESTAMP.sub(rb'"\1T\2Z"', line)


class DeleteTolerantSink:
    """A part sink whose deletes may be refused (WorkMagic's role without delete rights).

    The new parts are delivered either way, so a refused delete of a stale part is recorded
    (and reported) instead of failing a task whose retry would export again.
    """

    def __init__(self, sink: Any) -> None:
        self.sink = sink
        self.refused: set[str] = set()

    def put(self, name: str, data: bytes) -> str:
        return self.sink.put(name, data)  # type: ignore[no-any-return]

    def names(self) -> list[str]:
        return self.sink.names()  # type: ignore[no-any-return]

    def delete(self, name: str) -> None:
        from google.api_core.exceptions import Forbidden

        try:
            self.sink.delete(name)
        except Forbidden:
            self.refused.add(name)


def deliver_export(
    job: Any,
    *,
    staging: GCSStore,
    staging_prefix: str,
    destination: GCSStore,
    folder: HourFolder,
    schema: str,
    options: SchemaOptions | None,
    max_part_bytes: int,
    prune: bool,
    log: logging.Logger | Any,
) -> dict[str, Any]:
    """Validate the job's staged files into the hour folder, prune stale parts, drop staging.

    Returns the delivery's part of the task's summary.
    """
    from workmagic_provider.files.pipeline import upload_lines
    from workmagic_provider.stores import StorePartSink

    if job.error_result:
        raise WorkMagicError(f"BigQuery export job {job.job_id} failed: {job.error_result}")
    hour_prefix = f"{staging_prefix}{hour_stamp(folder.hour)}/"
    staged_prefix = f"{hour_prefix}{job.job_id}/"
    shards = staging.list(staged_prefix)
    sink = DeleteTolerantSink(
        StorePartSink(destination, folder.prefix, {"workmagic-flow": "bigquery"})
    )
    result = upload_lines(
        staged_lines(staging, [s.key for s in shards]),
        schema=schema,
        options=options,
        folder=folder,
        flow="bigquery",
        sink=sink,
        max_part_bytes=max_part_bytes,
        prune=prune,
    )
    not_removed = sorted(sink.refused)
    removed = [n for n in result.removed if n not in sink.refused]
    if not_removed:
        log.warning(
            "the new parts of %s are delivered, but %d stale part(s) an earlier run left "
            "could not be deleted (no storage.objects.delete on WorkMagic's folder): %s",
            folder.prefix,
            len(not_removed),
            ", ".join(not_removed),
        )
    drop_older_staging(staging, hour_prefix, staged_prefix, log)
    staged_bytes = sum(s.size for s in shards)
    files = sorted(p.name for p in result.parts)
    log.info(
        "export job %s into %s: %d rows in %d staged files (%d bytes) -> %d parts (%d bytes), "
        "%d stale removed",
        job.job_id,
        destination.uri(folder.prefix),
        result.report.rows_total,
        len(shards),
        staged_bytes,
        len(files),
        result.bytes_written,
        len(removed),
    )
    return {
        "rows_exported": result.report.rows_total,
        "rows_written": result.rows_written,
        "files": files,
        "generation": result.generation,
        "superseded_by": result.superseded_by,
        "bytes": result.bytes_written,
        "staged_files": len(shards),
        "bytes_through_worker": staged_bytes + result.bytes_written,
        "removed_stale": removed,
        "stale_not_removed": not_removed,
    }


def staged_lines(staging: GCSStore, keys: list[str]) -> Iterator[tuple[int, bytes]]:
    """Every staged file's lines, BigQuery's timestamp text rewritten, numbered across files."""
    from workmagic_provider.files.jsonl import iter_lines
    from workmagic_provider.files.sources import maybe_gunzip

    number = 0
    for key in keys:
        with staging.open_read(key) as raw:
            for _, line in iter_lines(maybe_gunzip(raw), staging.uri(key)):
                number += 1
                yield number, normalise_bigquery_line(line)


def drop_older_staging(
    staging: GCSStore, hour_prefix: str, mine: str, log: logging.Logger | Any
) -> None:
    """Delete staged files of this hour's earlier exports; keep this export's own.

    Kept, a retry that reattaches to this job after its files were delivered delivers the
    same rows again instead of an empty folder. The next export of the hour removes them.
    """
    from google.api_core.exceptions import GoogleAPICallError

    older = [o.key for o in staging.list(hour_prefix, recursive=True) if not o.key.startswith(mine)]
    try:
        staging.delete(older)
    except GoogleAPICallError as err:
        log.warning("staged files of earlier exports were not deleted (%s)", err)
