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
import re
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import pytest

from workmagic_provider.exceptions import WorkMagicConfigError, WorkMagicValidationError
from workmagic_provider.operators.bigquery import BigQueryExportToWorkMagicOperator
from workmagic_provider.schemas import ValidationReport, validate_json_lines
from workmagic_provider.warehouse.checks import WindowCheckError

pytestmark = pytest.mark.integration

HOUR = datetime(2026, 3, 8, 2, tzinfo=timezone.utc)
FOLDER = "account-121226/order-geo-date-data/2026/03/08/02/"
PART_LIMIT = 64 * 1024


class _TaskInstance(SimpleNamespace):
    """What ``execute`` uses of a task instance: the try number, XCom pushes (the links)."""

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


def _context(hour: datetime = HOUR, try_number: int = 1) -> dict[str, Any]:
    return {
        "data_interval_start": hour,
        "data_interval_end": hour + timedelta(hours=1),
        "ti": _TaskInstance(try_number=try_number, pushed={}),
    }


STAGING = "gs://customer-staging/workmagic/"


def _rows(count: int, seed: int, first: int = 0) -> list[dict[str, Any]]:
    """Rows as BigQuery's JSON export writes them: INT64 as strings, its own timestamp text."""
    rng = random.Random(seed)
    return [
        {
            "id": str(n),
            "created_at": "2026-03-08 01:30:00 UTC",
            "updated_at": f"2026-03-08 02:10:{n % 60:02d}.123456 UTC",
            "total_price": str(10 + n),
            "note": "".join(rng.choice("abcdef0123456789") for _ in range(120)),
        }
        for n in range(first, first + count)
    ]


def _gz(rows: list[dict[str, Any]]) -> bytes:
    text = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in rows)
    return gzip.compress(text.encode(), mtime=0)


def _operator(**kwargs: Any) -> BigQueryExportToWorkMagicOperator:
    kwargs.setdefault("table", "test-project.sales.orders")
    kwargs.setdefault("staging_uri", STAGING)
    kwargs.setdefault("max_part_bytes", PART_LIMIT)
    return BigQueryExportToWorkMagicOperator(task_id="export", **kwargs)


def _names(fake: Any, bucket_name: str | None = None, prefix: str = FOLDER) -> dict[str, bytes]:
    bucket = fake.gcs_bucket()
    name = bucket_name or bucket.name
    return {
        b.name[len(prefix) :]: b.download_as_bytes()
        for b in bucket.client.list_blobs(name, prefix=prefix)
    }


def _parts(names: Any, hour: str = "2026-03-08-02") -> list[str]:
    """This flow's parts (of one generation, "N of M" in the name), sorted."""
    pattern = re.compile(
        rf"^{hour}-bigquery-\d{{8}}T\d{{12}}[0-9a-f]{{4}}-\d{{4}}of\d{{4}}\.json\.gz$"
    )
    return sorted(n for n in names if pattern.match(n))


def _lines(landed: dict[str, bytes]) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for name in sorted(landed)
        for line in gzip.decompress(landed[name]).splitlines()
    ]


SELECT = (
    "SELECT * FROM `test-project`.`sales`.`orders` "
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


def test_bigquery_text_lands_as_valid_size_capped_parts(fake_bigquery: Any) -> None:
    small, big = _rows(20, 1), _rows(2500, 2, first=20)  # each id once in the export
    fake_bigquery.check_rows = 2520
    fake_bigquery.export_shards = lambda uri: [_gz(small), _gz(big)]
    bucket = fake_bigquery.gcs_bucket()
    stale = "2026-03-08-02-bigquery-0007.json.gz"
    bucket.blob(FOLDER + stale).upload_from_string(b"x")
    bucket.blob(FOLDER + "their-own-file.json.gz").upload_from_string(b"keep")
    assert len(_gz(big)) > PART_LIMIT

    summary = _operator().execute(_context())

    check, export = fake_bigquery.inserts
    query = check["configuration"]["query"]["query"]
    assert query.startswith("SELECT COUNT(*) AS workmagic_rows, COUNTIF(`id` IS NULL) AS c0")
    assert query.endswith(f"FROM ({SELECT}) AS workmagic_checked")
    assert "SAFE_CAST(`updated_at` AS TIMESTAMP) < @window_start" in query
    assert check["configuration"]["query"]["queryParameters"] == EXPECTED_PARAMS
    job_id = export["jobReference"]["jobId"]
    assert job_id.startswith("airflow_") and "_2026-03-08-02_" in job_id and job_id.endswith("_0")
    assert export["configuration"]["query"]["query"] == (
        "EXPORT DATA OPTIONS (uri = 'gs://customer-staging/workmagic/2026-03-08-02/"
        f"{job_id}/bigquery-*.json.gz', format = 'JSON', compression = 'GZIP', "
        f"overwrite = true) AS {SELECT}"
    )
    assert export["configuration"]["query"]["queryParameters"] == EXPECTED_PARAMS
    # no location given: the dataset's, read once, for every job
    assert fake_bigquery.dataset_gets == ["sales"]
    assert {j["jobReference"]["location"] for j in fake_bigquery.inserts} == {"EU"}

    landed = _names(fake_bigquery)
    parts = _parts(landed)
    assert len(parts) >= 2 and all(len(landed[p]) < PART_LIMIT for p in parts)
    assert set(landed) == {*parts, "their-own-file.json.gz"}  # the stale part is gone
    rows = _lines({p: landed[p] for p in parts})
    assert len(rows) == 2520 and [r["id"] for r in rows] == [r["id"] for r in small + big]
    assert rows[0]["total_price"] == 10.0  # a JSON number, not BigQuery's INT64 string
    assert rows[0]["created_at"] == "2026-03-08T01:30:00Z"
    assert rows[1]["updated_at"] == "2026-03-08T02:10:01.123456Z"
    report = ValidationReport("custom-site")
    text = b"".join(gzip.decompress(landed[p]) for p in parts)
    valid = list(validate_json_lines(enumerate(text.splitlines(), 1), "custom-site", report=report))
    assert report.ok and len(valid) == 2520
    staged = _names(fake_bigquery, "customer-staging", "workmagic/")
    assert sorted(staged) == [
        f"2026-03-08-02/{job_id}/bigquery-00000000000{n}.json.gz" for n in (0, 1)
    ]
    assert summary["rows_exported"] == summary["rows_written"] == 2520
    assert summary["rows_checked"] == 2520
    assert summary["removed_stale"] == [stale] and summary["stale_not_removed"] == []
    assert summary["staged_files"] == 2
    assert summary["bytes_through_worker"] == len(_gz(small)) + len(_gz(big)) + summary["bytes"]
    assert summary["bytes_billed"] == {"checks": 10 * 1024**2, "export": 10 * 1024**2}
    assert summary["job_id"] == job_id and summary["location"] == "EU"
    assert summary["reattached"] is False


def test_retry_reattaches_to_the_running_job(fake_bigquery: Any) -> None:
    fake_bigquery.initial_state = "RUNNING"
    fake_bigquery.export_shards = lambda uri: [_gz(_rows(3, 3))]
    first = _operator(location="EU").execute(_context(try_number=1))
    # the worker died after submitting; the retry (try 2) finds the job still running
    fake_bigquery.jobs[first["job_id"]]["status"]["state"] = "RUNNING"
    second = _operator(location="EU").execute(_context(try_number=2))

    assert second["job_id"] == first["job_id"] and second["reattached"] is True
    assert len(fake_bigquery.export_inserts()) == 1  # one job, never a duplicate export
    assert fake_bigquery.dataset_gets == []  # location given
    assert _parts(second["files"]) == second["files"] and len(second["files"]) == 1
    assert second["rows_written"] == 3


def test_a_cleared_task_after_success_exports_again(fake_bigquery: Any) -> None:
    exports = iter([[_gz(_rows(3, 4))], [_gz(_rows(5, 5))]])
    fake_bigquery.export_shards = lambda uri: next(exports)
    first = _operator(location="EU").execute(_context())
    second = _operator(location="EU").execute(_context())  # cleared: a new try, same hour

    ids = [e["jobReference"]["jobId"] for e in fake_bigquery.export_inserts()]
    assert len(ids) == 2 and ids[0].endswith("_0") and ids[1] == ids[0][:-2] + "_1"
    assert first["job_id"] == ids[0] and second["job_id"] == ids[1]
    assert second["reattached"] is False
    landed = _names(fake_bigquery)
    assert list(landed) == second["files"] and _parts(landed) == second["files"]
    assert [r["id"] for r in _lines(landed)] == ["0", "1", "2", "3", "4"]  # the latest export
    staged = _names(fake_bigquery, "customer-staging", "workmagic/")
    assert list(staged) == [f"2026-03-08-02/{ids[1]}/bigquery-000000000000.json.gz"]


def test_other_hour_other_job_and_deferral(fake_bigquery: Any) -> None:
    from airflow.providers.google.cloud.triggers.bigquery import BigQueryInsertJobTrigger
    from airflow.sdk.exceptions import TaskDeferred

    fake_bigquery.initial_state = "RUNNING"
    fake_bigquery.export_shards = lambda uri: [_gz(_rows(2, 4))]
    op = _operator(location="EU", deferrable=True)
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
    assert _parts(summary["files"], "2026-03-09-00") == summary["files"] != []
    assert summary["window"] == ["2026-03-08T23:00:00+00:00", "2026-03-09T01:00:00+00:00"]


def test_whole_window_check_stops_before_the_export(fake_bigquery: Any) -> None:
    fake_bigquery.check_rows = 1000
    fake_bigquery.check_counts = {"c4": 1}  # c4: COUNTIF(`total_price` IS NULL)
    with pytest.raises(WindowCheckError) as caught:
        _operator().execute(_context())
    assert "1 row(s) with NULL in required field 'total_price'" in str(caught.value)
    assert "over 1000 row(s)" in str(caught.value)
    assert fake_bigquery.export_inserts() == []
    assert _names(fake_bigquery) == {}


def test_invalid_exported_rows_publish_nothing(fake_bigquery: Any) -> None:
    rows = _rows(10, 6)
    rows[4]["created_at"] = "2026-03-08 01:30:00"  # a DATETIME: no zone
    fake_bigquery.export_shards = lambda uri: [_gz(rows)]
    with pytest.raises(WorkMagicValidationError) as caught:
        _operator(location="EU").execute(_context())
    assert "created_at" in str(caught.value)
    assert _names(fake_bigquery) == {}


def test_without_delete_rights_the_new_parts_count(
    fake_bigquery: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from google.api_core.exceptions import Forbidden

    from workmagic_provider.stores import GCSStore

    fake_bigquery.export_shards = lambda uri: [_gz(_rows(3, 7))]
    stale = "2026-03-08-02-bigquery-0003.json.gz"
    fake_bigquery.gcs_bucket().blob(FOLDER + stale).upload_from_string(b"x")
    real_delete = GCSStore.delete

    def delete(self: GCSStore, keys: list[str]) -> None:  # WorkMagic's role: put and list only
        if self.bucket == "workmagic-inbound-data":
            raise Forbidden("storage.objects.delete denied")
        real_delete(self, keys)

    monkeypatch.setattr(GCSStore, "delete", delete)
    summary = _operator(location="EU").execute(_context())
    assert len(_parts(summary["files"])) == 1
    assert summary["removed_stale"] == [] and summary["stale_not_removed"] == [stale]
    assert set(_names(fake_bigquery)) == {stale, *summary["files"]}


def test_templated_sql_uses_query_parameters(fake_bigquery: Any) -> None:
    op = _operator(
        table=None,
        location="EU",
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
        {"staging_uri": "s3://not-gcs/x/"},
        {"staging_uri": "gs://b/../other/"},
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
