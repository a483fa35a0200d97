"""Smoke of one extra, run by the interpreter of a venv that has only that extra installed.

``python smoke_extra.py EXTRA`` imports what the extra's flows import, runs its CLI and
renders its operator's statements (``render_only``: no warehouse, no bucket), then prints one
JSON object with what it saw. Any missing runtime dependency fails here with the import error.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

HOUR = datetime(2026, 3, 8, 2, tzinfo=timezone.utc)
CONTEXT: dict[str, Any] = {
    "data_interval_start": HOUR,
    "data_interval_end": HOUR + timedelta(hours=1),
}


def _cli(*args: str) -> str:
    exe = Path(sys.executable).with_name("workmagic-provider")
    done = subprocess.run([str(exe), *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(
            f"workmagic-provider {' '.join(args)} exited {done.returncode}: {done.stderr}"
        )
    return done.stdout


def amazon() -> dict[str, Any]:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook  # noqa: F401

    from workmagic_provider.operators.s3 import (
        S3SyncToWorkMagicOperator,
        S3UploadToWorkMagicOperator,
    )

    S3SyncToWorkMagicOperator(task_id="sync", source_bucket="b", source_prefix="p/")
    S3UploadToWorkMagicOperator(task_id="upload", source="s3://b/x.jsonl")
    path = _cli(
        "path", "--account", "121226", "--category", "orders", "--hour", "2026-03-08T02:00:00Z"
    )
    return {"path": path.strip()}


def google() -> dict[str, Any]:
    from airflow.providers.google.cloud.hooks.gcs import GCSHook  # noqa: F401

    from workmagic_provider.operators.bigquery import BigQueryExportToWorkMagicOperator
    from workmagic_provider.operators.gcs import GCSSyncToWorkMagicOperator

    GCSSyncToWorkMagicOperator(task_id="sync", source_bucket="b", source_prefix="p/")
    op = BigQueryExportToWorkMagicOperator(
        task_id="export",
        table="proj.sales.orders",
        location="EU",
        staging_uri="gs://staging/wm/",
        render_only=True,
    )
    return op.execute(CONTEXT)  # type: ignore[no-any-return]


def snowflake() -> dict[str, Any]:
    from workmagic_provider.operators.snowflake import SnowflakeCopyToWorkMagicOperator

    setup = _cli(
        "setup-sql", "snowflake", "--conn-id", "workmagic_default", "--role", "AIRFLOW_ROLE"
    )
    op = SnowflakeCopyToWorkMagicOperator(
        task_id="unload", table="sales.public.orders", stage="sales.public.wm", render_only=True
    )
    return {"setup_sql": setup, **op.execute(CONTEXT)}


if __name__ == "__main__":
    extra = sys.argv[1]
    result = {"amazon": amazon, "google": google, "snowflake": snowflake}[extra]()
    print(json.dumps(result, default=str))
