"""The example S3 sync DAG run by Airflow (``dag.test``) against the loopback sandbox.

A 24-hour backfill lands exactly the source's hour folders; running the same 24 hours again
moves 0 bytes and leaves every object as it was.
"""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from dag_helpers import run_hour, xcom_return

from workmagic_sandbox.sample_data import custom_site_orders

pytestmark = pytest.mark.integration

DAG_ID = "workmagic_s3_sync_hourly"
ACCOUNT_PREFIX = "account-121226/order-geo-date-data/"
FIRST_HOUR = datetime(2026, 3, 7, 0, tzinfo=timezone.utc)


def _source_files(hour: datetime) -> dict[str, bytes]:
    """2 or 3 small gzip JSON-lines files per hour, content unique to the hour."""
    files = {}
    for n in range(2 + hour.hour % 2):
        rows = custom_site_orders(5 + n, hour=hour, seed=hour.hour * 10 + n)
        text = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in rows)
        files[f"orders-{n}.json.gz"] = gzip.compress(text.encode(), mtime=0)
    return files


def _objects(sandbox: Any) -> dict[str, tuple[str, Any, bytes]]:
    client = sandbox.aws.admin_client()
    out = {}
    for key in sandbox.aws.list_keys(ACCOUNT_PREFIX):
        obj = client.get_object(Bucket=sandbox.bucket, Key=key)
        out[key] = (obj["ETag"], obj["LastModified"], obj["Body"].read())
    return out


def switched_on(dag: Any, hour: datetime) -> None:
    """What a user copying the DAG does: set its START to the hour they switch it on."""
    dag.start_date = hour
    for task in dag.tasks:
        task.start_date = hour


@pytest.fixture
def s3_sync_env(customer: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AIRFLOW_VAR_WORKMAGIC_SOURCE_BUCKET", customer.bucket)
    monkeypatch.setenv("AIRFLOW_VAR_WORKMAGIC_SOURCE_PREFIX", "exports/")
    monkeypatch.setenv("AIRFLOW_VAR_WORKMAGIC_SOURCE_CONN_ID", "customer_source_aws")
    return customer


def test_24_hour_backfill_then_rerun_moves_nothing(
    s3_sync_env: Any, sandbox: Any, example_dag: Any
) -> None:
    hours = [FIRST_HOUR + timedelta(hours=n) for n in range(24)]
    expected: dict[str, bytes] = {}
    client = s3_sync_env.s3_client()
    for hour in hours:
        for name, data in _source_files(hour).items():
            client.put_object(
                Bucket=s3_sync_env.bucket, Key=f"exports/{hour:%Y/%m/%d/%H}/{name}", Body=data
            )
            expected[f"{ACCOUNT_PREFIX}{hour:%Y/%m/%d/%H}/{name}"] = data

    dag = example_dag(DAG_ID)
    switched_on(dag, FIRST_HOUR)
    for hour in hours:
        run = run_hour(dag, hour)
        assert run.state == "success"
        summary = xcom_return(run, "sync_hour")
        assert summary["copied"] == len(_source_files(hour)) and summary["skipped"] == 0

    first = _objects(sandbox)
    assert {key: body for key, (_, _, body) in first.items()} == expected
    folders = {key.rsplit("/", 1)[0] for key in first}
    assert len(folders) == 24

    for hour in hours:
        run = run_hour(dag, hour)
        summary = xcom_return(run, "sync_hour")
        assert summary["bytes_written"] == 0 and summary["copied"] == 0, summary
        assert summary["skipped"] == len(_source_files(hour))
    assert _objects(sandbox) == first  # same ETags, same LastModified: nothing rewritten
