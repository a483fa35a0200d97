"""Moving one source file into the hour folder: a copy (inside the cloud or streamed) or a
transform into gzip size-capped parts, every object written with the sync's marks.
"""

from __future__ import annotations

import contextlib
import io
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from workmagic_provider.exceptions import WorkMagicValidationError
from workmagic_provider.files.resplit import resplit_stream, split_names
from workmagic_provider.files.sources import CountingReader
from workmagic_provider.files.unique_keys import UniqueKeys
from workmagic_provider.generations import GENERATION_MARK
from workmagic_provider.schemas import ValidationReport
from workmagic_provider.stores import ObjectInfo, ObjectStore, ServerSideCopyRefused
from workmagic_provider.sync_files import Verdict
from workmagic_provider.sync_marks import PARTS_MARK, marks_for, rewrites
from workmagic_provider.sync_result import FileOutcome, SyncSettings

#: the sync engine's logger: one place to turn its per-file lines up or down
log = logging.getLogger("workmagic_provider.sync")


class CopyRoute:
    """Whether copies go inside the cloud or through the worker: found out once per run.

    ``None`` until the first copy says; the first refusal (no read grant on the source, the
    source not visible from the destination's endpoint) turns server-side copies off.
    """

    def __init__(self, server_side: bool = True) -> None:
        self.server_side: bool | None = None if server_side else False
        self._lock = threading.Lock()

    @property
    def known(self) -> bool:
        return self.server_side is not None

    def copy(
        self,
        source: ObjectStore,
        destination: ObjectStore,
        info: ObjectInfo,
        key: str,
        marks: Mapping[str, str],
    ) -> bool:
        """Try a server-side copy; ``False`` means the caller streams the bytes instead."""
        if self.server_side is False:
            return False
        try:
            destination.copy_from(source, info, key, marks)
        except ServerSideCopyRefused as refused:
            with self._lock:
                if self.server_side is not False:
                    log.info(
                        "server-side copy into %s not possible (%s): streaming through the "
                        "worker for the rest of this run",
                        destination.uri(key),
                        refused,
                    )
                self.server_side = False
            return False
        with self._lock:
            if self.server_side is None:
                log.info(
                    "server-side copy into %s works: no bytes pass through the worker",
                    destination.uri(key),
                )
            self.server_side = True
        return True


@dataclass
class Todo:
    """A new or changed source file; its verdict and (small files) its bytes once read."""

    path: str
    info: ObjectInfo
    name: str
    verdict: Verdict | None = None
    #: the whole object, when the content check read all of it (saves a second read)
    head: bytes | None = None

    @property
    def foreign(self) -> bool:
        return self.verdict is not None and self.verdict.kind == "foreign"


class FileMover:
    """Moves files of one run into one destination folder, with that run's generation."""

    def __init__(
        self,
        source: ObjectStore,
        destination: ObjectStore,
        destination_prefix: str,
        settings: SyncSettings,
        *,
        route: CopyRoute,
        generation: str,
        keys: UniqueKeys | None,
    ) -> None:
        self.source, self.destination = source, destination
        self.destination_prefix = destination_prefix
        self.settings, self.route = settings, route
        self.generation = generation
        self._keys = keys

    def move(self, item: Todo) -> FileOutcome:
        """Copy the file as it is, or transform it (plain, oversized, or validated)."""
        assert item.verdict is not None
        transform = rewrites(self.settings, item.info) or item.verdict.kind == "plain"
        marks = marks_for(self.settings, item.path, item.info, transform)
        return (self._transform if transform else self._copy)(item, marks)

    def _copy(self, item: Todo, marks: dict[str, str]) -> FileOutcome:
        key = self.destination_prefix + item.name
        target = self.destination.uri(key)
        marks = {**marks, GENERATION_MARK: self.generation}
        held = item.head is not None  # read whole by the content check: a PUT, not a copy
        if not held and self.route.copy(self.source, self.destination, item.info, key, marks):
            log.info(
                "copied %s -> %s (%d bytes, server-side)",
                self.source.uri(item.info.key),
                target,
                item.info.size,
            )
            return FileOutcome(item.path, "copy", [item.name], item.info.size, server_side=True)
        if item.head is not None:
            self.destination.write_bytes(key, item.head, marks)
            size = len(item.head)
        else:
            with self.source.open_read(item.info.key) as stream:
                counted = CountingReader(stream)
                self.destination.write_stream(
                    key,
                    counted,  # type: ignore[arg-type]  # a raw reader: what uploads need of IO
                    marks,
                )
            size = counted.count
        log.info("copied %s -> %s (%d bytes)", self.source.uri(item.info.key), target, size)
        return FileOutcome(item.path, "copy", [item.name], size)

    def _transform(self, item: Todo, marks: dict[str, str]) -> FileOutcome:
        """Read lines, validate if asked, write gzip size-capped parts (one part: the name).

        With ``on_invalid="fail"`` and a schema, parts are held until the whole file has
        validated, so a bad file writes nothing. Otherwise they are written as they fill, one
        part behind (at most two parts in memory): whether the first part keeps the file's
        name is known only when a second one appears or the file ends.
        """
        hold_all = self.settings.schema is not None and self.settings.on_invalid == "fail"
        held: list[tuple[str, bytes]] = []
        written_names: list[str] = []
        total = 0
        marks = {**marks, GENERATION_MARK: self.generation}

        def write(part_name: str, data: bytes, part_marks: dict[str, str] = marks) -> None:
            nonlocal total
            self.destination.write_bytes(self.destination_prefix + part_name, data, part_marks)
            written_names.append(part_name)
            total += len(data)

        def put(part_name: str, data: bytes) -> str:
            held.append((part_name, data))
            if not hold_all and len(held) > 1:
                write(*held.pop(0))
            return part_name

        report = ValidationReport(self.settings.schema or "json-lines")
        source_uri = self.source.uri(item.info.key)
        opened = (
            contextlib.nullcontext(io.BytesIO(item.head))
            if item.head is not None
            else self.source.open_read(item.info.key)
        )
        with opened as raw:
            produced = resplit_stream(
                raw,
                source_uri,
                split_names(item.name),
                put,
                max_part_bytes=self.settings.max_part_bytes,
                compresslevel=self.settings.compresslevel,
                schema=self.settings.schema,
                options=self.settings.options,
                report=report,
                keys=self._keys,
            )
        rows_written = sum(p.rows for p in produced)
        if not report.ok and self.settings.on_invalid == "fail":
            raise WorkMagicValidationError(report)
        if len(produced) == 1:
            held = [(item.name, held[0][1])]  # one part: keep the file's name
        count = len(written_names) + len(held)
        for n, (part_name, data) in enumerate(held, start=1):
            # the last part, written after the whole file was read, says the file is complete
            write(part_name, data, {**marks, PARTS_MARK: str(count)} if n == len(held) else marks)
        log.info(
            "%s %s (%d bytes) -> %d parts in %s (%d bytes, %d rows, %d rejected)",
            "compressed" if item.verdict and item.verdict.kind == "plain" else "split",
            source_uri,
            item.info.size,
            len(written_names),
            self.destination.uri(self.destination_prefix),
            total,
            rows_written,
            report.rows_rejected,
        )
        return FileOutcome(
            item.path, "transform", written_names, total, rows_written, report.rows_rejected
        )
