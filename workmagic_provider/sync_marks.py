"""The marks a sync writes on every object it delivers, and what they prove on a re-run.

Each object carries the sync's id, the source file, the source fingerprint (size + source ETag)
and the run's generation; a re-split file's parts also carry the recipe, and its last part the
part count. That is how an unchanged re-run moves 0 bytes, and how pruning stays within what
this sync owns.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from workmagic_provider.files.resplit import split_names
from workmagic_provider.stores import ObjectInfo
from workmagic_provider.sync_result import SyncSettings

SYNC_MARK = "workmagic-sync"
SOURCE_MARK = "workmagic-source"
FINGERPRINT_MARK = "workmagic-fingerprint"
RECIPE_MARK = "workmagic-recipe"
#: on the last part of a re-split file only: how many parts the file became. Parts are written
#: as they fill, so parts without this mark beside them are what an interrupted run left.
PARTS_MARK = "workmagic-parts"
_PLAIN_MD5 = re.compile(r"[0-9a-f]{32}")


def rewrites(settings: SyncSettings, info: ObjectInfo) -> bool:
    """Rewritten whatever the content: validated, or re-split for its size."""
    oversized = info.size >= settings.max_part_bytes
    return settings.schema is not None or (oversized and settings.split_oversized)


def marks_for(
    settings: SyncSettings, path: str, info: ObjectInfo, transformed: bool
) -> dict[str, str]:
    """The marks of the objects delivered for source file ``path`` (the generation aside)."""
    marks = {SYNC_MARK: settings.sync_id, SOURCE_MARK: path, FINGERPRINT_MARK: info.fingerprint}
    if transformed:
        marks[RECIPE_MARK] = settings.recipe
    return marks


def identical_copies(
    settings: SyncSettings,
    destination_prefix: str,
    sources: dict[str, ObjectInfo],
    names: dict[str, str],
    existing: list[ObjectInfo],
) -> set[str]:
    """Paths whose destination object has the source's exact bytes, known from listings alone.

    A single-part upload's ETag is the MD5 of its bytes in both buckets (multipart ETags and
    SSE-KMS ETags are not, and never match here), so equal plain-MD5 ETags and sizes prove
    a byte copy is current without one HEAD request per object.
    """
    by_name = {o.key[len(destination_prefix) :]: o for o in existing}
    same = set()
    for path, info in sources.items():
        there = by_name.get(names[path])
        if (
            there is not None
            and not rewrites(settings, info)
            and there.size == info.size
            and _PLAIN_MD5.fullmatch(info.etag)
            and there.etag == info.etag
        ):
            same.add(path)
    return same


def current_names(
    settings: SyncSettings,
    path: str,
    info: ObjectInfo,
    name: str,
    owned: dict[str, Mapping[str, str]],
) -> list[str] | None:
    """The destination names that already hold this exact source file, else ``None``."""
    current = sorted(n for n, m in owned.items() if m.get(SOURCE_MARK) == path)
    if not current:
        return None
    transformed = rewrites(settings, info) or any(RECIPE_MARK in owned[n] for n in current)
    expected = marks_for(settings, path, info, transformed)
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
