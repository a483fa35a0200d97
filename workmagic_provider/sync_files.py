"""Which files of a source hour folder the sync delivers, and under which names.

WorkMagic reads gzip JSON Lines from the files directly inside an hour folder and skips anything
else ("Cloud Sync Skipped"). So every listed source file gets a :class:`Verdict`:

* ``foreign`` files are not delivered: empty files, markers (``_SUCCESS``), files whose name says
  they are another format (CSV, Parquet, ...), and content that is not gzip JSON Lines whatever
  its name (no gzip magic under a ``.gz`` name, a first line that is not a JSON object);
* ``gzip`` files are copied as they are;
* ``plain`` JSON Lines are gzip-compressed on the way.

Names come first and cost nothing; the content check reads one small range of the object (gzip
magic, then the first line is parsed as a JSON object), and only for files that are new or
changed, so an unchanged folder costs a listing.

Files of sub-folders land directly in WorkMagic's hour folder (it reads no deeper), flattened
with ``__``; every delivered name ends in ``.gz``. Two sources that would get the same name
(``a/b.json.gz`` beside ``a__b.json.gz``, ``x.jsonl`` beside ``x.jsonl.gz``) are told apart by a
digest of the source path on all but the first, so names depend only on the listing.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from workmagic_provider.files.resplit import split_stem

Kind = Literal["gzip", "plain", "foreign"]

#: bytes read from the start of a new or changed file to check its content
HEAD_BYTES = 64 * 1024
#: at most this much of the head is decompressed to find the first line
_MAX_INFLATED = 1024 * 1024
_GZIP_MAGIC = b"\x1f\x8b"
_PLAIN_ENDINGS = (".jsonl", ".ndjson", ".json")
_BOM = b"\xef\xbb\xbf"
#: what sub-folder separators become in a destination name
FOLDER_SEPARATOR = "__"
#: endings (after an optional ``.gz``) that name a format WorkMagic does not read
_FOREIGN_ENDINGS = {
    ".csv": "CSV",
    ".tsv": "TSV",
    ".parquet": "Parquet",
    ".avro": "Avro",
    ".orc": "ORC",
    ".xlsx": "Excel",
    ".xls": "Excel",
    ".xml": "XML",
    ".zip": "ZIP",
    ".crc": "checksum",
}


@dataclass(frozen=True)
class Verdict:
    """What a source file is to WorkMagic; ``reason`` says why a foreign one is not delivered."""

    kind: Kind
    reason: str = ""


def verdict_by_name(path: str, size: int) -> Verdict | None:
    """A foreign verdict from the listing alone, or ``None`` when the content must tell."""
    name = path.rsplit("/", 1)[-1]
    if size == 0:
        return Verdict("foreign", "empty file")
    if name.startswith(("_", ".")):
        return Verdict("foreign", "marker or hidden file")
    lower = name.lower().removesuffix(".gz")
    for ending, label in _FOREIGN_ENDINGS.items():
        if lower.endswith(ending):
            return Verdict("foreign", f"{label} file (by its name), not gzip JSON Lines")
    return None


def verdict_by_ending(path: str) -> Verdict | None:
    """What a name promises, for syncs that trust names: ``.gz`` is gzip JSON Lines,
    ``.jsonl`` / ``.ndjson`` / ``.json`` plain JSON Lines; ``None`` for any other name."""
    lower = path.lower()
    if lower.endswith(".gz"):
        return Verdict("gzip")
    if lower.endswith(_PLAIN_ENDINGS):
        return Verdict("plain")
    return None


def verdict_by_content(path: str, head: bytes, whole: bool) -> Verdict:
    """Judge a file by its first bytes; ``whole`` says ``head`` is the entire object."""
    named_gzip = path.lower().endswith(".gz")
    if head[:2] == _GZIP_MAGIC:
        inflater = zlib.decompressobj(31)
        try:
            text = inflater.decompress(head, _MAX_INFLATED)
        except zlib.error as err:
            return Verdict("foreign", f"corrupt gzip data ({err})")
        if whole and not inflater.eof and not inflater.unconsumed_tail:
            return Verdict("foreign", "truncated gzip data")
        kind: Kind = "gzip"
        complete = inflater.eof
    elif named_gzip:
        return Verdict("foreign", "named .gz but not gzip-compressed")
    else:
        text, kind, complete = head, "plain", whole
    problem = _first_line_problem(text, complete)
    return Verdict("foreign", problem) if problem else Verdict(kind)


def _first_line_problem(text: bytes, complete: bool) -> str | None:
    """Why the first non-blank line is not one JSON object (``None``: it is)."""
    text = text.removeprefix(_BOM).lstrip(b" \t\r\n")
    if not text:
        return "no JSON Lines: only blank lines" if complete else "no line in the first bytes"
    end = text.find(b"\n")
    if end < 0 and not complete:  # a record longer than what was read: judge its start
        return None if text[:1] == b"{" else "first line is not a JSON object"
    line = text if end < 0 else text[:end]
    try:
        value = json.loads(line)
    except ValueError:
        return "first line is not a JSON object (not JSON)"
    return None if isinstance(value, dict) else "first line is not a JSON object"


def _base_name(path: str) -> str:
    flat = path.replace("/", FOLDER_SEPARATOR)
    return flat if flat.lower().endswith(".gz") else flat + ".gz"


def _told_apart(path: str, name: str, length: int) -> str:
    stem = split_stem(name)
    digest = hashlib.sha256(path.encode()).hexdigest()[:length]
    return f"{stem}-{digest}{name[len(stem) :]}"


def destination_names(paths: Iterable[str]) -> dict[str, str]:
    """Destination name of every source path (relative to the source hour folder).

    Top-level files come first, then by path; the first of a clash keeps the plain name, the
    others get a digest of their path, chosen so that it is nobody's plain name either.
    """
    base = {path: _base_name(path) for path in paths}
    plain_names = set(base.values())
    names: dict[str, str] = {}
    given: set[str] = set()
    for path in sorted(base, key=lambda p: (p.count("/"), p)):
        name, length = base[path], 8
        if name in given:
            name = _told_apart(path, base[path], length)
            while name in given or name in plain_names:
                length += 4
                name = _told_apart(path, base[path], length)
        names[path] = name
        given.add(name)
    return names


__all__ = [
    "FOLDER_SEPARATOR",
    "HEAD_BYTES",
    "Verdict",
    "destination_names",
    "verdict_by_content",
    "verdict_by_ending",
    "verdict_by_name",
]
