"""File import from the customer's own S3 bucket (moto) and GCS bucket (emulator), by glob.

The sources are ``ObjectStoragePath``s / URIs naming their connection; the operator lists and
streams them through the provider hooks, so only the matching objects are read, in key order.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

import pytest
from dag_helpers import only_part, run_hour, xcom_return

from workmagic_provider.exceptions import WorkMagicInputError
from workmagic_provider.operators.files import OrderFileToWorkMagicOperator

pytestmark = pytest.mark.integration

H1 = datetime(2026, 3, 8, 2, tzinfo=timezone.utc)
HEADER = (
    "Date Type,Date Code,Geo Type,Geo Code,Sales Platform,Platform Type,Country Code,Orders,Sales\n"
)
FOLDER = "incoming/2026/03/08"


def _csv(*geo_orders: tuple[str, int]) -> bytes:
    body = "".join(
        f'DAILY,2026-03-07,ZIP,{geo},Walmart,SECONDARY,US,{orders},"${orders * 10:,.2f}"\n'
        for geo, orders in geo_orders
    )
    return (HEADER + body).encode()


#: What lands in the customer's bucket: two matching CSVs (one gzipped), plus objects the glob
#: must leave out (another extension, a sub-folder, another day, a name that only starts alike).
OBJECTS = {
    f"{FOLDER}/b.csv": _csv(("10001", 2), ("10002", 3)),
    f"{FOLDER}/a.csv": _csv(("02134", 1)),
    f"{FOLDER}/notes.txt": b"not an order file",
    f"{FOLDER}/sub/c.csv": _csv(("99999", 9)),
    "incoming/2026/03/09/d.csv": _csv(("88888", 8)),
    f"{FOLDER}.csv": _csv(("77777", 7)),
}
#: Rows expected in WorkMagic's part, in file order (a.csv, then b.csv).
EXPECTED = [("02134", 1, 10.0), ("10001", 2, 20.0), ("10002", 3, 30.0)]


def _dag(load_dag_file: Any, dag_id: str, source: str, empty: str, on_empty: str) -> Any:
    return load_dag_file(
        f"""
        from airflow.sdk import DAG, ObjectStoragePath
        from workmagic_provider.example_defaults import hourly_dag_kwargs, hourly_timetable
        from workmagic_provider.operators.files import OrderFileToWorkMagicOperator

        kwargs = hourly_dag_kwargs("test")
        kwargs["default_args"]["retries"] = 0
        with DAG(dag_id="{dag_id}", schedule=hourly_timetable(), **kwargs) as dag:
            OrderFileToWorkMagicOperator(task_id="matched", source={source})
            OrderFileToWorkMagicOperator(
                task_id="nothing", source={empty}, on_empty="{on_empty}"
            )
        """,
        dag_id,
    )


def _assert_imported(run: Any, parts: Any, sources: list[str]) -> None:
    summary = xcom_return(run, "matched")
    assert summary["files"] == sources
    assert summary["formats"] == {"csv": 2}
    assert (summary["rows"], summary["rows_written"], summary["rejected"]) == (3, 3, 0)
    written = parts(H1)
    rows = written[only_part(written, "2026-03-08-02", "files")]
    assert [(r["geo_code"], r["orders"], r["sales"]) for r in rows] == EXPECTED
    assert summary["parts"][0]["rows"] == 3


def test_s3_glob_imports_exactly_the_matching_objects(
    customer: Any, airflow_db: Any, load_dag_file: Any, parts: Any
) -> None:
    import gzip

    client = customer.s3_client()
    for key, data in OBJECTS.items():
        body = gzip.compress(data, mtime=0) if key.endswith("b.csv") else data
        client.put_object(Bucket=customer.bucket, Key=key, Body=body)
    dag = _dag(
        load_dag_file,
        "wm_files_s3_glob",
        f'ObjectStoragePath("s3://{customer.bucket}/{FOLDER}/*.csv", '
        'conn_id="customer_source_aws")',
        f'"s3://customer_source_aws@{customer.bucket}/{FOLDER}/*.xlsx"',
        "skip",
    )
    run = run_hour(dag, H1)
    states = {t.task_id: t.state for t in run.get_task_instances()}
    assert states == {"matched": "success", "nothing": "skipped"}
    _assert_imported(
        run,
        parts,
        [f"s3://{customer.bucket}/{FOLDER}/a.csv", f"s3://{customer.bucket}/{FOLDER}/b.csv"],
    )


def test_gcs_glob_imports_exactly_the_matching_objects(
    customer: Any, airflow_db: Any, load_dag_file: Any, parts: Any
) -> None:
    bucket = customer.gcs_bucket()
    for key, data in OBJECTS.items():
        bucket.blob(key).upload_from_string(data)
    conn = customer.gcp_conn_id
    dag = _dag(
        load_dag_file,
        "wm_files_gcs_glob",
        f'"gs://{conn}@{customer.bucket}/{FOLDER}/[ab].csv"',
        f'ObjectStoragePath("gs://{customer.bucket}/{FOLDER}/*.xlsx", conn_id="{conn}")',
        "fail",
    )
    run = run_hour(dag, H1)
    states = {t.task_id: t.state for t in run.get_task_instances()}
    assert states == {"matched": "success", "nothing": "failed"}
    _assert_imported(
        run,
        parts,
        [f"gs://{customer.bucket}/{FOLDER}/a.csv", f"gs://{customer.bucket}/{FOLDER}/b.csv"],
    )


@pytest.mark.parametrize("cloud", ["s3", "gs"])
def test_a_glob_matching_nothing_is_an_empty_hour_named_by_its_glob(
    customer: Any, cloud: str
) -> None:
    from airflow.sdk import ObjectStoragePath

    conn = "customer_source_aws" if cloud == "s3" else customer.gcp_conn_id
    source = ObjectStoragePath(f"{cloud}://{customer.bucket}/{FOLDER}/*.csv", conn_id=conn)
    op = OrderFileToWorkMagicOperator(task_id="t", source=source)
    assert op.source_paths() == []  # the bucket is empty
    [reason] = op.empty_reason()
    assert re.match(r"no input file matches .*\*\.csv", reason)


@pytest.mark.parametrize("cloud", ["s3", "gs"])
def test_a_named_object_that_does_not_exist_is_an_input_error(customer: Any, cloud: str) -> None:
    from airflow.sdk import ObjectStoragePath

    from workmagic_provider.files.readers import InputReader
    from workmagic_provider.schemas import ValidationReport

    conn = "customer_source_aws" if cloud == "s3" else customer.gcp_conn_id
    source = ObjectStoragePath(f"{cloud}://{customer.bucket}/{FOLDER}/gone.csv", conn_id=conn)
    [path] = OrderFileToWorkMagicOperator(task_id="t", source=source).source_paths()
    assert str(path) == f"{cloud}://{customer.bucket}/{FOLDER}/gone.csv"
    reader = InputReader("imported", ValidationReport("imported"))
    with pytest.raises(WorkMagicInputError, match=f"input {cloud}://.*/gone.csv does not exist"):
        list(reader.read(path))


def test_manifest_and_rejected_rows_live_in_the_customers_bucket(
    customer: Any, airflow_db: Any, load_dag_file: Any, parts: Any
) -> None:
    """``manifest_path`` and ``rejected_path`` on ``s3://`` work without s3fs (through S3Hook)."""
    import json
    from datetime import timedelta

    client = customer.s3_client()
    bad = b'DAILY,2026-03-07,ZIP,55555,Walmart,TERTIARY,US,1,"$1.00"\n'
    client.put_object(Bucket=customer.bucket, Key="drop/a.csv", Body=_csv(("02134", 1)) + bad)
    base = f"s3://customer_source_aws@{customer.bucket}"
    dag = load_dag_file(
        f"""
        from airflow.sdk import DAG
        from workmagic_provider.example_defaults import hourly_dag_kwargs, hourly_timetable
        from workmagic_provider.operators.files import OrderFileToWorkMagicOperator

        kwargs = hourly_dag_kwargs("test")
        kwargs["default_args"]["retries"] = 0
        with DAG(dag_id="wm_files_s3_sidecars", schedule=hourly_timetable(), **kwargs) as dag:
            OrderFileToWorkMagicOperator(
                task_id="import",
                source="{base}/drop/*.csv",
                on_invalid="skip",
                rejected_path="{base}/rejected/{{{{ data_interval_start.strftime('%H') }}}}.jsonl",
                manifest_path="{base}/state/manifest.json",
                on_duplicate="drop",
            )
        """,
        "wm_files_s3_sidecars",
    )
    run = run_hour(dag, H1)
    assert run.state == "success"
    first = xcom_return(run, "import")
    assert (first["rows_written"], first["rejected"], first["manifest_recorded"]) == (1, 1, 1)
    rejected = client.get_object(Bucket=customer.bucket, Key="rejected/02.jsonl")["Body"].read()
    assert [json.loads(line)["geo_code"] for line in rejected.splitlines()] == ["55555"]
    manifest = client.get_object(Bucket=customer.bucket, Key="state/manifest.json")["Body"].read()
    (imported,) = json.loads(manifest)["destinations"].values()
    assert list(imported.values()) == ["2026/03/08/02"]

    # the same file again in the next hour: the imported row is dropped, nothing is re-sent
    run = run_hour(dag, H1 + timedelta(hours=1))
    assert run.state == "success"
    again = xcom_return(run, "import")
    assert (again["rows_written"], again["dropped_already_imported"]) == (0, 1)


def test_a_manifest_on_a_workers_own_disk_is_refused(
    clean_sandbox: Any, airflow_connections: Any, tmp_path: Any, parts: Any
) -> None:
    """Two Celery workers with their own disks: the second would read the first's local
    manifest as empty and import its records again, so a local manifest is refused (the one in
    the customer's bucket, above, is what every worker reads)."""
    from workmagic_provider.exceptions import WorkMagicConfigError

    source = tmp_path / "drop" / "a.csv"
    source.parent.mkdir()
    source.write_bytes(_csv(("02134", 1)))
    for worker in ("worker-a", "worker-b"):
        operator = OrderFileToWorkMagicOperator(
            task_id="import",
            source=str(source),
            manifest_path=str(tmp_path / worker / "manifest.json"),
        )
        with pytest.raises(WorkMagicConfigError, match=r"manifest_path .* on this worker's disk"):
            operator.execute({"data_interval_start": H1})  # type: ignore[arg-type]
    assert parts(H1) == {}  # nothing imported by either
    kept = OrderFileToWorkMagicOperator(
        task_id="import", source=str(source), manifest_path=str(tmp_path / "m.json"),
        single_machine=True,
    )  # fmt: skip
    assert kept.execute({"data_interval_start": H1})["rows_written"] == 1  # type: ignore[arg-type]
