"""A gap in an example DAG's runs is never silent: the next run names the hours and the command."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from dag_helpers import REPO_ROOT, run_hour

from workmagic_sandbox.sample_data import custom_site_orders

pytestmark = pytest.mark.integration

# hours of their own: no other test runs this DAG near them
H = datetime(2026, 6, 14, 9, tzinfo=UTC)
HOURS = [H - timedelta(hours=3), H]  # H-2 and H-1 never run
DAG_ID = "wm_gap_upload_hourly"


def test_the_run_after_a_gap_names_the_missed_hours_and_the_backfill_command(
    clean_sandbox: Any,
    airflow_connections: Any,
    airflow_db: Any,
    load_dag_file: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AIRFLOW_VAR_WORKMAGIC_EXPORT_ROOT", str(tmp_path))
    for hour in HOURS:
        export = tmp_path / f"{hour:%Y/%m/%d/%H}.jsonl"
        export.parent.mkdir(parents=True, exist_ok=True)
        rows = custom_site_orders(5, hour=hour, seed=hour.hour)
        export.write_text("".join(json.dumps(r) + "\n" for r in rows))
    # the example DAG under a name of its own: no other test's runs precede these
    source = (REPO_ROOT / "dags" / "workmagic_s3_upload_hourly.py").read_text()
    dag = load_dag_file(source.replace('"workmagic_s3_upload_hourly"', f'"{DAG_ID}"'), DAG_ID)
    for task in dag.tasks:
        task.retries = 0
        task.start_date = min(task.start_date, HOURS[0])
    # dag.test runs are manual; the check treats them as the scheduled runs it checks
    dag.get_task("check_missed_hours").check_manual = True

    first = run_hour(dag, HOURS[0])
    assert first.state == "success"
    capfd.readouterr()
    after_gap = run_hour(dag, H)
    states = {ti.task_id: ti.state for ti in after_gap.get_task_instances()}
    # the run's own hour is delivered; the run is red because of the hours before it
    assert states == {"upload_hour": "success", "check_missed_hours": "failed"}
    captured = capfd.readouterr()
    logged = captured.out + captured.err
    assert (
        "2 hour(s) between the previous successful run and this one were never delivered: "
        "2026-06-14T07:00Z, 2026-06-14T08:00Z." in logged
    )
    assert (
        f"airflow backfill create --dag-id {DAG_ID} "
        "--from-date 2026-06-14T07:00:00+00:00 --to-date 2026-06-14T08:00:00+00:00"
    ) in logged
    keys = clean_sandbox.aws.list_keys("account-121226/order-geo-date-data/2026/06/14/09/")
    assert len(keys) == 1
