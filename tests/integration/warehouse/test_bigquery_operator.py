"""BigQueryExportToWorkMagicOperator through the real BigQueryHook and google-cloud-bigquery.

The client talks HTTP to a loopback stand-in of the BigQuery REST API (see conftest) that
records ``jobs.insert``, refuses a repeated job id with 409 like BigQuery, and "runs" an
``EXPORT DATA`` by writing shards into the sandbox's GCS emulator. The re-split and the pruning
run for real against that emulator through ``GCSHook``/``GCSStore``.
"""

from __future__ import annotations

import gzip
import json
import random
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import pytest

from workmagic_provider.exceptions import WorkMagicConfigError, WorkMagicValidationError
from workmagic_provider.operators.bigquery import (
    BigQueryExportToWorkMagicOperator,
    export_job_id,
)

pytestmark = pytest.mark.integration

HOUR = datetime(2026, 3, 8, 2, tzinfo=timezone.utc)
FOLDER = "account-121226/order-geo-date-data/2026/03/08/02/"
PART_LIMIT = 64 * 1024


def _context(hour: datetime = HOUR, try_number: int = 1) -> dict[str, Any]:
    return {
        "data_interval_start": hour,
        "data_interval_end": hour + timedelta(hours=1),
        "ti": SimpleNamespace(try_number=try_number),
    }


def _rows(count: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [
        {
            "id": str(n),  # BigQuery's JSON export writes INT64 as a string
            "created_at": "2026-03-08T01:30:00Z",
            "updated_at": "2026-03-08T02:10:00Z",
            "total_price": 10.5,
            "note": "".join(rng.choice("abcdef0123456789") for _ in range(120)),
        }
        for n in range(count)
    ]


def _gz(rows: list[dict[str, Any]]) -> bytes:
    text = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in rows)
    return gzip.compress(text.encode(), mtime=0)


SAMPLE = [
    {
        "id": 1,
        "created_at": datetime(2026, 3, 8, 1, 30, tzinfo=timezone.utc),
        "updated_at": datetime(2026, 3, 8, 2, 10, tzinfo=timezone.utc),
        "total_price": 10.5,
    }
]


def _operator(**kwargs: Any) -> BigQueryExportToWorkMagicOperator:
    kwargs.setdefault("table", "test-project.sales.orders")
    kwargs.setdefault("location", "EU")
    kwargs.setdefault("max_part_bytes", PART_LIMIT)
    return BigQueryExportToWorkMagicOperator(task_id="export", **kwargs)


def _names(fake: Any) -> dict[str, bytes]:
    bucket = fake.gcs_bucket()
    return {
        b.name[len(FOLDER) :]: b.download_as_bytes()
        for b in bucket.client.list_blobs(bucket.name, prefix=FOLDER)
    }


EXPECTED_EXPORT = (
    "EXPORT DATA OPTIONS (uri = 'gs://workmagic-inbound-data/account-121226/order-geo-date-data/"
    "2026/03/08/02/2026-03-08-02-bigquery-*.json.gz', format = 'JSON', compression = 'GZIP', "
    "overwrite = true) AS SELECT * FROM `test-project`.`sales`.`orders` "
    "WHERE `updated_at` >= @window_start AND `updated_at` < @window_end"
)
EXPECTED_PARAMS = [
    {
        "name": "window_start",
        "parameterType": {"type": "TIMESTAMP"},
        "parameterValue": {"value": "2026-03-08 01:00:00.000000+00:00"},
    },
    {
        "name": "window_end",
        "parameterType": {"type": "TIMESTAMP"},
        "parameterValue": {"value": "2026-03-08 03:00:00.000000+00:00"},
    },
]


def test_export_job_resplit_and_stale_files(fake_bigquery: Any) -> None:
    small, big = _rows(20, 1), _rows(2500, 2)
    fake_bigquery.sample_rows = SAMPLE
    fake_bigquery.export_shards = lambda uri: [_gz(small), _gz(big)]
    bucket = fake_bigquery.gcs_bucket()
    bucket.blob(FOLDER + "2026-03-08-02-bigquery-000000000007.json.gz").upload_from_string(b"x")
    bucket.blob(
        FOLDER + "2026-03-08-02-bigquery-000000000001-part-0009.json.gz"
    ).upload_from_string(b"x")
    bucket.blob(FOLDER + "their-own-file.json.gz").upload_from_string(b"keep")
    assert len(_gz(big)) > PART_LIMIT

    summary = _operator().execute(_context())

    sample, export = fake_bigquery.inserts
    assert sample["configuration"]["query"]["query"] == (
        "SELECT * FROM (SELECT * FROM `test-project`.`sales`.`orders` WHERE `updated_at` >= "
        "@window_start AND `updated_at` < @window_end) LIMIT 100"
    )
    query = export["configuration"]["query"]
    assert query["query"] == EXPECTED_EXPORT
    assert query["queryParameters"] == EXPECTED_PARAMS
    assert query["parameterMode"] == "NAMED" and query["useLegacySql"] is False
    assert export["jobReference"]["location"] == "EU"
    assert export["jobReference"]["projectId"] == "test-project"
    job_id = export["jobReference"]["jobId"]
    assert job_id == export_job_id(
        _operator().dag_id,
        "export",
        HOUR,
        {"configuration": export["configuration"], "location": "EU", "project": "test-project"},
    )
    assert job_id.startswith("airflow_") and "_2026-03-08-02_" in job_id

    landed = _names(fake_bigquery)
    parts = sorted(n for n in landed if n.startswith("2026-03-08-02-bigquery-000000000001-part-"))
    assert len(parts) >= 2 and all(len(landed[p]) < PART_LIMIT for p in parts)
    assert set(landed) == {"2026-03-08-02-bigquery-000000000000.json.gz", *parts,
                           "their-own-file.json.gz"}  # fmt: skip
    lines = [json.loads(x) for p in parts for x in gzip.decompress(landed[p]).splitlines()]
    assert lines == big  # every row, in order, unchanged
    assert summary["rows_exported"] == 2520 and summary["sample_rows_validated"] == 1
    assert summary["removed_stale"] == [
        "2026-03-08-02-bigquery-000000000001-part-0009.json.gz",
        "2026-03-08-02-bigquery-000000000007.json.gz",
    ]
    assert summary["resplit"][0]["source"] == "2026-03-08-02-bigquery-000000000001.json.gz"
    assert summary["job_id"] == job_id and summary["location"] == "EU"
    assert summary["reattached"] is False


def test_retry_reattaches_to_the_running_job(fake_bigquery: Any) -> None:
    fake_bigquery.initial_state = "RUNNING"
    fake_bigquery.export_shards = lambda uri: [_gz(_rows(3, 3))]
    op = _operator(validate_sample=0)
    first = op.execute(_context(try_number=1))
    # the worker died after submitting; the retry (try 2) computes the same id and reattaches
    fake_bigquery.jobs[first["job_id"]]["status"]["state"] = "RUNNING"
    second = _operator(validate_sample=0).execute(_context(try_number=2))

    assert second["job_id"] == first["job_id"] and second["reattached"] is True
    assert len(fake_bigquery.export_inserts()) == 1  # one job, never a duplicate export
    assert fake_bigquery.conflicts == [first["job_id"]]
    assert second["files"] == ["2026-03-08-02-bigquery-000000000000.json.gz"]


def test_other_hour_other_job_and_deferral(fake_bigquery: Any) -> None:
    from airflow.providers.google.cloud.triggers.bigquery import BigQueryInsertJobTrigger
    from airflow.sdk.exceptions import TaskDeferred

    fake_bigquery.initial_state = "RUNNING"
    fake_bigquery.export_shards = lambda uri: [_gz(_rows(2, 4))]
    op = _operator(validate_sample=0, deferrable=True)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(_context(HOUR + timedelta(hours=22)))  # 2026-03-09 00:00, across midnight
    trigger = deferred.value.trigger
    assert isinstance(trigger, BigQueryInsertJobTrigger)
    assert trigger.location == "EU" and trigger.project_id == "test-project"
    assert "_2026-03-09-00_" in trigger.job_id
    fake_bigquery.jobs[trigger.job_id]["status"]["state"] = "DONE"
    summary = op.execute_complete(
        _context(HOUR + timedelta(hours=22)),
        {"status": "success", "job_id": trigger.job_id, "message": "done"},
        **deferred.value.kwargs,
    )
    assert summary["destination"].endswith("/2026/03/09/00/")
    assert summary["files"] == ["2026-03-09-00-bigquery-000000000000.json.gz"]
    assert summary["window"] == ["2026-03-08T23:00:00+00:00", "2026-03-09T01:00:00+00:00"]


def test_failing_sample_stops_before_the_export(fake_bigquery: Any) -> None:
    fake_bigquery.sample_rows = [{**SAMPLE[0], "id": None, "created_at": "yesterday"}]
    with pytest.raises(WorkMagicValidationError):
        _operator().execute(_context())
    assert fake_bigquery.export_inserts() == []


def test_templated_sql_uses_query_parameters(fake_bigquery: Any) -> None:
    fake_bigquery.sample_rows = SAMPLE
    op = _operator(
        table=None,
        sql=(
            "SELECT * FROM `p.d.t` WHERE ts >= {{ workmagic_window_start }}"
            " AND ts < {{ workmagic_window_end }}"
        ),
        lookback=timedelta(hours=3),
    )
    context = _context()
    op.render_template_fields(context)
    op.execute(context)
    query = fake_bigquery.export_inserts()[0]["configuration"]["query"]
    assert query["query"].endswith(
        "AS SELECT * FROM `p.d.t` WHERE ts >= @window_start AND ts < @window_end"
    )
    assert (
        query["queryParameters"][0]["parameterValue"]["value"] == "2026-03-07 23:00:00.000000+00:00"
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"table": "sales.orders`; DROP TABLE x; --"},
        {"updated_at_column": "updated_at OR TRUE"},
        {"data_category": "a/b"},
        {
            "table": None,
            "sql": "SELECT * FROM t WHERE ts > TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 2 HOUR)",
        },
    ],
)
def test_injection_is_refused_before_any_job(fake_bigquery: Any, kwargs: dict[str, Any]) -> None:
    with pytest.raises(WorkMagicConfigError):
        _operator(**kwargs).execute(_context())
    assert fake_bigquery.inserts == []
