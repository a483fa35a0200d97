"""The GCS sync and S3 upload example DAGs, three consecutive hours each, run by Airflow."""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from dag_helpers import only_part, run_hour, xcom_return

from workmagic_sandbox.sample_data import custom_site_orders

pytestmark = pytest.mark.integration

HOURS = [datetime(2026, 3, 8, h, tzinfo=timezone.utc) for h in (22, 23)] + [
    datetime(2026, 3, 9, 0, tzinfo=timezone.utc)  # across a day boundary
]
PREFIX = "account-121226/order-geo-date-data/"


def _lines(hour: datetime, count: int) -> bytes:
    rows = custom_site_orders(count, hour=hour, seed=hour.hour)
    return "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in rows).encode()


def test_gcs_sync_dag_three_hours(
    customer: Any, sandbox: Any, example_dag: Any, airflow_connections: Any, monkeypatch: Any
) -> None:
    airflow_connections(cloud="gcs")
    monkeypatch.setenv("AIRFLOW_VAR_WORKMAGIC_SOURCE_BUCKET", customer.bucket)
    bucket = customer.gcs_bucket()
    expected = {}
    for hour in HOURS:
        for n in range(2):
            data = gzip.compress(_lines(hour, 4 + n), mtime=0)
            bucket.blob(f"{hour:%Y/%m/%d/%H}/part-{n}.json.gz").upload_from_string(data)
            expected[f"{PREFIX}{hour:%Y/%m/%d/%H}/part-{n}.json.gz"] = data
    bucket.blob("2026/03/08/21/not-in-range.json.gz").upload_from_string(b"x")

    dag = example_dag("workmagic_gcs_sync_hourly")
    for hour in HOURS:
        run = run_hour(dag, hour)
        assert run.state == "success"
        assert xcom_return(run, "sync_hour")["copied"] == 2

    inbound = customer.gcs_bucket().client.bucket(sandbox.bucket)
    landed = {b.name: b.download_as_bytes() for b in inbound.list_blobs(prefix=PREFIX)}
    assert landed == expected
    rerun = run_hour(dag, HOURS[0])
    assert xcom_return(rerun, "sync_hour")["bytes_written"] == 0


def test_s3_upload_dag_three_hours(
    clean_sandbox: Any,
    airflow_connections: Any,
    example_dag: Any,
    tmp_path: Path,
    monkeypatch: Any,
) -> None:
    monkeypatch.setenv("AIRFLOW_VAR_WORKMAGIC_EXPORT_ROOT", str(tmp_path))
    for n, hour in enumerate(HOURS):
        path = tmp_path / f"{hour:%Y/%m/%d/%H}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_lines(hour, 50 + n))

    dag = example_dag("workmagic_s3_upload_hourly")
    for n, hour in enumerate(HOURS):
        run = run_hour(dag, hour)
        assert run.state == "success"
        summary = xcom_return(run, "upload_hour")
        assert summary["rows_written"] == 50 + n and summary["rejected"] == 0

    client = clean_sandbox.aws.admin_client()
    for n, hour in enumerate(HOURS):
        keys = clean_sandbox.aws.list_keys(f"{PREFIX}{hour:%Y/%m/%d/%H}/")
        only_part(keys, f"{hour:%Y-%m-%d-%H}", "upload")
        body = client.get_object(Bucket=clean_sandbox.bucket, Key=keys[0])["Body"].read()
        ids = [json.loads(line)["id"] for line in gzip.decompress(body).splitlines()]
        assert ids == [o["id"] for o in custom_site_orders(50 + n, hour=hour, seed=hour.hour)]
    assert all(w.account_id == "121226" for w in clean_sandbox.writes)


def test_upload_with_invalid_rows_publishes_nothing_and_names_the_row(
    clean_sandbox: Any, airflow_connections: Any, tmp_path: Path
) -> None:
    from workmagic_provider.exceptions import WorkMagicValidationError
    from workmagic_provider.operators.s3 import S3UploadToWorkMagicOperator

    hour = HOURS[0]
    rows = _lines(hour, 5).splitlines()
    rows[2] = rows[2].replace(b'"created_at":"', b'"created_at":"x')
    source = tmp_path / "orders.jsonl"
    source.write_bytes(b"\n".join(rows) + b"\n")
    operator = S3UploadToWorkMagicOperator(task_id="upload", source=str(source))
    with pytest.raises(WorkMagicValidationError, match="row 3, field 'created_at'"):
        operator.execute({"data_interval_start": hour})  # type: ignore[arg-type]
    assert clean_sandbox.aws.list_keys(PREFIX) == []

    rejected = tmp_path / "rejected" / "orders.jsonl"
    rejected.parent.mkdir()
    operator = S3UploadToWorkMagicOperator(
        task_id="upload",
        source=str(source),
        on_invalid="skip",
        rejected_path=str(rejected),
        single_machine=True,
    )
    summary = operator.execute({"data_interval_start": hour})  # type: ignore[arg-type]
    assert summary["rows_written"] == 4 and summary["rejected"] == 1
    assert rejected.read_bytes() == rows[2] + b"\n"
    assert len(clean_sandbox.aws.list_keys(PREFIX)) == 1


def test_gcs_upload_of_rows_from_xcom_lands_in_the_emulator(
    clean_sandbox: Any, airflow_connections: Any
) -> None:
    from decimal import Decimal

    from workmagic_provider.operators.gcs import GCSUploadToWorkMagicOperator

    airflow_connections(cloud="gcs")
    hour = HOURS[1]
    rows: list[Any] = list(custom_site_orders(30, hour=hour))
    rows[0]["total_price"] = Decimal("19.90")  # what a database cursor hands over
    rows.append(["not", "a", "mapping"])
    operator = GCSUploadToWorkMagicOperator(task_id="upload", rows=rows, on_invalid="skip")
    summary = operator.execute({"data_interval_start": hour})  # type: ignore[arg-type]
    assert summary["rows_written"] == 30 and summary["rejected"] == 1
    assert summary["destination"].startswith("gs://workmagic-inbound-data/account-121226/")
    names = clean_sandbox.gcs.list_names(f"{PREFIX}{hour:%Y/%m/%d/%H}/")
    name = only_part(names, f"{hour:%Y-%m-%d-%H}", "upload")
    assert name.startswith(f"{PREFIX}{hour:%Y/%m/%d/%H}/")


@pytest.mark.parametrize("cloud", ["s3", "gs"])
def test_upload_reads_an_export_from_the_customers_bucket(
    clean_sandbox: Any, airflow_connections: Any, customer: Any, cloud: str
) -> None:
    """``source="s3://conn@bucket/..."`` / ``gs://`` is read through the hooks (no s3fs)."""
    from workmagic_provider.operators.s3 import S3UploadToWorkMagicOperator

    hour = HOURS[0]
    key = f"exports/{hour:%Y/%m/%d/%H}.jsonl"
    body = _lines(hour, 7)
    if cloud == "s3":
        customer.s3_client().put_object(Bucket=customer.bucket, Key=key, Body=body)
        source = f"s3://customer_source_aws@{customer.bucket}/{key}"
    else:
        customer.gcs_bucket().blob(key).upload_from_string(body)
        source = f"gs://wm_sandbox_gcp@{customer.bucket}/{key}"
    operator = S3UploadToWorkMagicOperator(task_id="upload", source=source)
    summary = operator.execute({"data_interval_start": hour})  # type: ignore[arg-type]
    assert summary["rows_written"] == 7 and summary["rejected"] == 0
    (key_written,) = clean_sandbox.aws.list_keys(PREFIX)
    data = clean_sandbox.aws.admin_client().get_object(Bucket=clean_sandbox.bucket, Key=key_written)
    lines = gzip.decompress(data["Body"].read()).splitlines()
    assert [json.loads(line)["id"] for line in lines] == [
        json.loads(line)["id"] for line in body.splitlines()
    ]


def test_every_row_rejected_fails_the_task_and_publishes_nothing(
    clean_sandbox: Any, airflow_connections: Any
) -> None:
    from workmagic_provider.exceptions import WorkMagicRejectedError
    from workmagic_provider.operators.gcs import GCSUploadToWorkMagicOperator

    airflow_connections(cloud="gcs")
    hour = HOURS[0]
    rows = [{"id": f"o{n}", "total_price": "twelve"} for n in range(3)]
    operator = GCSUploadToWorkMagicOperator(task_id="upload", rows=rows, on_invalid="skip")
    with pytest.raises(WorkMagicRejectedError, match=r"3 of 3 rows read were rejected"):
        operator.execute({"data_interval_start": hour})  # type: ignore[arg-type]
    assert clean_sandbox.gcs.list_names(f"{PREFIX}{hour:%Y/%m/%d/%H}/") == []
