"""Fixtures of the Enrich/Orders API tests: the sandbox's API server, sample rows, a SQLite source.

This directory is a package (``__init__.py``) so that this conftest does not shadow the root
``conftest`` module that tests import helpers from.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

#: The data interval the tests run (its end is the reference of the four-week rule).
HOUR = datetime(2026, 3, 8, 2, tzinfo=timezone.utc)
#: The sandbox's "now": just after the hour, as in a scheduled run.
NOW = HOUR + timedelta(hours=1, minutes=5)
SOURCE_CONN_ID = "wm_orders_db"


def enrich_row(n: int, *, at: datetime | None = None, **changes: Any) -> dict[str, Any]:
    """One valid enrich row; ``order_timestamp`` inside HOUR unless ``at`` says otherwise."""
    moment = at or HOUR + timedelta(seconds=(n * 7) % 3600, milliseconds=n % 1000)
    row = {
        "order_id": f"ord_{n:06d}",
        "order_timestamp": moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "sales_amount": round(10 + (n % 500) * 1.37, 2),
        "profit_amount": round(((n % 97) - 40) * 0.85, 2),
        "currency": "USD" if n % 3 else "EUR",
    }
    row.update(changes)
    return row


@pytest.fixture
def api(sandbox: Any) -> Iterator[Any]:
    """The session sandbox's API server: empty, no faults, clock at NOW; restarted if stopped."""
    server = sandbox.api
    if not server.running:
        server.start()
    server.reset()
    server.clock = lambda: NOW
    try:
        yield server
    finally:
        if not server.running:
            server.start()
        server.reset()


def write_orders_db(path: Path, rows: Iterable[dict[str, Any]], updated_at: Iterable[str]) -> Path:
    """A SQLite ``enrich_orders`` table (loose column types, like a real staging table)."""
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE enrich_orders (row_no INTEGER PRIMARY KEY, order_id, order_timestamp, "
        "sales_amount, profit_amount, currency, updated_at TEXT)"
    )
    db.executemany(
        "INSERT INTO enrich_orders (order_id, order_timestamp, sales_amount, profit_amount, "
        "currency, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
        [
            (
                r.get("order_id"),
                r.get("order_timestamp"),
                r.get("sales_amount"),
                r.get("profit_amount"),
                r.get("currency"),
                u,
            )
            for r, u in zip(rows, updated_at, strict=True)
        ],
    )
    db.commit()
    db.close()
    return path


@pytest.fixture
def orders_db_conn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Returns ``make(rows, updated_at)``: writes the SQLite source and sets its connection."""

    def make(rows: Iterable[dict[str, Any]], updated_at: Iterable[str]) -> Path:
        path = write_orders_db(tmp_path / "orders.sqlite", rows, updated_at)
        monkeypatch.setenv(
            f"AIRFLOW_CONN_{SOURCE_CONN_ID.upper()}",
            json.dumps({"conn_type": "sqlite", "host": str(path)}),
        )
        return path

    return make
