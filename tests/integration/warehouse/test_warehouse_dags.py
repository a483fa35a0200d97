"""Both warehouse example DAGs, three consecutive hours each (across midnight), run by Airflow.

Each run's window and hour folder come from its data interval: three runs, three distinct
windows ``[start - 1 h, end)``, three distinct hour folders.
"""

from __future__ import annotations

import gzip
import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from dag_helpers import run_hour, xcom_return

from workmagic_provider.generations import GENERATION_PATTERN

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:Arrow output:UserWarning"),  # fakesnow internals
]

# after the example DAGs' start date (2026-12-01): earlier runs would have no tasks to run
HOURS = [datetime(2026, 12, 1, h, tzinfo=timezone.utc) for h in (0, 1, 2)]
PREFIX = "account-121226/order-geo-date-data/"
STAGING = "gs://customer-staging/workmagic/"


def _task_ok(run: Any, task_id: str) -> bool:
    """The warehouse task of ``run`` succeeded (whatever the DAG's other tasks did)."""
    return str(run.get_task_instance(task_id).state) == "success"


def _window(hour: datetime) -> list[str]:
    return [(hour - timedelta(hours=1)).isoformat(), (hour + timedelta(hours=1)).isoformat()]


def test_snowflake_dag_three_hours(
    fake_snowflake: Any, clean_sandbox: Any, example_dag: Any, monkeypatch: Any
) -> None:
    import snowflake.connector

    monkeypatch.setenv("AIRFLOW_VAR_WORKMAGIC_SNOWFLAKE_TABLE", "sales.public.orders")
    monkeypatch.setenv("AIRFLOW_VAR_WORKMAGIC_SNOWFLAKE_STAGE", "sales.public.workmagic")
    monkeypatch.setenv("AIRFLOW_VAR_WORKMAGIC_SNOWFLAKE_UPDATED_AT_COLUMN", '"changed"')
    conn = snowflake.connector.connect(database="SALES", schema="PUBLIC")
    cur = conn.cursor()
    cur.execute(
        'CREATE OR REPLACE TABLE orders ("id" VARCHAR, "created_at" VARCHAR, '
        '"updated_at" VARCHAR, "total_price" NUMBER(10, 2), "changed" TIMESTAMP_TZ)'
    )
    for n, hour in enumerate(HOURS):  # one order updated in each hour
        stamp = (hour + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
        cur.execute(f"INSERT INTO orders VALUES ('{n}', '{stamp}', '{stamp}', 12.5, '{stamp}')")
    conn.close()
    fake_snowflake.statements.clear()

    dag = example_dag("workmagic_snowflake_hourly")
    summaries = []
    for hour in HOURS:
        run = run_hour(dag, hour)
        assert _task_ok(run, "unload_hour")
        summaries.append(xcom_return(run, "unload_hour"))

    assert [s["window"] for s in summaries] == [_window(h) for h in HOURS]
    folders = [s["destination"] for s in summaries]
    assert folders == [f"s3://workmagic-inbound-data/{PREFIX}{h:%Y/%m/%d/%H}/" for h in HOURS]
    # the 1-hour lookback: each window holds its own hour's order and the previous hour's
    assert [s["rows_unloaded"] for s in summaries] == [1, 2, 2]
    unloads = fake_snowflake.unloads()
    assert len(unloads) == 3 and len(set(unloads)) == 3
    keys = clean_sandbox.aws.list_keys(PREFIX)
    assert keys == [
        f"{PREFIX}{h:%Y/%m/%d/%H}/{h:%Y-%m-%d-%H}-snowflake-{s['generation']}-0000_0_0_0.json.gz"
        for h, s in zip(HOURS, summaries, strict=True)
    ]


def test_bigquery_dag_three_hours(fake_bigquery: Any, example_dag: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("AIRFLOW_VAR_WORKMAGIC_BIGQUERY_TABLE", "test-project.sales.orders")
    monkeypatch.setenv("AIRFLOW_VAR_WORKMAGIC_BIGQUERY_STAGING_URI", STAGING)
    fake_bigquery.dataset_location = "EU"  # no location Variable: the dataset's

    def shards(uri: str) -> list[bytes]:
        row = {"id": uri[-40:-22], "created_at": "2026-03-08 22:00:00 UTC",
               "updated_at": "2026-03-08 22:00:00 UTC", "total_price": "1"}  # fmt: skip
        return [gzip.compress((json.dumps(row) + "\n").encode(), mtime=0)]

    fake_bigquery.export_shards = shards
    dag = example_dag("workmagic_bigquery_hourly")
    summaries = []
    for hour in HOURS:
        run = run_hour(dag, hour)
        assert _task_ok(run, "export_hour")
        summaries.append(xcom_return(run, "export_hour"))

    assert [s["window"] for s in summaries] == [_window(h) for h in HOURS]
    assert [s["destination"] for s in summaries] == [
        f"gs://workmagic-inbound-data/{PREFIX}{h:%Y/%m/%d/%H}/" for h in HOURS
    ]
    exports = fake_bigquery.export_inserts()
    assert len(exports) == 3 and len({e["jobReference"]["jobId"] for e in exports}) == 3
    assert {e["jobReference"]["location"] for e in exports} == {"EU"}
    starts = [e["configuration"]["query"]["queryParameters"][0]["parameterValue"]["value"]
              for e in exports]  # fmt: skip
    assert starts == [f"{h - timedelta(hours=1):%Y-%m-%d %H}:00:00.000000+00:00" for h in HOURS]
    bucket = fake_bigquery.gcs_bucket()
    names = sorted(b.name for b in bucket.client.list_blobs(bucket.name, prefix=PREFIX))
    assert names == [
        f"{PREFIX}{h:%Y/%m/%d/%H}/{h:%Y-%m-%d-%H}-bigquery-{s['generation']}-0001of0001.json.gz"
        for h, s in zip(HOURS, summaries, strict=True)
    ]


def test_render_sql_mode_submits_nothing_and_matches_a_real_run(
    fake_snowflake: Any, fake_bigquery: Any, clean_sandbox: Any, example_dag: Any, monkeypatch: Any
) -> None:
    """``render_sql`` logs the statements of the hour and returns them; the warehouse sees none.

    The rendered unload and export are the very statements a real run of the same hour submits.
    """
    import sqlglot

    monkeypatch.setenv("AIRFLOW_VAR_WORKMAGIC_SNOWFLAKE_TABLE", "sales.public.orders")
    monkeypatch.setenv("AIRFLOW_VAR_WORKMAGIC_SNOWFLAKE_STAGE", "sales.public.workmagic")
    monkeypatch.setenv("AIRFLOW_VAR_WORKMAGIC_BIGQUERY_TABLE", "test-project.sales.orders")
    monkeypatch.setenv("AIRFLOW_VAR_WORKMAGIC_BIGQUERY_STAGING_URI", STAGING)
    hour = HOURS[0]
    folder = f"{PREFIX}{hour:%Y/%m/%d/%H}/"
    rendered = {}
    for dag_id, task_id in (
        ("workmagic_snowflake_hourly", "unload_hour"),
        ("workmagic_bigquery_hourly", "export_hour"),
    ):
        run = run_hour(example_dag(dag_id), hour, run_conf={"render_sql": True})
        assert _task_ok(run, task_id)
        rendered[dag_id] = xcom_return(run, task_id)
        assert rendered[dag_id]["mode"] == "render_only"
        assert rendered[dag_id]["window"] == _window(hour)
        assert rendered[dag_id]["destination"].endswith(f"workmagic-inbound-data/{folder}")
    assert fake_snowflake.statements == []
    assert fake_bigquery.jobs == {}
    assert clean_sandbox.aws.list_keys(PREFIX) == []

    snow = {s["step"]: s["sql"] for s in rendered["workmagic_snowflake_hourly"]["statements"]}
    assert list(snow)[:5] == ["session", "columns", "checks", "sample", "unload"]
    assert f"'s3://workmagic-inbound-data/{folder}" in snow["unload"]
    assert "'2026-11-30 23:00:00.000000 +00:00'" in snow["unload"]  # window start - 1 h
    for sql in snow.values():
        sqlglot.parse_one(sql, dialect="snowflake")
    bq = rendered["workmagic_bigquery_hourly"]["statements"]
    assert [s["step"] for s in bq] == ["checks", "export"]
    assert bq[1]["project"] == "test-project"
    assert bq[1]["query_parameters"][0]["name"] == "window_start"
    sqlglot.parse_one(bq[1]["sql"], dialect="bigquery")

    # a real run of the same hour submits exactly the rendered unload and export
    import snowflake.connector

    conn = snowflake.connector.connect(database="SALES", schema="PUBLIC")
    conn.cursor().execute(
        "CREATE OR REPLACE TABLE orders (id VARCHAR, created_at TIMESTAMP_TZ, "
        "updated_at TIMESTAMP_TZ, total_price NUMBER(10, 2))"
    )
    conn.close()
    run = run_hour(example_dag("workmagic_snowflake_hourly"), hour)
    assert _task_ok(run, "unload_hour")
    same_but_generation = re.compile(GENERATION_PATTERN)
    assert [same_but_generation.sub("G", u) for u in fake_snowflake.unloads()] == [
        same_but_generation.sub("G", snow["unload"])
    ]
    fake_bigquery.export_shards = lambda uri: []
    run = run_hour(example_dag("workmagic_bigquery_hourly"), hour)
    assert _task_ok(run, "export_hour")
    (export,) = fake_bigquery.export_inserts()
    assert export["configuration"]["query"]["query"] == bq[1]["sql"]
    assert export["jobReference"]["jobId"] == bq[1]["job_id"]
