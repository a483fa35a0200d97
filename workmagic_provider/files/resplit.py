"""Re-split one oversized ``.json.gz`` (or plain JSON Lines) stream into size-capped parts.

WorkMagic skips files of 1.5 MB or more, and neither a customer's own exports (the sync) nor
BigQuery's ``EXPORT DATA`` can promise smaller files. Both flows hand the oversized object's
stream to :func:`resplit_stream`, which reads its lines (gunzipping by magic bytes), optionally
validates them against a schema, and writes them through the shared
:class:`~workmagic_provider.files.part_writer.PartWriter` (one part writer for every flow).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import IO, Any

from workmagic_provider.files.jsonl import iter_lines
from workmagic_provider.files.part_writer import Part, PartConsumer, PartWriter
from workmagic_provider.files.sources import maybe_gunzip
from workmagic_provider.files.unique_keys import UniqueKeys
from workmagic_provider.schemas import SchemaOptions, ValidationReport, validate_json_lines
from workmagic_provider.standards import DEFAULT_MAX_PART_BYTES

_ENDINGS = (".json.gz", ".jsonl.gz", ".ndjson.gz", ".gz", ".jsonl", ".ndjson", ".json")


def split_stem(name: str) -> str:
    """``name`` without its JSON Lines / gzip ending."""
    for ending in _ENDINGS:
        if name.endswith(ending):
            return name[: -len(ending)]
    return name


def split_names(name: str) -> Callable[[int], str]:
    """Names of the parts of a re-split file: ``{stem}-part-NNNN.json.gz``."""
    stem = split_stem(name)
    return lambda index: f"{stem}-part-{index:04d}.json.gz"


def resplit_stream(
    stream: IO[bytes] | Any,
    source_uri: str,
    name_for: Callable[[int], str],
    consume: PartConsumer,
    *,
    max_part_bytes: int = DEFAULT_MAX_PART_BYTES,
    compresslevel: int = 6,
    schema: str | None = None,
    options: SchemaOptions | None = None,
    report: ValidationReport | None = None,
    keys: UniqueKeys | None = None,
) -> list[Part]:
    """Read ``stream``'s JSON lines and write them as parts below ``max_part_bytes``.

    Without ``schema`` the lines are copied as they are (stripped of surrounding blanks); with
    one they are validated and written re-serialised, invalid rows going to ``report``, and a
    row whose key ``keys`` saw before (in this or another file of the run) is rejected too.
    Returns the parts in order; ``consume(name, data)`` stored each of them.
    """
    writer = PartWriter(
        name_for, consume, max_part_bytes=max_part_bytes, compresslevel=compresslevel
    )
    lines = iter_lines(maybe_gunzip(stream), source_uri)
    if schema:
        if report is None:
            report = ValidationReport(schema)
        last = [0]  # the row validate_json_lines read last, i.e. the one whose line it yields

        def numbered() -> Iterator[tuple[int, bytes | str]]:
            for number, line in lines:
                last[0] = number
                yield number, line

        for row in validate_json_lines(numbered(), schema, report=report, options=options):
            if keys is None or keys.admit(report, last[0], row, where=source_uri):
                writer.write(row, last[0])
    else:
        for number, line in lines:
            writer.write(line, number)
    return writer.close()


__all__ = ["resplit_stream", "split_names", "split_stem"]
