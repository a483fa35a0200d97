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

Here: planning (listings, verdicts, what is current), the parallel delivery and the pruning.
The marks are :mod:`~workmagic_provider.sync_marks`, one file's copy or transform
:mod:`~workmagic_provider.sync_moves`, the settings and the summary
:mod:`~workmagic_provider.sync_result`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor

from workmagic_provider.exceptions import (
    WorkMagicError,
    WorkMagicInputError,
    WorkMagicPermanentError,
)
from workmagic_provider.files.unique_keys import UniqueKeys
from workmagic_provider.generations import GENERATION_MARK, may_delete, new_generation
from workmagic_provider.stores import ObjectInfo, ObjectStore
from workmagic_provider.sync_files import (
    HEAD_BYTES,
    destination_names,
    verdict_by_content,
    verdict_by_ending,
    verdict_by_name,
)
from workmagic_provider.sync_marks import (
    SOURCE_MARK,
    SYNC_MARK,
    current_names,
    identical_copies,
    rewrites,
)
from workmagic_provider.sync_moves import CopyRoute, FileMover, Todo
from workmagic_provider.sync_result import FileOutcome, SyncResult, SyncSettings

log = logging.getLogger(__name__)

__all__ = ["CopyRoute", "HourSync", "SyncResult", "SyncSettings"]


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
        self._mover: FileMover  # made by run(), once the generation is taken

    # -- planning -------------------------------------------------------------------------
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

    def _judge(self, item: Todo, *, keep_head: bool = True) -> None:
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

    def _judge_all(self, todo: list[Todo]) -> None:
        """Judge every file before anything is written (``on_foreign_file="fail"``)."""
        with ThreadPoolExecutor(self.max_workers) as pool:
            list(pool.map(lambda item: self._judge(item, keep_head=False), todo))

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
        keys = UniqueKeys.for_schema(self.settings.schema) if self.settings.schema else None
        self._mover = FileMover(
            self.source,
            self.destination,
            self.destination_prefix,
            self.settings,
            route=self.route,
            generation=self.generation,
            keys=keys,
        )
        try:
            self._deliver(todo, result)
        finally:
            if keys is not None:
                keys.close()
        self._warn_foreign(result)
        result.deleted = self._prune(set(sources) | set(result.foreign), owned, result)
        self._log_totals(result)
        return result

    def _plan(
        self, result: SyncResult
    ) -> tuple[dict[str, ObjectInfo], dict[str, Mapping[str, str]], list[Todo]]:
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
        identical = identical_copies(
            self.settings, self.destination_prefix, sources, names, existing
        )
        identical_names = {names[path] for path in identical}
        marks_by_name = self._destination_marks(
            [o for o in existing if o.key[len(self.destination_prefix) :] not in identical_names]
        )
        owned = {
            n: m for n, m in marks_by_name.items() if m.get(SYNC_MARK) == self.settings.sync_id
        }
        todo: list[Todo] = []
        for path, info in sources.items():
            current = [names[path]] if path in identical else None
            current = current or current_names(self.settings, path, info, names[path], owned)
            if current:
                result.files.append(FileOutcome(path, "skip", current))
                log.info("unchanged %s: skipped", self.source.uri(info.key))
            else:
                todo.append(Todo(path, info, names[path]))
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

    def _fail_on_foreign(self, todo: list[Todo], result: SyncResult) -> None:
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

    def _deliver(self, todo: list[Todo], result: SyncResult) -> None:
        """Judge and move every file, in parallel (one file after another per worker, so at
        most one small file's bytes per worker are held). While the copy route is unknown, the
        smallest file that would be copied inside the cloud goes first, alone, and finds out."""
        done, total = 0, len(todo)

        def collect(item: Todo, outcome: FileOutcome | None) -> None:
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

    def _may_copy_in_cloud(self, item: Todo) -> bool:
        """Copied as it is, and not read whole by the content check (a small file is)."""
        unread = not self.settings.check_content or item.info.size > HEAD_BYTES
        gzip_name = item.path.lower().endswith(".gz")
        return unread and gzip_name and not rewrites(self.settings, item.info)

    def _handle(self, item: Todo) -> FileOutcome | None:
        """Judge one file and move it; ``None`` when it is not gzip JSON Lines."""
        self._judge(item)
        if item.foreign:
            return None
        try:
            return self._mover.move(item)
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
