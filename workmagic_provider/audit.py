"""What WorkMagic's folder really holds, hour by hour: the check to run before trusting a backfill.

Our own logs say what a run meant to write; this reads the bucket instead. For each hour of a
range it lists the hour folder through the destination store (the same hooks the uploads use)
and, for every object, reads only its head (a ranged read of a few KB) to tell whether
WorkMagic can use it: gzip, the first line a JSON object, strictly under the size limit, directly
in the hour folder. An hour with no file is *missing*; an hour holding a file WorkMagic would
skip, or the parts of a run that did not finish, has *problems*.

Shared by ``workmagic-provider audit`` and ``WorkMagicAuditOperator``; it imports no Airflow.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from workmagic_provider.exceptions import WorkMagicConfigError, WorkMagicPermanentError
from workmagic_provider.standards import (
    FLOWS,
    HARD_LIMIT_BYTES,
    HourFolder,
    parse_part_name,
    to_utc_hour,
)
from workmagic_provider.stores import ObjectInfo, ObjectStore

#: Bytes of an object read first; enough for the first line of any ordinary order.
DEFAULT_HEAD_BYTES = 16 * 1024
#: A first line longer than this (compressed) is reported rather than read further.
MAX_HEAD_BYTES = 1024 * 1024
#: The name WorkMagic's guide gives its files.
DEFAULT_SUFFIX = ".json.gz"
#: A range longer than this is almost surely a typo (a year instead of a day).
MAX_HOURS = 24 * 93
GZIP_MAGIC = b"\x1f\x8b"
#: What :func:`inspect_head` says when the first line runs past the bytes it was given.
NEED_MORE = "the first line continues past the head"


class WorkMagicAuditError(WorkMagicPermanentError):
    """An audited hour is missing or holds files WorkMagic would skip."""


@dataclass(frozen=True)
class FileCheck:
    """One object of an hour folder and why WorkMagic would skip it (``problems`` empty: fine)."""

    key: str
    name: str
    size: int
    gzip: bool
    json_lines: bool
    head_bytes_read: int
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "bytes": self.size,
            "gzip": self.gzip,
            "json_lines": self.json_lines,
            "under_limit": self.size < HARD_LIMIT_BYTES,
            "ok": self.ok,
            "problems": list(self.problems),
        }


@dataclass(frozen=True)
class HourAudit:
    """One hour folder as WorkMagic would see it."""

    hour: datetime
    prefix: str
    files: tuple[FileCheck, ...]
    #: hour-level problems not tied to one file (a run's parts incomplete, two runs mixed)
    run_problems: tuple[str, ...] = ()

    @property
    def missing(self) -> bool:
        return not self.files

    @property
    def skipped_files(self) -> list[FileCheck]:
        return [f for f in self.files if not f.ok]

    @property
    def bytes(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def ok(self) -> bool:
        return not self.missing and not self.skipped_files and not self.run_problems

    @property
    def label(self) -> str:
        return self.hour.strftime("%Y-%m-%dT%H:00Z")

    def problems(self) -> list[str]:
        """Every reason this hour is not fine, one line each."""
        if self.missing:
            return [f"{self.label}: missing (no file in {self.prefix})"]
        lines = [f"{self.label}: {f.name}: {'; '.join(f.problems)}" for f in self.skipped_files]
        return lines + [f"{self.label}: {p}" for p in self.run_problems]

    def to_dict(self) -> dict[str, Any]:
        return {
            "hour": self.label,
            "prefix": self.prefix,
            "files": len(self.files),
            "bytes": self.bytes,
            "missing": self.missing,
            "ok": self.ok,
            "run_problems": list(self.run_problems),
            "objects": [f.to_dict() for f in self.files],
        }


@dataclass(frozen=True)
class AuditReport:
    """The audit of a range of hours of one account and category."""

    location: str
    hours: tuple[HourAudit, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return all(h.ok for h in self.hours)

    @property
    def missing_hours(self) -> list[str]:
        return [h.label for h in self.hours if h.missing]

    @property
    def problem_hours(self) -> list[str]:
        """Hours that hold files, some of which WorkMagic would skip (or an unfinished run)."""
        return [h.label for h in self.hours if not h.missing and not h.ok]

    def problems(self) -> list[str]:
        return [line for h in self.hours for line in h.problems()]

    def summary(self) -> dict[str, Any]:
        """Small enough for XCom: counts and the hours at fault, no per-file listing."""
        return {
            "location": self.location,
            "hours": len(self.hours),
            "files": sum(len(h.files) for h in self.hours),
            "bytes": sum(h.bytes for h in self.hours),
            "missing_hours": self.missing_hours,
            "problem_hours": self.problem_hours,
            "skipped_files": sum(len(h.skipped_files) for h in self.hours),
            "problems": self.problems(),
            "ok": self.ok,
        }

    def to_dict(self) -> dict[str, Any]:
        return {**self.summary(), "per_hour": [h.to_dict() for h in self.hours]}

    def render(self) -> str:
        """A human table: one line per hour, then the problems."""
        lines = [f"{self.location}", f"{'hour':<18} {'files':>5} {'bytes':>12}  status"]
        for h in self.hours:
            status = "missing" if h.missing else ("ok" if h.ok else "PROBLEM")
            lines.append(f"{h.label:<18} {len(h.files):>5} {h.bytes:>12,}  {status}")
        problems = self.problems()
        if problems:
            lines += ["", f"{len(problems)} problem(s):", *(f"  {p}" for p in problems)]
        else:
            lines += ["", f"all {len(self.hours)} hour(s) hold files WorkMagic can read"]
        return "\n".join(lines)


# ----------------------------------------------------------------------- one file's head
def inspect_head(head: bytes, *, whole: bool) -> tuple[bool, bool, str | None]:
    """``(gzip, json_lines, problem)`` from the first bytes of an object.

    ``whole`` says ``head`` is the entire object (then a truncated gzip stream is caught too).
    ``problem`` is :data:`NEED_MORE` when the first line does not end within ``head``.
    """
    if not head:
        return False, False, "empty object (0 bytes)"
    if head[:2] != GZIP_MAGIC:
        return False, False, f"not gzip (starts with {head[:8]!r})"
    inflater = zlib.decompressobj(wbits=31)
    try:
        text = inflater.decompress(head)
    except zlib.error as err:
        return True, False, f"gzip data is corrupt ({err})"
    if whole and not inflater.eof:
        return True, False, "gzip data ends early (truncated object)"
    newline = text.find(b"\n")
    if newline < 0:
        if not inflater.eof:
            return True, False, NEED_MORE
        if not text.strip():
            return True, False, "no JSON line (the gzip holds nothing)"
    first = text if newline < 0 else text[:newline]
    try:
        value = json.loads(first.decode("utf-8"))  # not json.loads(bytes): it guesses UTF-16
    except UnicodeDecodeError:
        return True, False, "first line is not UTF-8 text"
    except json.JSONDecodeError as err:
        return True, False, f"first line is not JSON ({err.msg} at column {err.colno})"
    if not isinstance(value, dict):
        return True, False, f"first line is a JSON {type(value).__name__}, not an object"
    return True, True, None


def read_head(store: ObjectStore, key: str, size: int) -> bytes:
    """The first ``size`` bytes of ``key``: a ranged read where the store offers one."""
    ranged: Callable[[str, int], bytes] | None = getattr(store, "read_head", None)
    if ranged is not None:
        return ranged(key, size)
    stream = store.open_read(key)
    try:
        return stream.read(size)
    finally:
        stream.close()


def check_object(
    store: ObjectStore,
    info: ObjectInfo,
    prefix: str,
    *,
    head_bytes: int = DEFAULT_HEAD_BYTES,
    suffix: str | None = DEFAULT_SUFFIX,
    limit: int = HARD_LIMIT_BYTES,
) -> FileCheck:
    """Whether WorkMagic can read ``info`` (an object listed under hour folder ``prefix``)."""
    name = info.key[len(prefix) :]
    problems: list[str] = []
    if "/" in name:
        problems.append("not directly in the hour folder (WorkMagic skips other paths)")
    if suffix and not name.endswith(suffix):
        problems.append(f"name does not end with {suffix}")
    if info.size >= limit:
        problems.append(f"{info.size:,} bytes, at or over the {limit:,}-byte limit")
    gzip = json_lines = False
    read = 0
    size = min(head_bytes, info.size) if info.size else head_bytes
    while True:
        head = read_head(store, info.key, size) if info.size else b""
        read = len(head)
        gzip, json_lines, problem = inspect_head(head, whole=read >= info.size)
        if problem != NEED_MORE or size >= min(MAX_HEAD_BYTES, info.size):
            break
        size = min(size * 4, MAX_HEAD_BYTES, info.size)
    if problem == NEED_MORE:
        problem = f"first line is longer than the {size:,} bytes read"
    if problem:
        problems.append(problem)
    return FileCheck(info.key, name, info.size, gzip, json_lines, read, tuple(problems))


# ----------------------------------------------------------------------- one hour, a range
def run_problems(names: Iterable[str], hour: datetime) -> list[str]:
    """Our own flows' parts that do not add up to one complete run: a run that died while
    publishing, or two runs of the hour both present (old rows beside new ones)."""
    problems = []
    names = list(names)
    for flow in FLOWS:
        runs: dict[str | None, list[int | None]] = {}
        for name in names:
            info = parse_part_name(name, hour, flow)
            if info is not None:
                runs.setdefault(info.generation, []).append(info.count)
        if len(runs) > 1:
            shown = ", ".join(sorted(g or "unnamed" for g in runs))
            problems.append(
                f"{flow} parts of {len(runs)} runs ({shown}): an older run's rows are still there"
            )
        for generation, counts in runs.items():
            declared = {c for c in counts if c is not None}
            if declared and (len(declared) > 1 or len(counts) != next(iter(declared))):
                problems.append(
                    f"{flow} run {generation}: {len(counts)} of "
                    f"{'/'.join(map(str, sorted(declared)))} parts present (incomplete)"
                )
    return problems


def audit_hour(
    store: ObjectStore,
    folder: HourFolder,
    *,
    head_bytes: int = DEFAULT_HEAD_BYTES,
    suffix: str | None = DEFAULT_SUFFIX,
) -> HourAudit:
    """List one hour folder (and anything below it) and check every object's head."""
    listed = store.list(folder.prefix, recursive=True)
    files = tuple(
        check_object(store, info, folder.prefix, head_bytes=head_bytes, suffix=suffix)
        for info in listed
    )
    direct = [f.name for f in files if "/" not in f.name]
    return HourAudit(folder.hour, folder.prefix, files, tuple(run_problems(direct, folder.hour)))


def hours_between(first: datetime, last: datetime, *, max_hours: int = MAX_HOURS) -> list[datetime]:
    """Every UTC hour from ``first`` to ``last``, both included."""
    start, end = to_utc_hour(first), to_utc_hour(last)
    if end < start:
        raise WorkMagicConfigError(
            f"the range ends ({end:%Y-%m-%dT%H:00Z}) before it starts ({start:%Y-%m-%dT%H:00Z})"
        )
    count = int((end - start) / timedelta(hours=1)) + 1
    if count > max_hours:
        raise WorkMagicConfigError(
            f"the range covers {count} hours; at most {max_hours} are audited at once"
        )
    return [start + timedelta(hours=i) for i in range(count)]


def audit_range(
    store: ObjectStore,
    account_id: str,
    data_category: str,
    first: datetime,
    last: datetime,
    *,
    head_bytes: int = DEFAULT_HEAD_BYTES,
    suffix: str | None = DEFAULT_SUFFIX,
) -> AuditReport:
    """Audit every hour folder from ``first`` to ``last`` (UTC hours, both included)."""
    hours = hours_between(first, last)
    folders = [HourFolder(account_id, data_category, hour) for hour in hours]
    location = store.uri(f"account-{folders[0].account_id}/{folders[0].data_category}/")
    return AuditReport(
        location,
        tuple(audit_hour(store, f, head_bytes=head_bytes, suffix=suffix) for f in folders),
    )


__all__ = [
    "AuditReport",
    "FileCheck",
    "HourAudit",
    "WorkMagicAuditError",
    "audit_hour",
    "audit_range",
    "check_object",
    "hours_between",
    "inspect_head",
]
