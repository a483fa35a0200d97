"""Extra links on the task page, read after ``dag.test()`` the way the UI's REST endpoint does:
the serialized task's ``get_extra_links`` for the task instance, from what the run stored.

Also the BigQuery ``deferrable`` default, read from ``[operators] default_deferrable``.
"""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timezone
from typing import Any

import pytest
from dag_helpers import run_hour, xcom_return

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:Arrow output:UserWarning"),  # fakesnow internals
]

HOUR = datetime(2026, 12, 1, 1, tzinfo=timezone.utc)
FOLDER = "account-121226/order-geo-date-data/2026/12/01/01/"
STAGING = "gs://customer-staging/workmagic/"


def _links(dag: Any, run: Any, task_id: str) -> dict[str, str | None]:
    """{name: URL} of the task's extra links, as ``GET .../taskInstances/{task}/links``."""
    from airflow.serialization.serialized_objects import DagSerialization

    task = DagSerialization.from_dict(DagSerialization.to_dict(dag)).get_task(task_id)
    ti = run.get_task_instance(task_id)
    return {name: task.get_extra_links(ti, name) for name in sorted(task.extra_links)}


def test_bigquery_links_name_the_job_the_folder_and_the_settings(
    fake_bigquery: Any, example_dag: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("AIRFLOW_VAR_WORKMAGIC_BIGQUERY_TABLE", "test-project.sales.orders")
    monkeypatch.setenv("AIRFLOW_VAR_WORKMAGIC_BIGQUERY_STAGING_URI", STAGING)
    monkeypatch.setenv(
        "AIRFLOW__WORKMAGIC__SETTINGS_URL", "https://wm.example/accounts/{account_id}/upload"
    )
    fake_bigquery.dataset_location = "EU"
    row = {"id": "1", "created_at": "2026-12-01 01:10:00 UTC",
           "updated_at": "2026-12-01 01:10:00 UTC", "total_price": "1"}  # fmt: skip
    fake_bigquery.export_shards = lambda uri: [gzip.compress(json.dumps(row).encode() + b"\n")]
    dag = example_dag("workmagic_bigquery_hourly")
    run = run_hour(dag, HOUR)
    summary = xcom_return(run, "export_hour")

    links = _links(dag, run, "export_hour")
    assert links == {
        "BigQuery export job": (
            "https://console.cloud.google.com/bigquery?project=test-project"
            f"&ws=!1m5!1m4!1m3!1stest-project!2s{summary['job_id']}!3sEU"
        ),
        "Hour folder": (
            f"https://console.cloud.google.com/storage/browser/workmagic-inbound-data/{FOLDER}"
        ),
        "WorkMagic settings": "https://wm.example/accounts/121226/upload",
    }


def test_snowflake_links_open_the_s3_hour_folder(
    fake_snowflake: Any, clean_sandbox: Any, example_dag: Any, monkeypatch: Any
) -> None:
    import snowflake.connector

    monkeypatch.setenv("AIRFLOW_VAR_WORKMAGIC_SNOWFLAKE_TABLE", "sales.public.orders")
    monkeypatch.setenv("AIRFLOW_VAR_WORKMAGIC_SNOWFLAKE_STAGE", "sales.public.workmagic")
    conn = snowflake.connector.connect(database="SALES", schema="PUBLIC")
    conn.cursor().execute(
        "CREATE OR REPLACE TABLE orders (id VARCHAR, created_at TIMESTAMP_TZ, "
        "updated_at TIMESTAMP_TZ, total_price NUMBER(10, 2))"
    )
    conn.close()
    dag = example_dag("workmagic_snowflake_hourly")
    run = run_hour(dag, HOUR)
    assert str(run.get_task_instance("unload_hour").state) == "success"

    links = _links(dag, run, "unload_hour")
    assert set(links) == {"Hour folder", "WorkMagic settings"}
    assert links["Hour folder"] == (
        "https://s3.console.aws.amazon.com/s3/buckets/workmagic-inbound-data"
        f"?region=us-east-1&prefix={FOLDER.replace('/', '%2F')}"
    )
    assert links["WorkMagic settings"] == (
        "https://app.workmagic.io/settings/data-sources?account=121226"
    )


@pytest.mark.parametrize(("setting", "expected"), [(None, False), ("True", True), ("False", False)])
def test_bigquery_deferrable_follows_the_airflow_default(
    monkeypatch: Any, setting: str | None, expected: bool
) -> None:
    from workmagic_provider.operators.bigquery import BigQueryExportToWorkMagicOperator

    if setting is None:
        monkeypatch.delenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE", raising=False)
    else:
        monkeypatch.setenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE", setting)
    made = BigQueryExportToWorkMagicOperator(task_id="t", table="p.d.t", staging_uri=STAGING)
    assert made.deferrable is expected
    given = BigQueryExportToWorkMagicOperator(
        task_id="t2", table="p.d.t", staging_uri=STAGING, deferrable=not expected
    )
    assert given.deferrable is (not expected)


def test_the_provider_registers_its_links() -> None:
    from airflow.providers_manager import ProvidersManager

    names = ProvidersManager().extra_links_class_names
    for link in ("HourFolderLink", "BigQueryJobLink", "WorkMagicSettingsLink"):
        assert f"workmagic_provider.links.{link}" in names
