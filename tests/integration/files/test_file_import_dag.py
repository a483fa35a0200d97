"""The file-import DAG against the sandbox: CSV + Excel in, parts out, manifest re-import."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from dag_helpers import only_part, run_hour, xcom_return

pytestmark = pytest.mark.integration

H1 = datetime(2026, 3, 8, 2, tzinfo=timezone.utc)
H2 = datetime(2026, 3, 8, 3, tzinfo=timezone.utc)
HEADER = (
    "Date Type,Date Code,Geo Type,Geo Code,Sales Platform,Platform Type,Country Code,Orders,Sales\n"
)


def _csv(*rows: str) -> bytes:
    return (HEADER + "".join(r + "\n" for r in rows)).encode()


def _xlsx(path: Path) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER.strip().split(","))
    sheet.append(
        ["DAILY", datetime(2026, 3, 7), "ZIP", "02134", "Target", "SECONDARY", "US", 4, 40.5]
    )
    book.save(path)
    return path.read_bytes()


def test_file_import_dag_partial_failure_then_reimport_drops_what_succeeded(
    clean_sandbox: Any,
    airflow_connections: Any,
    example_dag: Any,
    landing: Any,
    parts: Any,
    tmp_path: Path,
) -> None:
    good = 'DAILY,03/07/2026,ZIP,10001-1234,Walmart,SECONDARY,US,"1,200","$1,234.50"'
    bad = "DAILY,2026-03-07,ZIP,02134,Walmart,TERTIARY,US,3,30"
    fixed = bad.replace("TERTIARY", "PRIMARY")
    landing(H1, ("a.csv", _csv(good, bad)), ("b.xlsx", _xlsx(tmp_path / "b.xlsx")))

    dag = example_dag("workmagic_file_import")
    run = run_hour(dag, H1)
    assert run.state == "success"
    summary = xcom_return(run, "import_files")
    assert [Path(f).name for f in summary["files"]] == ["a.csv", "b.xlsx"]
    assert summary["formats"] == {"csv": 1, "excel": 1}
    assert (summary["rows"], summary["rows_written"], summary["rejected"]) == (3, 2, 1)
    assert summary["cleaned"] == {
        "currency_symbol": 1,
        "date_format": 1,
        "thousands_separator": 2,
        "zip_plus4": 1,
    }
    assert summary["manifest_recorded"] == 2
    written = parts(H1)
    rows = written[only_part(written, "2026-03-08-02", "files")]
    assert [(r["geo_code"], r["orders"], r["sales"]) for r in rows] == [
        ("10001", 1200, 1234.5),
        ("02134", 4, 40.5),
    ]
    rejected = (tmp_path / "rejected" / f"{H1:%Y/%m/%d/%H}.jsonl").read_text().splitlines()
    assert [json.loads(r)["sales_platform_type"] for r in rejected] == ["TERTIARY"]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    [(destination, keys)] = manifest["destinations"].items()
    assert destination.endswith("account-121226/order-geo-date-data/")
    assert sorted(set(keys.values())) == ["2026/03/08/02"] and len(keys) == 2

    # the user fixes the file and drops it again, with the Excel file, into a later hour
    landing(H2, ("a.csv", _csv(good, fixed)), ("b.xlsx", _xlsx(tmp_path / "b.xlsx")))
    run = run_hour(dag, H2)
    summary = xcom_return(run, "import_files")
    assert (summary["rows_written"], summary["rejected"]) == (1, 0)
    assert summary["dropped_already_imported"] == 2
    [rows] = parts(H2).values()
    assert [r["sales_platform_type"] for r in rows] == ["PRIMARY"]

    # re-running the first hour rewrites that hour exactly (its records are not dropped)
    run = run_hour(dag, H1)
    summary = xcom_return(run, "import_files")
    assert (summary["rows_written"], summary["dropped_already_imported"]) == (2, 0)
    assert list(parts(H1).values()) == list(written.values())  # a new run, the same rows


def test_file_import_flags_an_hour_without_files(
    clean_sandbox: Any, airflow_connections: Any, example_dag: Any, landing: Any
) -> None:
    run = run_hour(example_dag("workmagic_file_import"), H1)
    ti = next(t for t in run.get_task_instances() if t.task_id == "import_files")
    assert ti.state == "success"  # not skipped: green, and saying there was nothing
    summary = xcom_return(run, "import_files")
    assert summary["empty"] is True and summary["rows_written"] == 0


def test_operator_writes_to_gcs_per_connection_and_fails_on_invalid(
    airflow_db: Any, clean_sandbox: Any, airflow_connections: Any, load_dag_file: Any, landing: Any
) -> None:
    airflow_connections(cloud="gcs")
    folder = landing(H1, "orders_unique_id.csv", "fail_conflict.csv")
    dag = load_dag_file(
        f"""
        from airflow.sdk import DAG
        from workmagic_provider.example_defaults import hourly_dag_kwargs, hourly_timetable
        from workmagic_provider.operators.files import OrderFileToWorkMagicOperator

        kwargs = hourly_dag_kwargs("test")
        kwargs["default_args"]["retries"] = 0
        with DAG(dag_id="wm_files_gcs", schedule=hourly_timetable(), **kwargs) as dag:
            OrderFileToWorkMagicOperator(
                task_id="ok", source="{folder}/orders_*.csv", schema="custom-site",
            )
            OrderFileToWorkMagicOperator(
                task_id="fails", source="{folder}/fail_*.csv", schema="custom-site",
            )
        """,
        "wm_files_gcs",
    )
    run = run_hour(dag, H1)
    states = {t.task_id: t.state for t in run.get_task_instances()}
    assert states == {"ok": "success", "fails": "failed"}
    summary = xcom_return(run, "ok")
    assert summary["destination"].startswith("gs://")
    assert summary["rows_written"] == 2
    [part] = summary["parts"]
    assert part["path"].startswith("gs://") and part["rows"] == 2
    assert "/2026/03/08/02/" in part["path"]
    only_part([part["path"]], "2026-03-08-02", "files")
