"""Each key once per upload: a second row with the same key is that row's error.

WorkMagic keeps one row per key (the custom-site order ``id``, the imported 7-field primary
key, the enrich ``order_id``): two rows with one key in an upload would be collapsed into one,
silently under-counting sales. So every flow that writes such rows checks the *validated* rows
here (after normalisation, so ``us`` and ``US`` are one country), whatever they came from
(files, records, SQL), and rejects a repeat, naming the row that had the key first. This is the
one duplicate-key mechanism of the package.

The keys seen live in a SQLite temporary table (SQLite keeps it in memory up to its page cache
and spills the rest to a temporary file), so memory stays flat however many rows go through.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

from workmagic_provider.schemas import IMPORTED_PRIMARY_KEY
from workmagic_provider.schemas.report import ROW, ValidationReport

if TYPE_CHECKING:
    from workmagic_provider.schemas import SchemaOptions

#: receives each rejected row: its number and its line
RejectedRow = Callable[[int, bytes | str], None]

#: the fields that make a row's key, per schema (schemas without one are not checked)
KEY_FIELDS: dict[str, tuple[str, ...]] = {
    "custom-site": ("id",),
    "imported": IMPORTED_PRIMARY_KEY,
    "enrich": ("order_id",),
}
#: A validated line starts with its one key field (the schemas declare it first): read it off
#: the bytes instead of parsing a kilobyte order; any other shape takes one parse.
_LEADING_KEY = {
    field: re.compile(rb'\{"' + field.encode() + rb'":(?:"((?:[^"\\]|\\.)*)"|(-?[0-9]+)[,}])')
    for field in ("id", "order_id")
}


class UniqueKeys:
    """Remembers the first row of every key of one upload (use as a context manager)."""

    def __init__(self, fields: Sequence[str], *, what: str = "primary key") -> None:
        self.fields = tuple(fields)
        self.what = what
        self.repeats = 0
        # "": a private temporary file; one connection shared by the threads of one sync
        self._db = sqlite3.connect("", isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()
        self._db.execute("PRAGMA cache_size = -8192")  # 8 MiB of pages in memory at most
        # a scratch table nobody reads after a crash: no journal, no fsync
        self._db.execute("PRAGMA journal_mode = OFF")
        self._db.execute("PRAGMA synchronous = OFF")
        self._db.execute("CREATE TABLE seen (digest BLOB PRIMARY KEY, row TEXT) WITHOUT ROWID")

    @classmethod
    def for_schema(cls, schema: str) -> UniqueKeys | None:
        fields = KEY_FIELDS.get(schema)
        if fields is None:
            return None
        return cls(fields, what=fields[0] if len(fields) == 1 else "primary key")

    def key_of(self, line: bytes) -> tuple[object, ...]:
        """The key of a validated JSON line (as the values it holds)."""
        row = json.loads(line)
        return tuple(row.get(f) for f in self.fields)

    def key_bytes(self, line: bytes) -> bytes:
        """The key of a validated JSON line as canonical JSON (``["A-1"]``), what is digested.

        A leading single-field key without escapes is cut from the bytes; anything else takes
        one parse. Both give ``json.dumps(list(key))`` without ASCII escaping, byte for byte.
        """
        pattern = _LEADING_KEY.get(self.fields[0]) if len(self.fields) == 1 else None
        if pattern is not None:
            found = pattern.match(line)
            if found is not None:
                text, number = found.groups()
                if number is not None:
                    return b"[" + number + b"]"
                if b"\\" not in text:
                    return b'["' + text + b'"]'
        return _canonical(self.key_of(line))

    def first_row_of(self, key: bytes, row: str) -> str | None:
        """``None`` if ``key`` (:meth:`key_bytes`) is new (it is remembered for ``row``), else
        the row that had it."""
        digest = _digest(key)
        with self._lock:
            cursor = self._db.execute("INSERT OR IGNORE INTO seen VALUES (?, ?)", (digest, row))
            if cursor.rowcount == 1:
                return None
            (first,) = self._db.execute(
                "SELECT row FROM seen WHERE digest = ?", (digest,)
            ).fetchone()
        return str(first)

    def admit_block(
        self, report: ValidationReport, rows: Sequence[int], block: bytes
    ) -> tuple[bytes, list[int], list[tuple[int, bytes]]] | None:
        """Check a block of validated lines (each ends in a newline) in one statement.

        ``None`` when every key is new (the usual case: the block is written as it is); else
        the block without its repeats, their row numbers, and the ``(row, line)`` repeated.
        """
        lines = block.split(b"\n")
        lines.pop()
        labels = [f"row {row}" for row in rows]
        key_bytes = self.key_bytes
        digests = [_digest(key_bytes(line)) for line in lines]
        with self._lock:
            before = self._db.total_changes
            self._db.execute("BEGIN")  # one transaction per block, not one per row
            self._db.executemany(
                "INSERT OR IGNORE INTO seen VALUES (?, ?)", zip(digests, labels, strict=True)
            )
            self._db.execute("COMMIT")
            if self._db.total_changes - before == len(lines):
                return None
            firsts = [
                self._db.execute("SELECT row FROM seen WHERE digest = ?", (d,)).fetchone()[0]
                for d in digests
            ]
        kept: list[bytes] = []
        kept_rows: list[int] = []
        repeated: list[tuple[int, bytes]] = []
        for row, line, label, first in zip(rows, lines, labels, firsts, strict=True):
            if first == label:  # the first row with this key is this one
                kept.append(line)
                kept_rows.append(row)
            else:
                self._repeat(report, row, self.key_of(line), first)
                repeated.append((row, line))
        return b"".join(line + b"\n" for line in kept), kept_rows, repeated

    def admit(
        self, report: ValidationReport, row: int, line: bytes, where: str | None = None
    ) -> bool:
        """Whether validated ``line`` of ``row`` may be written; a repeat goes to ``report``.

        ``where`` names the input when one key set serves several (the files of a sync).
        """
        first = self.first_row_of(
            self.key_bytes(line), f"{where} row {row}" if where else f"row {row}"
        )
        if first is None:
            return True
        self._repeat(report, row, self.key_of(line), first)
        return False

    def _repeat(
        self, report: ValidationReport, row: int, key: tuple[object, ...], first: str
    ) -> None:
        self.repeats += 1
        report.rows_valid -= 1  # the validator counted it valid; it is this row's error now
        shown = ", ".join(str(part) for part in key)
        report.add(
            row,
            self.fields[0] if len(self.fields) == 1 else ROW,
            f"duplicate {self.what} ({shown}): {first} already has it; WorkMagic keeps one "
            "row per key, so the second would replace the first",
        )

    def unique(
        self,
        rows: Iterable[tuple[int, bytes]],
        report: ValidationReport,
        rejected: RejectedRow | None = None,
    ) -> Iterator[tuple[int, bytes]]:
        """The validated ``(row, line)`` pairs whose key is new; repeats go to ``report``."""
        for row, line in rows:
            if self.admit(report, row, line):
                yield row, line
            elif rejected is not None:
                rejected(row, line)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> UniqueKeys:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _canonical(key: tuple[object, ...]) -> bytes:
    return json.dumps(list(key), ensure_ascii=False, separators=(",", ":"), default=str).encode()


def _digest(key: bytes) -> bytes:
    return hashlib.blake2b(key, digest_size=16).digest()


def validated_unique(
    lines: Iterable[tuple[int, bytes | str]],
    schema: str,
    *,
    report: ValidationReport,
    options: SchemaOptions | None = None,
    rejected: RejectedRow | None = None,
) -> Iterator[tuple[int, bytes]]:
    """Validate numbered lines one by one and keep each key once: ``(row, valid line)`` out.

    What the batch pipeline does, for the callers that take rows one at a time (the CLI's
    ``validate``, the Sheets operator).
    """
    from workmagic_provider.schemas import validate_numbered

    valid = validate_numbered(lines, schema, report=report, options=options, rejected=rejected)
    keys = UniqueKeys.for_schema(schema)
    if keys is None:
        yield from valid
        return
    with keys:
        yield from keys.unique(valid, report, rejected)
