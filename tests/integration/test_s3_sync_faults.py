"""Failure paths of the S3 sync: WorkMagic's side going away mid-sync, and a wrong External ID."""

from __future__ import annotations

import gzip
import json
import threading
import time
from datetime import datetime, timezone
from typing import Any

import pytest
from dag_helpers import run_hour, ti_state

from workmagic_sandbox.sample_data import custom_site_orders

pytestmark = pytest.mark.integration

HOUR = datetime(2026, 3, 8, 2, tzinfo=timezone.utc)
DEST = "account-121226/order-geo-date-data/2026/03/08/02/"

FAULT_DAG = """
from datetime import datetime, timedelta, timezone

from airflow.sdk import DAG
from workmagic_provider.example_defaults import hourly_timetable
from workmagic_provider.operators.s3 import S3SyncToWorkMagicOperator

with DAG(
    dag_id="wm_s3_sync_fault",
    schedule=hourly_timetable(),
    start_date=datetime(2026, 3, 1, tzinfo=timezone.utc),
    catchup=False,
) as dag:
    S3SyncToWorkMagicOperator(
        task_id="sync_hour",
        source_bucket="customer-orders",
        source_prefix="exports/",
        source_conn_id="customer_source_aws",
        max_workers=2,
        retries=1,
        retry_delay=timedelta(seconds=1),
    )
"""


def _put_sources(customer: Any, count: int) -> dict[str, bytes]:
    files = {}
    client = customer.s3_client()
    for n in range(count):
        rows = custom_site_orders(20, hour=HOUR, seed=n)
        data = gzip.compress("".join(json.dumps(r) + "\n" for r in rows).encode(), mtime=0)
        client.put_object(
            Bucket=customer.bucket, Key=f"exports/2026/03/08/02/f{n:03d}.json.gz", Body=data
        )
        files[f"f{n:03d}.json.gz"] = data
    return files


def _destination(sandbox: Any) -> dict[str, bytes]:
    client = sandbox.aws.admin_client()
    return {
        key[len(DEST) :]: client.get_object(Bucket=sandbox.bucket, Key=key)["Body"].read()
        for key in sandbox.aws.list_keys(DEST)
    }


def test_destination_stopped_mid_sync_then_retry_completes(
    customer: Any, sandbox: Any, load_dag_file: Any, airflow_db: Any, capfd: Any
) -> None:
    files = _put_sources(customer, 30)
    stopped = threading.Event()
    restarted = threading.Event()

    def stop_after_some_writes(write: Any) -> None:
        if len(sandbox.writes) >= 5 and not stopped.is_set():
            stopped.set()
            threading.Thread(target=sandbox.aws.stop).start()

    def restart_when_task_waits_for_retry() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if stopped.is_set() and ti_state("wm_s3_sync_fault") == "up_for_retry":
                sandbox.aws.start()
                restarted.set()
                return
            time.sleep(0.1)

    sandbox.aws.gate.write_listeners.append(stop_after_some_writes)
    watcher = threading.Thread(target=restart_when_task_waits_for_retry, daemon=True)
    watcher.start()
    try:
        dag = load_dag_file(FAULT_DAG, "wm_s3_sync_fault")
        run = run_hour(dag, HOUR)
    finally:
        sandbox.aws.gate.write_listeners.clear()
        if not restarted.is_set():
            sandbox.aws.start()
    watcher.join(timeout=5)

    assert stopped.is_set() and restarted.is_set()
    assert run.state == "success"
    ti = run.get_task_instance("sync_hour")
    assert ti.try_number == 2  # the first try failed, the retry completed
    logged = "".join(capfd.readouterr())  # the task log of dag.test goes to the console
    assert "failed after" in logged and "a retry redoes every file that did not finish" in logged
    # exactly the source: nothing partial, nothing twice
    assert _destination(sandbox) == files


@pytest.mark.parametrize(
    "override",
    [
        {"external_id_secret": "ext_id_typo_4242"},
        {"role_arn": "arn:aws:iam::588759585297:role/AmazonS3FolderAccess999"},
    ],
    ids=["wrong-external-id", "wrong-role"],
)
def test_wrong_external_id_or_role_fails_naming_the_role_without_secrets(
    customer: Any, sandbox: Any, airflow_connections: Any, override: dict[str, str]
) -> None:
    from workmagic_provider.exceptions import WorkMagicError
    from workmagic_provider.operators.s3 import S3SyncToWorkMagicOperator

    _put_sources(customer, 2)
    wrong = "ext_id_typo_4242"
    airflow_connections(**override)
    role = override.get("role_arn", sandbox.role_arn)
    operator = S3SyncToWorkMagicOperator(
        task_id="sync_hour",
        source_bucket=customer.bucket,
        source_prefix="exports/",
        source_conn_id="customer_source_aws",
    )
    with pytest.raises(WorkMagicError) as raised:
        operator.execute({"data_interval_start": HOUR})  # type: ignore[arg-type]
    message = str(raised.value)
    assert role in message
    assert "External ID" in message
    assert wrong not in message and sandbox.external_id not in message
    assert "sandbox-customer-secret" not in message
    assert _destination(sandbox) == {}
