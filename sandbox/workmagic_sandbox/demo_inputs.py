"""The demo's source side: what each example DAG finds for each backfilled hour.

For every hour this writes what a brand's systems would have produced by then: order exports
in the customer's own S3 and GCS buckets (the sync flows), a local JSON Lines export (the
upload flow), a retailer's CSV in a landing folder (the file import, with one bad row to show
the rejected-row report), the day-to-date sales file of an imported channel (the Sheets flow),
and a SQLite table of orders whose sales/profit changed (the Enrich API flow). It returns the
Airflow Variables and connections that point the unmodified example DAGs at all of it.
"""

from __future__ import annotations

import csv
import gzip
import json
import random
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workmagic_provider.schemas.imported import IMPORTED_PRIMARY_KEY
from workmagic_sandbox.sample_data import custom_site_order

if TYPE_CHECKING:
    from workmagic_sandbox.customer import CustomerStorage
    from workmagic_sandbox.launcher import Sandbox

SOURCE_PREFIX = "exports/"
SHEET_ID = "demo-imported-channel"
ORDERS_DB_CONN_ID = "workmagic_orders_db"
#: the imported channel's rows go to their own data category (a second workmagic connection)
IMPORTED_CONN_ID = "workmagic_imported"
IMPORTED_CATEGORY = "imported-walmart"
#: the imported fields the demo's retailer files carry, in this order: the key, two measures
SHEET_FIELDS = (*IMPORTED_PRIMARY_KEY, "orders", "sales")


@dataclass
class DemoInputs:
    """Environment for Airflow (``AIRFLOW_VAR_*``, ``AIRFLOW_CONN_*``) and what was written."""

    env: dict[str, str] = field(default_factory=dict)
    written: dict[str, int] = field(default_factory=dict)

    def variable(self, name: str, value: str) -> None:
        self.env[f"AIRFLOW_VAR_{name.upper()}"] = value

    def connection(self, conn_id: str, conn: dict[str, Any]) -> None:
        self.env[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(conn)

    def count(self, what: str, n: int = 1) -> None:
        self.written[what] = self.written.get(what, 0) + n


def _orders(hour: datetime, rows: int) -> list[dict[str, Any]]:
    rng = random.Random(hour.timestamp())
    return [custom_site_order(n, hour, rng) for n in range(rows)]


def _jsonl(rows: Sequence[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(r, separators=(",", ":")).encode() + b"\n" for r in rows)


def seed_source_bucket(
    s3: Any, gcs_bucket: Any, bucket: str, hours: Sequence[datetime], rows: int
) -> list[str]:
    """Gzipped JSON Lines per hour under ``exports/YYYY/MM/DD/HH/`` in an S3 and a GCS bucket.

    ``s3`` is a boto3 S3 client and ``gcs_bucket`` a google-cloud-storage bucket (or None).
    Returns the keys written (the same in both clouds).
    """
    keys = []
    for hour in hours:
        body = gzip.compress(_jsonl(_orders(hour, rows)), mtime=0)
        key = f"{SOURCE_PREFIX}{hour:%Y/%m/%d/%H}/orders-{hour:%Y%m%d%H}.json.gz"
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        if gcs_bucket is not None:
            gcs_bucket.blob(key).upload_from_string(body, content_type="application/gzip")
        keys.append(key)
    return keys


def write_bucket_exports(
    customer: CustomerStorage, hours: Sequence[datetime], rows: int, inputs: DemoInputs
) -> None:
    """The sync flows' sources: the customer's S3 bucket and its GCS bucket."""
    keys = seed_source_bucket(
        customer.s3_client(), customer.gcs_bucket(), customer.bucket, hours, rows
    )
    inputs.count("bucket exports", 2 * len(keys))
    inputs.variable("workmagic_source_bucket", customer.bucket)
    inputs.variable("workmagic_source_prefix", SOURCE_PREFIX)
    inputs.variable("workmagic_source_conn_id", "customer_source_aws")


def write_local_exports(
    root: Path, hours: Sequence[datetime], rows: int, inputs: DemoInputs
) -> None:
    """``<root>/YYYY/MM/DD/HH.jsonl``: the hourly export the upload DAG reads."""
    for hour in hours:
        path = root / f"{hour:%Y/%m/%d/%H}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_jsonl(_orders(hour, rows)))
        inputs.count("local exports")
    inputs.variable("workmagic_export_root", str(root))


def _header(labels: bool) -> list[str]:
    """WorkMagic's sheet labels ("Date Code", ...) or the field names."""
    if not labels:
        return list(SHEET_FIELDS)
    from workmagic_provider.operators.sheets import LABELS

    return [LABELS[name] for name in SHEET_FIELDS]


def _zip(n: int, offset: int = 0) -> str:
    """A distinct ZIP per row (the primary key includes it); every fifth one as ZIP+4."""
    code = f"{10001 + (n + offset * 1000) * 7 % 89000:05d}"
    return f"{code}-{1000 + n:04d}" if n % 5 == 0 else code


def _imported_rows(day: datetime, count: int, *, labels: bool, offset: int = 0) -> list[list[str]]:
    """Daily ZIP rows of a retailer: money with symbols and thousands separators, ZIP+4."""
    rows = []
    for n in range(count):
        orders = 3 + n * 7 % 40
        sales = orders * 1234.5 / 10 + n
        rows.append(
            [
                "DAILY",
                f"{day:%m/%d/%Y}" if labels else f"{day:%Y-%m-%d}",
                "ZIP",
                _zip(n, offset),
                "Walmart",
                "SECONDARY",
                "US",
                f"{orders:,}",
                f"${sales:,.2f}",
            ]
        )
    return rows


def write_landing_files(
    root: Path, hours: Sequence[datetime], rows: int, inputs: DemoInputs
) -> None:
    """A retailer's semicolon CSV per hour; its last row has an unknown platform type."""
    for hour in hours:
        folder = root / f"{hour:%Y/%m/%d/%H}"
        folder.mkdir(parents=True, exist_ok=True)
        day = hour - timedelta(days=1)
        # other ZIPs each hour: the import manifest drops rows an earlier hour already sent
        body = _imported_rows(day, rows, labels=True, offset=1 + hour.hour)
        body.append(["DAILY", f"{day:%m/%d/%Y}", "ZIP", "99999", "Walmart", "TERTIARY",
                     "US", "1", "$5.00"])  # fmt: skip
        with (folder / f"walmart-{hour:%Y%m%d%H}.csv").open("w", newline="") as handle:
            writer = csv.writer(handle, delimiter=";")
            writer.writerow(_header(labels=True))
            writer.writerows(body)
        inputs.count("landing files")
    inputs.variable("workmagic_landing_root", str(root))
    inputs.variable("workmagic_rejected_root", str(root.parent / "rejected"))
    inputs.variable("workmagic_import_manifest", str(root.parent / "import-manifest.json"))
    inputs.variable("workmagic_single_machine", "true")  # the demo's Airflow is one machine


def write_sales_files(root: Path, hours: Sequence[datetime], rows: int, inputs: DemoInputs) -> None:
    """``<root>/YYYY-MM-DD.csv``: the imported channel's day-to-date sales, for the sheet."""
    root.mkdir(parents=True, exist_ok=True)
    for day in sorted({h.replace(hour=0) for h in hours}):
        with (root / f"{day:%Y-%m-%d}.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(_header(labels=True))
            writer.writerows(_imported_rows(day, rows, labels=False))
        inputs.count("sales files")
    inputs.variable("workmagic_sales_root", str(root))
    inputs.variable("workmagic_sheet_id", SHEET_ID)


def write_orders_db(
    path: Path, hours: Sequence[datetime], rows: int, sandbox: Sandbox, inputs: DemoInputs
) -> None:
    """A SQLite ``enrich_orders`` table; the sandbox API knows every order (they were placed)."""
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE enrich_orders (order_id TEXT, order_timestamp TEXT, sales_amount REAL, "
        "profit_amount REAL, currency TEXT, updated_at TEXT)"
    )
    ids = []
    for hour in hours:
        for n in range(rows):
            placed = hour - timedelta(days=2, minutes=n)
            changed = hour + timedelta(seconds=(n * 37) % 3600)
            order_id = f"ord_{hour:%Y%m%d%H}_{n:05d}"
            ids.append(order_id)
            db.execute(
                "INSERT INTO enrich_orders VALUES (?, ?, ?, ?, ?, ?)",
                (
                    order_id,
                    placed.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    round(20 + n * 1.5, 2),
                    round(5 + n * 0.25, 2),
                    "USD",
                    changed.strftime("%Y-%m-%dT%H:%M:%SZ"),
                ),
            )
    db.commit()
    db.close()
    if sandbox.api is None:
        raise RuntimeError("the demo needs the sandbox's API server (Sandbox(api=True))")
    sandbox.api.seed_orders(ids)
    inputs.count("orders to enrich", len(ids))
    inputs.connection(ORDERS_DB_CONN_ID, {"conn_type": "sqlite", "host": str(path)})
    inputs.variable("workmagic_orders_conn_id", ORDERS_DB_CONN_ID)


def warehouse_variables(inputs: DemoInputs) -> None:
    """Tables the Snowflake and BigQuery DAGs would read (their runs only render SQL here)."""
    inputs.variable("workmagic_snowflake_table", "SALES.PUBLIC.ORDERS")
    inputs.variable("workmagic_snowflake_stage", "SALES.PUBLIC.WORKMAGIC")
    inputs.variable("workmagic_bigquery_table", "test-project.sales.orders")
    inputs.variable("workmagic_bigquery_staging_uri", "gs://customer-orders/workmagic-staging/")


def prepare(
    work: Path,
    hours: Sequence[datetime],
    sandbox: Sandbox,
    customer: CustomerStorage,
    *,
    rows: int,
) -> DemoInputs:
    """Write every flow's input for ``hours`` under ``work``; return the Airflow environment."""
    inputs = DemoInputs()
    inputs.env.update(sandbox.env("s3"))
    imported = sandbox.connection_dicts(
        "s3", workmagic_conn_id=IMPORTED_CONN_ID, data_category=IMPORTED_CATEGORY
    )[IMPORTED_CONN_ID]
    inputs.connection(IMPORTED_CONN_ID, imported)
    for conn_id, conn in customer.connection_dicts().items():
        inputs.connection(conn_id, conn)
    # the sheet is written as the identity of google_cloud_default (anonymous on loopback)
    inputs.connection(
        "google_cloud_default",
        {"conn_type": "google_cloud_platform", "extra": {"is_anonymous": True}},
    )
    write_bucket_exports(customer, hours, rows, inputs)
    write_local_exports(work / "exports", hours, rows, inputs)
    write_landing_files(work / "landing", hours, max(3, rows // 20), inputs)
    write_sales_files(work / "sales", hours, max(3, rows // 10), inputs)
    write_orders_db(work / "shop.sqlite", hours, max(5, rows // 10), sandbox, inputs)
    warehouse_variables(inputs)
    return inputs
