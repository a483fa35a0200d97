"""The API sandbox's state in one SQLite file: known orders, enriched values, custom orders,
and the append-only delivery log (one row per order per accepted request, never updated).

Every write is one transaction committed before the server answers, so stopping and starting
the server on the same file loses nothing; while it is stopped, reads open the file directly.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS known_orders (order_id TEXT PRIMARY KEY, source TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS enriched (
    order_id TEXT PRIMARY KEY,
    order_timestamp TEXT NOT NULL,
    ts REAL NOT NULL,
    sales_amount REAL NOT NULL,
    profit_amount REAL NOT NULL,
    currency TEXT,
    request_no INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS enriched_ts ON enriched (ts, order_id);
CREATE TABLE IF NOT EXISTS custom_orders (id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS deliveries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    api TEXT NOT NULL,
    order_id TEXT NOT NULL,
    request_no INTEGER NOT NULL,
    at REAL NOT NULL
);
"""


@contextlib.contextmanager
def _atomic(db: sqlite3.Connection) -> Iterator[None]:
    """One write transaction: committed whole, or rolled back whole on any error."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


class ApiStore:
    """Thread-safe access to the sandbox's SQLite state file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def open(self) -> None:
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(SCHEMA)
        self._db = db

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def clear(self) -> None:
        with self._lock:
            self._live().executescript(
                "DELETE FROM known_orders; DELETE FROM enriched; DELETE FROM custom_orders; "
                "DELETE FROM deliveries;"
            )

    # ------------------------------------------------------------------ writes
    def seed(self, order_ids: Iterable[str], source: str) -> int:
        rows = [(str(order_id), source) for order_id in order_ids]
        with self._lock:
            db = self._live()
            db.execute("BEGIN")
            db.executemany("INSERT OR IGNORE INTO known_orders VALUES (?, ?)", rows)
            db.execute("COMMIT")
        return len(rows)

    def unknown(self, order_ids: Iterable[str]) -> set[str]:
        """The ids WorkMagic does not have (neither seeded nor posted to the Orders API)."""
        ids = list(order_ids)
        known: set[str] = set()
        with self._lock:
            db = self._live()
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                query = f"SELECT order_id FROM known_orders WHERE order_id IN ({marks})"
                known.update(r[0] for r in db.execute(query, chunk))
        return set(ids) - known

    def apply_enrich(
        self, orders: list[dict[str, Any]], stamps: list[datetime], number: int
    ) -> None:
        """Overwrite the enriched values of ``orders`` and log their delivery, atomically."""
        at = time.time()
        with self._lock:
            db = self._live()
            with _atomic(db):
                db.executemany(
                    "INSERT INTO enriched VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(order_id) DO "
                    "UPDATE SET order_timestamp=excluded.order_timestamp, ts=excluded.ts, "
                    "sales_amount=excluded.sales_amount, profit_amount=excluded.profit_amount, "
                    "currency=excluded.currency, request_no=excluded.request_no",
                    [
                        (
                            o["order_id"],
                            o["order_timestamp"],
                            stamp.timestamp(),
                            float(o["sales_amount"]),
                            float(o["profit_amount"]),
                            o.get("currency"),
                            number,
                        )
                        for o, stamp in zip(orders, stamps, strict=True)
                    ],
                )
                db.executemany(
                    "INSERT INTO deliveries (api, order_id, request_no, at) VALUES (?, ?, ?, ?)",
                    [("enrich", o["order_id"], number, at) for o in orders],
                )

    def apply_custom(self, orders: list[dict[str, Any]], number: int) -> None:
        """Upsert custom-site orders, make them known, log their delivery, atomically."""
        at = time.time()
        with self._lock:
            db = self._live()
            with _atomic(db):
                db.executemany(
                    "INSERT INTO custom_orders VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET "
                    "body=excluded.body",
                    [(o["id"], json.dumps(o, separators=(",", ":"))) for o in orders],
                )
                db.executemany(
                    "INSERT OR IGNORE INTO known_orders VALUES (?, 'orders-api')",
                    [(o["id"],) for o in orders],
                )
                db.executemany(
                    "INSERT INTO deliveries (api, order_id, request_no, at) VALUES (?, ?, ?, ?)",
                    [("orders", o["id"], number, at) for o in orders],
                )

    # ------------------------------------------------------------------ reads
    def enriched_between(self, start: float, end: float, limit: int) -> list[dict[str, Any]]:
        """Enriched orders with ``start <= ts <= end`` (epoch seconds), oldest first."""
        with self._lock:
            rows = (
                self._live()
                .execute(
                    "SELECT order_id, order_timestamp, sales_amount, profit_amount, currency "
                    "FROM enriched WHERE ts >= ? AND ts <= ? ORDER BY ts, order_id LIMIT ?",
                    (start, end, limit),
                )
                .fetchall()
            )
        return [
            {
                "order_id": r[0],
                "order_timestamp": r[1],
                "sales_amount": r[2],
                "profit_amount": r[3],
                **({"currency": r[4]} if r[4] else {}),
            }
            for r in rows
        ]

    def enriched(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            rows = self._readable().execute(
                "SELECT order_id, order_timestamp, sales_amount, profit_amount, currency "
                "FROM enriched"
            )
            return {
                r[0]: {
                    "order_id": r[0],
                    "order_timestamp": r[1],
                    "sales_amount": r[2],
                    "profit_amount": r[3],
                    "currency": r[4],
                }
                for r in rows
            }

    def custom_orders(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            rows = self._readable().execute("SELECT id, body FROM custom_orders")
            return {r[0]: json.loads(r[1]) for r in rows}

    def delivery_counts(self, api: str) -> Counter[str]:
        with self._lock:
            rows = self._readable().execute(
                "SELECT order_id, COUNT(*) FROM deliveries WHERE api = ? GROUP BY order_id", (api,)
            )
            return Counter(dict(rows.fetchall()))

    def _live(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("the API sandbox is not started")
        return self._db

    def _readable(self) -> sqlite3.Connection:
        """The live connection, or a short-lived one on the file while stopped."""
        if self._db is not None:
            return self._db
        return sqlite3.connect(self.path)


__all__ = ["SCHEMA", "ApiStore"]
