"""LocalAirflow (the demo's Airflow): a failing backfill run is reported at once, and stop()
leaves no process behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from workmagic_provider.sandbox.local_airflow import LocalAirflow

pytestmark = pytest.mark.integration

FAILING_DAG = """
from datetime import datetime, timezone
from airflow.sdk import DAG, CronDataIntervalTimetable, task

with DAG(
    dag_id="always_fails",
    schedule=CronDataIntervalTimetable("0 * * * *", timezone="UTC"),
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    default_args={"retries": 3},
):
    @task
    def boom(data_interval_start=None):
        raise ValueError(f"no data for {data_interval_start}")

    boom()
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text()


@pytest.mark.timeout(240)
def test_failed_run_without_retries_and_clean_stop(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "always_fails.py").write_text(FAILING_DAG)
    airflow = LocalAirflow(tmp_path / "home", dags, retries=False)
    with airflow:
        pids = [p.pid for p in airflow.processes.values()]
        airflow.wait_for_dags(["always_fails"])
        created = airflow.create_backfill(
            "always_fails", "2026-03-08T02:00:00Z", "2026-03-08T02:00:00Z"
        )
        assert created["dag_id"] == "always_fails"
        runs = airflow.wait_for_runs({"always_fails": 1}, timeout=120)["always_fails"]
        assert [r["state"] for r in runs] == ["failed"]  # the DAG's 3 retries were removed
        assert runs[0]["data_interval_start"].startswith("2026-03-08T02:00:00")
        (ti,) = airflow.task_instances("always_fails", runs[0]["dag_run_id"])
        assert ti["state"] == "failed" and ti["try_number"] == 1
    assert airflow.processes == {}
    assert not any(_alive(pid) for pid in pids)
