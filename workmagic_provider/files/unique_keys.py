"""Each key once per upload: a second row with the same key is that row's error.

WorkMagic keeps one row per key (the imported 7-field primary key, the enrich ``order_id``):
two rows with one key in an upload would be collapsed into one, silently under-counting sales.
So every flow that writes such rows checks the *validated* rows here (after normalisation, so
``us`` and ``US`` are one country) and rejects a repeat, naming the row that had the key first.

The keys seen live in a SQLite temporary table (SQLite keeps it in memory up to its page cache
and spills the rest to a temporary file), so memory stays flat however many rows go through.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Sequence

from workmagic_provider.schemas import IMPORTED_PRIMARY_KEY
from workmagic_provider.schemas.report import ROW, ValidationReport

#: the fields that make a row's key, per schema (schemas without one are not checked)
KEY_FIELDS: dict[str, tuple[str, ...]] = {
    "imported": IMPORTED_PRIMARY_KEY,
    "enrich": ("order_id",),
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
        self._db.execute("CREATE TABLE seen (digest BLOB PRIMARY KEY, row TEXT) WITHOUT ROWID")

    @classmethod
    def for_schema(cls, schema: str) -> UniqueKeys | None:
        fields = KEY_FIELDS.get(schema)
        if fields is None:
            return None
        return cls(fields, what=fields[0] if len(fields) == 1 else "primary key")

    def key_of(self, row: dict[str, object]) -> tuple[object, ...]:
        return tuple(row.get(f) for f in self.fields)

    def first_row_of(self, key: tuple[object, ...], row: str) -> str | None:
        """``None`` if ``key`` is new (it is remembered for ``row``), else the row that had it."""
        digest = hashlib.blake2b(json.dumps(key, default=str).encode(), digest_size=16).digest()
        with self._lock:
            cursor = self._db.execute("INSERT OR IGNORE INTO seen VALUES (?, ?)", (digest, row))
            if cursor.rowcount == 1:
                return None
            (first,) = self._db.execute(
                "SELECT row FROM seen WHERE digest = ?", (digest,)
            ).fetchone()
        return str(first)

    def admit(
        self, report: ValidationReport, row: int, line: bytes, where: str | None = None
    ) -> bool:
        """Whether validated ``line`` of ``row`` may be written; a repeat goes to ``report``.

        ``where`` names the input when one key set serves several (the files of a sync).
        """
        key = self.key_of(json.loads(line))
        first = self.first_row_of(key, f"{where} row {row}" if where else f"row {row}")
        if first is None:
            return True
        self.repeats += 1
        report.rows_valid -= 1  # the validator counted it valid; it is this row's error now
        shown = ", ".join(str(part) for part in key)
        report.add(
            row,
            self.fields[0] if len(self.fields) == 1 else ROW,
            f"duplicate {self.what} ({shown}): {first} already has it; WorkMagic keeps one "
            "row per key, so the second would replace the first",
        )
        return False

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> UniqueKeys:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
