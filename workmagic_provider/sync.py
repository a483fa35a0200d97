"""Object-store sync engine: deliver a source hour folder into a WorkMagic hour folder.

One engine for S3 and GCS (both are :class:`~workmagic_provider.stores.ObjectStore`). For one
hour it lists the source folder (sub-folders too, unless ``recursive=False``) and the
destination folder, judges each source file (:mod:`workmagic_provider.sync_files`: only gzip
JSON Lines reach WorkMagic; plain JSON Lines are compressed on the way; anything else is named,
not copied), and per deliverable file either

* **skips** it: the destination already holds it, marked with the same source fingerprint
  (size + source ETag; ETags are never compared across buckets, multipart ETags differ);
* **copies** it: inside the cloud when the destination's identity may read the source (S3
  ``CopyObject`` / multipart copy, GCS rewrite; found out on the first copy of a run), else a
  byte stream through the worker (multipart for large objects), never a temporary file;
* **transforms** it: when it is plain JSON Lines, over the part limit (WorkMagic skips files of
  1.5 MB or more) or a schema is given, its lines are read, optionally validated, and written
  gzip-compressed as size-capped parts ``{stem}-part-NNNN.json.gz`` by the shared part writer.

Every object it writes carries metadata naming the sync, the source file, the source
fingerprint and the run's generation. That is how an unchanged re-run moves 0 bytes, and how
pruning stays within what this sync owns: stale parts of a re-split file are always removed, and
with ``delete_extra`` objects whose source file is gone are removed too; objects without our mark
are never touched, and neither are objects a newer run of the same hour wrote (their marks are
read again just before deleting), so two overlapping runs leave one run's output.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import re
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal

from workmagic_provider.exceptions import (
    WorkMagicError,
    WorkMagicInputError,
    WorkMagicPermanentError,
    WorkMagicValidationError,
)
from workmagic_provider.files.resplit import resplit_stream, split_names
from workmagic_provider.files.sources import CountingReader
from workmagic_provider.files.unique_keys import UniqueKeys
from workmagic_provider.generations import GENERATION_MARK, may_delete, new_generation
from workmagic_provider.schemas import SchemaOptions, ValidationReport
from workmagic_provider.standards import DEFAULT_MAX_PART_BYTES
from workmagic_provider.stores import ObjectInfo, ObjectStore, ServerSideCopyRefused
from workmagic_provider.sync_files import (
    HEAD_BYTES,
    Verdict,
    destination_names,
    verdict_by_content,
    verdict_by_ending,
    verdict_by_name,
)

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


def _gz_name(path: str) -> bool:
    return path.lower().endswith(".gz")


@dataclass
class FileOutcome:
    """What happened to one source file (one log line, one entry of the summary)."""

    source: str
    action: Action
    targets: list[str] = field(default_factory=list)
    bytes: int = 0
    rows: int | None = None
    rejected: int = 0
    #: the bytes were copied inside the cloud, none passed through the worker
    server_side: bool = False


@dataclass
class SyncResult:
    """Totals of one sync of one hour; ``summary()`` goes to XCom (counts and names, no rows)."""

    source_uri: str
    destination_uri: str
    generation: str = ""
    files: list[FileOutcome] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    #: source files not delivered, with the reason (WorkMagic would skip them)
    foreign: dict[str, str] = field(default_factory=dict)
    #: stale objects left in place because a newer run of the same hour wrote them
    kept_newer: list[str] = field(default_factory=list)
    listed: int = 0

    def count(self, action: Action) -> int:
        return sum(1 for f in self.files if f.action == action)

    @property
    def empty(self) -> bool:
        """No file of the source hour is (or already was) delivered: nothing WorkMagic reads."""
        return not self.files

    def summary(self) -> dict[str, object]:
        moved = [f for f in self.files if f.action != "skip"]
        return {
            "source": self.source_uri,
            "destination": self.destination_uri,
            "files_seen": self.listed,
            "copied": self.count("copy"),
            "copied_server_side": sum(1 for f in moved if f.server_side),
            "split": self.count("transform"),
            "skipped": self.count("skip"),
            "deleted": len(self.deleted),
            "objects_written": sum(len(f.targets) for f in moved),
            "bytes_written": sum(f.bytes for f in moved),
            "bytes_through_worker": sum(f.bytes for f in moved if not f.server_side),
            "rows_written": sum(f.rows or 0 for f in moved),
            "rows_rejected": sum(f.rejected for f in self.files),
            "empty": self.empty,
            "not_delivered": len(self.foreign),
            "skipped_files": dict(self.foreign),
            "delivered": {
                f.source: f.targets[0] if len(f.targets) == 1 else list(f.targets)
                for f in self.files
            },
            "kept_newer": len(self.kept_newer),
            "generation": self.generation,
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
    recursive: bool = True
    on_foreign_file: Literal["skip", "fail"] = "skip"
    #: read the first bytes of every new or changed file (``False``: ``.gz`` names are trusted)
    check_content: bool = True

    @property
    def recipe(self) -> str:
        """Changes when the way files are transformed changes, so a re-run redoes them."""
        text = f"{self.max_part_bytes}|{self.schema}|{self.options}|{self.compresslevel}"
        return hashlib.sha256(text.encode()).hexdigest()[:16]


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
class _Todo:
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


class HourSync:
    """Deliver one source folder into one destination hour folder."""

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
        route: CopyRoute | None = None,
        generation: Callable[[], str] = new_generation,
    ) -> None:
        self.source, self.source_prefix = source, source_prefix
        self.destination, self.destination_prefix = destination, destination_prefix
        self.settings = settings
        self.max_workers = max(1, max_workers)
        self.delete_extra = delete_extra
        self.route = route or CopyRoute()
        self._new_generation = generation
        self.generation = ""
        self._keys: UniqueKeys | None = None

    # -- planning -------------------------------------------------------------------------
    def _rewrites(self, info: ObjectInfo) -> bool:
        """Rewritten whatever the content: validated, or re-split for its size."""
        oversized = info.size >= self.settings.max_part_bytes
        return self.settings.schema is not None or (oversized and self.settings.split_oversized)

    def _marks(self, path: str, info: ObjectInfo, transformed: bool) -> dict[str, str]:
        marks = {
            SYNC_MARK: self.settings.sync_id,
            SOURCE_MARK: path,
            FINGERPRINT_MARK: info.fingerprint,
        }
        if transformed:
            marks[RECIPE_MARK] = self.settings.recipe
        return marks

    def _identical_copies(
        self, sources: dict[str, ObjectInfo], names: dict[str, str], existing: list[ObjectInfo]
    ) -> set[str]:
        """Paths whose destination object has the source's exact bytes, known from listings alone.

        A single-part upload's ETag is the MD5 of its bytes in both buckets (multipart ETags and
        SSE-KMS ETags are not, and never match here), so equal plain-MD5 ETags and sizes prove
        a byte copy is current without one HEAD request per object.
        """
        by_name = {o.key[len(self.destination_prefix) :]: o for o in existing}
        same = set()
        for path, info in sources.items():
            there = by_name.get(names[path])
            if (
                there is not None
                and not self._rewrites(info)
                and there.size == info.size
                and _PLAIN_MD5.fullmatch(info.etag)
                and there.etag == info.etag
            ):
                same.add(path)
        return same

    def _destination_marks(self, objects: list[ObjectInfo]) -> dict[str, Mapping[str, str]]:
        """Metadata of destination objects (listings of S3 carry none: HEAD them in parallel)."""
        known: dict[str, Mapping[str, str] | None] = {
            o.key: o.metadata for o in objects if o.metadata is not None
        }
        missing = [o.key for o in objects if o.metadata is None]
        known.update(self._read_marks(missing))
        return {key[len(self.destination_prefix) :]: meta or {} for key, meta in known.items()}

    def _read_marks(self, keys: list[str]) -> dict[str, Mapping[str, str] | None]:
        if not keys:
            return {}
        with ThreadPoolExecutor(self.max_workers) as pool:
            return dict(zip(keys, pool.map(self.destination.metadata, keys), strict=True))

    def _is_current(
        self, path: str, info: ObjectInfo, name: str, owned: dict[str, Mapping[str, str]]
    ) -> list[str] | None:
        """The destination names that already hold this exact source file, else ``None``."""
        current = sorted(n for n, m in owned.items() if m.get(SOURCE_MARK) == path)
        if not current:
            return None
        transformed = self._rewrites(info) or any(RECIPE_MARK in owned[n] for n in current)
        expected = self._marks(path, info, transformed)
        if not all(owned[n].get(k) == v for n in current for k, v in expected.items()):
            return None
        if not transformed:
            return current if current == [name] else None
        counts = {owned[n].get(PARTS_MARK) for n in current} - {None}
        if counts != {str(len(current))}:
            return None  # unfinished: the last part, which carries the count, is missing
        part = split_names(name)
        wanted = [name] if len(current) == 1 else sorted(part(i) for i in range(len(current)))
        return current if current == wanted else None

    def _judge(self, item: _Todo, *, keep_head: bool = True) -> None:
        """Decide what a new or changed file is from its first bytes (or, when content checks
        are off, from a ``.gz`` / JSON Lines name); a small file is read whole, once."""
        if item.verdict is not None:
            return
        if not self.settings.check_content:
            item.verdict = verdict_by_ending(item.path)
            if item.verdict is not None:
                return
        head = self.source.read_head(item.info.key, HEAD_BYTES)
        whole = len(head) >= item.info.size
        item.verdict = verdict_by_content(item.path, head, whole=whole)
        if whole and keep_head and not item.foreign:
            item.head = head

    def _judge_all(self, todo: list[_Todo]) -> None:
        """Judge every file before anything is written (``on_foreign_file="fail"``)."""
        with ThreadPoolExecutor(self.max_workers) as pool:
            list(pool.map(lambda item: self._judge(item, keep_head=False), todo))

    # -- doing ----------------------------------------------------------------------------
    def _copy(self, item: _Todo, marks: dict[str, str]) -> FileOutcome:
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

    def _transform(self, item: _Todo, marks: dict[str, str]) -> FileOutcome:
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

    def _move(self, item: _Todo) -> FileOutcome:
        assert item.verdict is not None
        transform = self._rewrites(item.info) or item.verdict.kind == "plain"
        marks = self._marks(item.path, item.info, transform)
        return (self._transform if transform else self._copy)(item, marks)

    def run(self) -> SyncResult:
        # taken before listing: a run with a newer generation saw a source at least as recent
        self.generation = self._new_generation()
        result = SyncResult(
            self.source.uri(self.source_prefix),
            self.destination.uri(self.destination_prefix),
            self.generation,
        )
        sources, owned, todo = self._plan(result)
        if self.settings.on_foreign_file == "fail":
            self._judge_all(todo)
            self._fail_on_foreign(todo, result)
        # with a schema, each key once across the files this run writes (WorkMagic keeps one)
        self._keys = UniqueKeys.for_schema(self.settings.schema) if self.settings.schema else None
        try:
            self._deliver(todo, result)
        finally:
            if self._keys is not None:
                self._keys.close()
        self._warn_foreign(result)
        result.deleted = self._prune(set(sources) | set(result.foreign), owned, result)
        self._log_totals(result)
        return result

    def _plan(
        self, result: SyncResult
    ) -> tuple[dict[str, ObjectInfo], dict[str, Mapping[str, str]], list[_Todo]]:
        """List both folders: (deliverable sources by path, our objects' marks, files to move).

        Unchanged files are recorded as skipped; files foreign by name alone as not delivered.
        """
        listed = self.source.list(self.source_prefix, recursive=self.settings.recursive)
        existing = self.destination.list(self.destination_prefix)
        result.listed = len(listed)
        sources: dict[str, ObjectInfo] = {}
        for info in listed:
            path = info.key[len(self.source_prefix) :]
            foreign = verdict_by_name(path, info.size)
            if foreign is None:
                sources[path] = info
            else:
                result.foreign[path] = foreign.reason
        names = destination_names(sources)
        identical = self._identical_copies(sources, names, existing)
        identical_names = {names[path] for path in identical}
        marks_by_name = self._destination_marks(
            [o for o in existing if o.key[len(self.destination_prefix) :] not in identical_names]
        )
        owned = {
            n: m for n, m in marks_by_name.items() if m.get(SYNC_MARK) == self.settings.sync_id
        }
        todo: list[_Todo] = []
        for path, info in sources.items():
            current = [names[path]] if path in identical else None
            current = current or self._is_current(path, info, names[path], owned)
            if current:
                result.files.append(FileOutcome(path, "skip", current))
                log.info("unchanged %s: skipped", self.source.uri(info.key))
            else:
                todo.append(_Todo(path, info, names[path]))
        return sources, owned, todo

    def _log_totals(self, result: SyncResult) -> None:
        s = result.summary()
        log.info(
            "sync %s -> %s: %s copied (%s server-side), %s split or compressed, %s skipped, "
            "%s not delivered, %s deleted, %s bytes written, %s rows rejected",
            result.source_uri,
            result.destination_uri,
            s["copied"],
            s["copied_server_side"],
            s["split"],
            s["skipped"],
            s["not_delivered"],
            s["deleted"],
            s["bytes_written"],
            s["rows_rejected"],
        )

    @staticmethod
    def _foreign_message(result: SyncResult) -> str:
        listing = "; ".join(f"{p}: {r}" for p, r in sorted(result.foreign.items()))
        return (
            f"{len(result.foreign)} file(s) in {result.source_uri} are not gzip JSON Lines, "
            f"which WorkMagic reads: {listing}"
        )

    def _fail_on_foreign(self, todo: list[_Todo], result: SyncResult) -> None:
        """``on_foreign_file="fail"``: stop before anything of this hour is written."""
        for item in todo:
            if item.foreign:
                assert item.verdict is not None
                result.foreign[item.path] = item.verdict.reason
        if result.foreign:
            raise WorkMagicInputError(
                f"{self._foreign_message(result)}. Nothing of this hour was written "
                "(on_foreign_file='fail'); remove or move them, or set on_foreign_file='skip' "
                "to deliver the other files."
            )

    def _warn_foreign(self, result: SyncResult) -> None:
        if result.foreign:
            log.warning("%s. They were not copied.", self._foreign_message(result))

    def _deliver(self, todo: list[_Todo], result: SyncResult) -> None:
        """Judge and move every file, in parallel (one file after another per worker, so at
        most one small file's bytes per worker are held). While the copy route is unknown, the
        smallest file that would be copied inside the cloud goes first, alone, and finds out."""
        done, total = 0, len(todo)

        def collect(item: _Todo, outcome: FileOutcome | None) -> None:
            nonlocal done
            if outcome is None:
                assert item.verdict is not None
                result.foreign[item.path] = item.verdict.reason
            else:
                result.files.append(outcome)
                done += 1

        try:
            if not self.route.known:
                copies = [i for i in todo if self._may_copy_in_cloud(i)]
                probe = min(copies, key=lambda i: i.info.size, default=None)
                if probe is not None:
                    collect(probe, self._handle(probe))
                    todo = [i for i in todo if i is not probe]
            with ThreadPoolExecutor(self.max_workers) as pool:
                futures = [(item, pool.submit(self._handle, item)) for item in todo]
                try:
                    for item, future in futures:
                        collect(item, future.result())
                finally:
                    for _, future in futures:
                        future.cancel()
        except WorkMagicPermanentError:
            raise
        except Exception as err:
            raise WorkMagicError(
                f"sync {result.source_uri} -> {result.destination_uri} failed after "
                f"{done} of {total} files: {type(err).__name__}: {err}. Objects are "
                "written whole or not at all, and a file counts as done only when its last "
                "part is in; a retry redoes every file that did not finish."
            ) from err

    def _may_copy_in_cloud(self, item: _Todo) -> bool:
        """Copied as it is, and not read whole by the content check (a small file is)."""
        unread = not self.settings.check_content or item.info.size > HEAD_BYTES
        return unread and not self._rewrites(item.info) and _gz_name(item.path)

    def _handle(self, item: _Todo) -> FileOutcome | None:
        """Judge one file and move it; ``None`` when it is not gzip JSON Lines."""
        self._judge(item)
        if item.foreign:
            return None
        try:
            return self._move(item)
        finally:
            item.head = None

    def _prune(
        self, source_paths: set[str], owned: dict[str, Mapping[str, str]], result: SyncResult
    ) -> list[str]:
        """Remove our own objects that no current file accounts for, unless a newer run of the
        same hour wrote them (marks read again just before deleting)."""
        produced = {target for f in result.files for target in f.targets}
        stale = sorted(
            name
            for name, marks in owned.items()
            if name not in produced
            and (marks.get(SOURCE_MARK) in source_paths or self.delete_extra)
        )
        fresh = self._read_marks([self.destination_prefix + n for n in stale])
        doomed = []
        for name in stale:
            marks = fresh[self.destination_prefix + name]
            if marks is None or marks.get(SYNC_MARK) != self.settings.sync_id:
                continue  # gone, or replaced by someone else's object meanwhile
            if not may_delete(marks.get(GENERATION_MARK), self.generation):
                result.kept_newer.append(name)
                log.info(
                    "kept %s: a newer run of this hour wrote it (generation %s)",
                    self.destination.uri(self.destination_prefix + name),
                    marks.get(GENERATION_MARK),
                )
                continue
            doomed.append(name)
        if doomed:
            self.destination.delete([self.destination_prefix + n for n in doomed])
            for name in doomed:
                log.info("deleted %s", self.destination.uri(self.destination_prefix + name))
        return doomed
