"""Object-store sync engine: make a WorkMagic hour folder mirror a source hour folder.

One engine for S3 and GCS (both are :class:`~workmagic_provider.stores.ObjectStore`). For the
run's hour it lists the source folder and the destination folder, and per source file either

* **skips** it: the destination already holds it, marked with the same source fingerprint
  (size + source ETag; ETags are never compared across buckets, multipart ETags differ);
* **copies** it: a byte stream from source to destination (multipart for large objects), the
  name kept, no temporary file;
* **transforms** it: when it is over the part limit (WorkMagic skips files of 1.5 MB or more)
  or a schema is given, its lines are read, optionally validated, and re-written as
  size-capped parts ``{stem}-part-NNNN.json.gz`` by the shared part writer.

Every object it writes carries metadata naming the sync, the source file and the source
fingerprint. That is how an unchanged re-run moves 0 bytes, and how pruning stays within what
this sync owns: stale parts of a re-split file are always removed, and with ``delete_extra``
objects whose source file is gone are removed too; objects without our mark are never touched.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal

from workmagic_provider.exceptions import WorkMagicError, WorkMagicValidationError
from workmagic_provider.files.resplit import resplit_stream, split_names
from workmagic_provider.files.sources import CountingReader
from workmagic_provider.schemas import SchemaOptions, ValidationReport
from workmagic_provider.standards import DEFAULT_MAX_PART_BYTES
from workmagic_provider.stores import ObjectInfo, ObjectStore

log = logging.getLogger(__name__)

SYNC_MARK = "workmagic-sync"
SOURCE_MARK = "workmagic-source"
FINGERPRINT_MARK = "workmagic-fingerprint"
RECIPE_MARK = "workmagic-recipe"
#: on the last part of a re-split file only: how many parts the file became. Parts are written
#: as they fill, so parts without this mark beside them are what an interrupted run left.
PARTS_MARK = "workmagic-parts"

Action = Literal["copy", "transform", "skip"]
_PLAIN_MD5 = re.compile(r"[0-9a-f]{32}")


@dataclass
class FileOutcome:
    """What happened to one source file (one log line, one entry of the summary)."""

    source: str
    action: Action
    targets: list[str] = field(default_factory=list)
    bytes: int = 0
    rows: int | None = None
    rejected: int = 0


@dataclass
class SyncResult:
    """Totals of one sync of one hour; ``summary()`` goes to XCom (counts only, no row data)."""

    source_uri: str
    destination_uri: str
    files: list[FileOutcome] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    def count(self, action: Action) -> int:
        return sum(1 for f in self.files if f.action == action)

    def summary(self) -> dict[str, object]:
        moved = [f for f in self.files if f.action != "skip"]
        return {
            "source": self.source_uri,
            "destination": self.destination_uri,
            "files_seen": len(self.files),
            "copied": self.count("copy"),
            "split": self.count("transform"),
            "skipped": self.count("skip"),
            "deleted": len(self.deleted),
            "objects_written": sum(len(f.targets) for f in moved),
            "bytes_written": sum(f.bytes for f in moved),
            "rows_written": sum(f.rows or 0 for f in moved),
            "rows_rejected": sum(f.rejected for f in self.files),
        }


@dataclass(frozen=True)
class SyncSettings:
    """How to treat files: one object so the recipe mark can fingerprint it."""

    sync_id: str
    max_part_bytes: int = DEFAULT_MAX_PART_BYTES
    split_oversized: bool = True
    schema: str | None = None
    options: SchemaOptions | None = None
    on_invalid: Literal["fail", "skip"] = "fail"
    compresslevel: int = 6

    @property
    def recipe(self) -> str:
        """Changes when the way files are transformed changes, so a re-run redoes them."""
        text = f"{self.max_part_bytes}|{self.schema}|{self.options}|{self.compresslevel}"
        return hashlib.sha256(text.encode()).hexdigest()[:16]


class HourSync:
    """Sync one source folder into one destination hour folder."""

    def __init__(
        self,
        source: ObjectStore,
        source_prefix: str,
        destination: ObjectStore,
        destination_prefix: str,
        settings: SyncSettings,
        *,
        max_workers: int = 8,
        delete_extra: bool = False,
    ) -> None:
        self.source, self.source_prefix = source, source_prefix
        self.destination, self.destination_prefix = destination, destination_prefix
        self.settings = settings
        self.max_workers = max(1, max_workers)
        self.delete_extra = delete_extra

    # -- planning -------------------------------------------------------------------------
    def _needs_transform(self, info: ObjectInfo) -> bool:
        oversized = info.size >= self.settings.max_part_bytes
        return self.settings.schema is not None or (oversized and self.settings.split_oversized)

    def _marks(self, name: str, info: ObjectInfo, transformed: bool) -> dict[str, str]:
        marks = {
            SYNC_MARK: self.settings.sync_id,
            SOURCE_MARK: name,
            FINGERPRINT_MARK: info.fingerprint,
        }
        if transformed:
            marks[RECIPE_MARK] = self.settings.recipe
        return marks

    def _identical_copies(self, sources: list[ObjectInfo], existing: list[ObjectInfo]) -> set[str]:
        """Names whose destination object has the source's exact bytes, known from listings alone.

        A single-part upload's ETag is the MD5 of its bytes in both buckets (multipart ETags and
        SSE-KMS ETags are not, and never match here), so equal plain-MD5 ETags and sizes prove
        a byte copy is current without one HEAD request per object.
        """
        by_name = {o.key[len(self.destination_prefix) :]: o for o in existing}
        same = set()
        for info in sources:
            name = info.key[len(self.source_prefix) :]
            there = by_name.get(name)
            if (
                there is not None
                and not self._needs_transform(info)
                and there.size == info.size
                and _PLAIN_MD5.fullmatch(info.etag)
                and there.etag == info.etag
            ):
                same.add(name)
        return same

    def _destination_marks(self, objects: list[ObjectInfo]) -> dict[str, Mapping[str, str]]:
        """Metadata of destination objects (listings of S3 carry none: HEAD them in parallel)."""
        known = {o.key: o.metadata for o in objects if o.metadata is not None}
        missing = [o.key for o in objects if o.metadata is None]
        if missing:
            with ThreadPoolExecutor(self.max_workers) as pool:
                for key, meta in zip(
                    missing, pool.map(self.destination.metadata, missing), strict=True
                ):
                    known[key] = meta or {}
        return {key[len(self.destination_prefix) :]: meta for key, meta in known.items()}

    @staticmethod
    def _is_current(marks: Mapping[str, str] | None, expected: Mapping[str, str]) -> bool:
        return marks is not None and all(marks.get(k) == v for k, v in expected.items())

    # -- doing ----------------------------------------------------------------------------
    def _copy(self, name: str, info: ObjectInfo, marks: dict[str, str]) -> FileOutcome:
        with self.source.open_read(info.key) as stream:
            counted = CountingReader(stream)
            self.destination.write_stream(
                self.destination_prefix + name,
                counted,  # type: ignore[arg-type]  # a raw reader: what uploads need of IO
                marks,
            )
        target = self.destination.uri(self.destination_prefix + name)
        log.info("copied %s -> %s (%d bytes)", self.source.uri(info.key), target, counted.count)
        return FileOutcome(name, "copy", [name], counted.count)

    def _transform(self, name: str, info: ObjectInfo, marks: dict[str, str]) -> FileOutcome:
        """Read lines, validate if asked, write size-capped parts (one part keeps the name).

        With ``on_invalid="fail"`` and a schema, parts are held until the whole file has
        validated, so a bad file writes nothing. Otherwise they are written as they fill, one
        part behind (at most two parts in memory): whether the first part keeps the source's
        name is known only when a second one appears or the file ends.
        """
        hold_all = self.settings.schema is not None and self.settings.on_invalid == "fail"
        held: list[tuple[str, bytes]] = []
        written_names: list[str] = []
        total = 0

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
        source_uri = self.source.uri(info.key)
        with self.source.open_read(info.key) as raw:
            produced = resplit_stream(
                raw,
                source_uri,
                split_names(name),
                put,
                max_part_bytes=self.settings.max_part_bytes,
                compresslevel=self.settings.compresslevel,
                schema=self.settings.schema,
                options=self.settings.options,
                report=report,
            )
        rows_written = sum(p.rows for p in produced)
        if not report.ok and self.settings.on_invalid == "fail":
            raise WorkMagicValidationError(report)
        if len(produced) == 1 and name.endswith(".json.gz"):
            held = [(name, held[0][1])]  # one part: keep the source's name
        count = len(written_names) + len(held)
        for n, (part_name, data) in enumerate(held, start=1):
            # the last part, written after the whole file was read, says the file is complete
            write(part_name, data, {**marks, PARTS_MARK: str(count)} if n == len(held) else marks)
        log.info(
            "split %s (%d bytes) -> %d parts in %s (%d bytes, %d rows, %d rejected)",
            source_uri,
            info.size,
            len(written_names),
            self.destination.uri(self.destination_prefix),
            total,
            rows_written,
            report.rows_rejected,
        )
        return FileOutcome(
            name, "transform", written_names, total, rows_written, report.rows_rejected
        )

    def run(self) -> SyncResult:
        result = SyncResult(
            self.source.uri(self.source_prefix), self.destination.uri(self.destination_prefix)
        )
        sources = self.source.list(self.source_prefix)
        existing = self.destination.list(self.destination_prefix)
        identical = self._identical_copies(sources, existing)
        marks_by_name = self._destination_marks(
            [o for o in existing if o.key[len(self.destination_prefix) :] not in identical]
        )
        owned = {
            n: m for n, m in marks_by_name.items() if m.get(SYNC_MARK) == self.settings.sync_id
        }

        todo: list[tuple[str, ObjectInfo, bool, dict[str, str]]] = []
        for info in sources:
            name = info.key[len(self.source_prefix) :]
            if name in identical:
                result.files.append(FileOutcome(name, "skip", [name]))
                log.info("unchanged %s: skipped (same MD5)", self.source.uri(info.key))
                continue
            transform = self._needs_transform(info)
            marks = self._marks(name, info, transform)
            current = [n for n, m in owned.items() if m.get(SOURCE_MARK) == name]
            complete = not transform or any(
                owned[n].get(PARTS_MARK) == str(len(current)) for n in current
            )
            if current and complete and all(self._is_current(owned[n], marks) for n in current):
                result.files.append(FileOutcome(name, "skip", sorted(current)))
                log.info("unchanged %s: skipped", self.source.uri(info.key))
            else:
                todo.append((name, info, transform, marks))

        def move(item: tuple[str, ObjectInfo, bool, dict[str, str]]) -> FileOutcome:
            name, info, transform, marks = item
            return (self._transform if transform else self._copy)(name, info, marks)

        done = 0
        with ThreadPoolExecutor(self.max_workers) as pool:
            futures = [pool.submit(move, item) for item in todo]
            try:
                for future in futures:
                    result.files.append(future.result())
                    done += 1
            except WorkMagicValidationError:
                raise
            except Exception as err:
                for future in futures:
                    future.cancel()
                raise WorkMagicError(
                    f"sync {result.source_uri} -> {result.destination_uri} failed after "
                    f"{done} of {len(todo)} files: {type(err).__name__}: {err}. Objects are "
                    "written whole or not at all, and a file counts as done only when its last "
                    "part is in; a retry redoes every file that did not finish."
                ) from err

        result.deleted = self._prune(sources, owned, result)
        s = result.summary()
        log.info(
            "sync %s -> %s: %s copied, %s split, %s skipped, %s deleted, %s bytes written, "
            "%s rows rejected",
            result.source_uri,
            result.destination_uri,
            s["copied"],
            s["split"],
            s["skipped"],
            s["deleted"],
            s["bytes_written"],
            s["rows_rejected"],
        )
        return result

    def _prune(
        self, sources: list[ObjectInfo], owned: dict[str, Mapping[str, str]], result: SyncResult
    ) -> list[str]:
        """Remove our own objects that no current file accounts for."""
        source_names = {info.key[len(self.source_prefix) :] for info in sources}
        produced = {target for f in result.files for target in f.targets}
        stale = []
        for name, marks in owned.items():
            if name in produced:
                continue
            if marks.get(SOURCE_MARK) in source_names or self.delete_extra:
                stale.append(name)
        if stale:
            self.destination.delete([self.destination_prefix + n for n in sorted(stale)])
            for name in sorted(stale):
                log.info("deleted %s", self.destination.uri(self.destination_prefix + name))
        return sorted(stale)
