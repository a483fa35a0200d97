"""Every example DAG's source, in the customer's bucket: what ``docker compose`` runs against.

The demo writes its inputs to one machine's disk. Under compose (or any CeleryExecutor), tasks
run in other containers, so the same inputs are put where every worker reaches them: the
customer's bucket in the sandbox's S3 (``uploads/``, ``landing/``, ``sales/`` beside the sync
DAGs' ``exports/``), and the orders to enrich in a SQL database given by a SQLAlchemy URL (the
compose file's PostgreSQL). The files are the demo's own (:mod:`demo_inputs`), so both runs
see the same data.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from workmagic_sandbox.demo_inputs import (
    DemoInputs,
    write_landing_files,
    write_local_exports,
    write_orders_db,
    write_sales_files,
)

if TYPE_CHECKING:
    from workmagic_sandbox.launcher import Sandbox

#: Folders of the customer's bucket, by what the DAGs read there.
UPLOADS, LANDING, SALES = "uploads", "landing", "sales"
ORDERS_TABLE = "enrich_orders"


def seed_flow_inputs(
    sandbox: Sandbox,
    bucket: str,
    hours: Sequence[datetime],
    rows: int,
    orders_db: str | None = None,
) -> dict[str, int]:
    """Write the upload, file-import and Sheets inputs of ``hours`` into ``s3://bucket/``; with
    ``orders_db`` (a SQLAlchemy URL), also the orders the Enrich DAG selects (and the sandbox
    API knows). Returns what was written, by kind."""
    inputs = DemoInputs()
    with tempfile.TemporaryDirectory(prefix="workmagic-compose-") as work:
        root = Path(work)
        write_local_exports(root / UPLOADS, hours, rows, inputs)
        write_landing_files(root / LANDING, hours, max(3, rows // 20), inputs)
        write_sales_files(root / SALES, hours, max(3, rows // 10), inputs)
        s3 = sandbox.aws.admin_client()
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            s3.upload_file(str(path), bucket, path.relative_to(root).as_posix())
        if orders_db:
            db = root / "orders.sqlite"
            write_orders_db(db, hours, max(5, rows // 10), sandbox, inputs)
            copy_orders_table(db, orders_db)
    return inputs.written


def copy_orders_table(sqlite_path: Path, url: str) -> int:
    """Replace ``enrich_orders`` at ``url`` with the rows of the demo's SQLite table.

    Text columns compare byte-wise (``COLLATE "C"`` on PostgreSQL), as in SQLite, so the DAG's
    ``updated_at >= '...'`` window means the same in both.
    """
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    collation = "C" if engine.dialect.name == "postgresql" else None
    text = sa.Text(collation=collation)
    table = sa.Table(
        ORDERS_TABLE,
        sa.MetaData(),
        sa.Column("order_id", text, primary_key=True),
        sa.Column("order_timestamp", text),
        sa.Column("sales_amount", sa.Float),
        sa.Column("profit_amount", sa.Float),
        sa.Column("currency", text),
        sa.Column("updated_at", text),
    )
    with sqlite3.connect(sqlite_path) as source:
        cursor = source.execute(f"SELECT {', '.join(table.columns.keys())} FROM {ORDERS_TABLE}")
        names = [d[0] for d in cursor.description]
        records = [dict(zip(names, row, strict=True)) for row in cursor]
    try:
        with engine.begin() as conn:
            table.drop(conn, checkfirst=True)
            table.create(conn)
            conn.execute(table.insert(), records)
    finally:
        engine.dispose()
    return len(records)
