"""LocalAirflow (the demo's Airflow): a failing backfill run is reported within seconds, and stop()
leaves no process behind."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from dag_helpers import processes_using

from workmagic_sandbox.local_airflow import LocalAirflow

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

with DAG(
    dag_id="sleeps",
    schedule=CronDataIntervalTimetable("0 * * * *", timezone="UTC"),
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
):
    @task
    def nap():
        import time
        time.sleep(600)

    nap()
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text()


@pytest.mark.timeout(240)
def test_failed_run_after_one_quick_retry_and_clean_stop(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "always_fails.py").write_text(FAILING_DAG)
    airflow = LocalAirflow(tmp_path / "home", dags, quick_retries=True)
    with airflow:
        pids = [p.pid for p in airflow.processes.values()]
        airflow.wait_for_dags(["always_fails", "sleeps"])
        created = airflow.create_backfill(
            "always_fails", "2026-03-08T02:00:00Z", "2026-03-08T02:00:00Z"
        )
        assert created["dag_id"] == "always_fails"
        runs = airflow.wait_for_runs({"always_fails": 1}, timeout=120)["always_fails"]
        assert [r["state"] for r in runs] == ["failed"]  # 1 quick retry instead of 3 slow ones
        assert runs[0]["data_interval_start"].startswith("2026-03-08T02:00:00")
        (ti,) = airflow.task_instances("always_fails", runs[0]["dag_run_id"])
        assert ti["state"] == "failed" and ti["try_number"] == 2

        # a component that dies is started again, as a supervisor would
        first = airflow.processes["scheduler"]
        first.kill()
        first.wait()
        airflow.wait_for_dags(["always_fails"])
        assert airflow.restarts == ["scheduler"]
        assert airflow.processes["scheduler"].pid != first.pid
        pids = [p.pid for p in airflow.processes.values()]

        # a task still running when Airflow stops (its runner has its own process group)
        airflow.create_backfill("sleeps", "2026-03-08T02:00:00Z", "2026-03-08T02:00:00Z")
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            (run,) = airflow.dag_runs("sleeps") or [None]
            tis = airflow.task_instances("sleeps", run["dag_run_id"]) if run else []
            if tis and tis[0]["state"] == "running":
                break
            time.sleep(1)
        else:
            pytest.fail("the sleeping task never started")
        time.sleep(2)
        import psutil

        family = [child for pid in pids for child in psutil.Process(pid).children(recursive=True)]
        # the task runner sits in a process group of its own: killing the groups would miss it
        runners = [c for c in family if os.getpgid(c.pid) not in {os.getpgid(p) for p in pids}]
        assert runners, [c.cmdline() for c in family]
        assert set(processes_using(tmp_path / "home")) >= {c.pid for c in runners}
    assert airflow.processes == {}
    assert not any(_alive(pid) for pid in pids + [c.pid for c in family])
    assert processes_using(tmp_path / "home") == []


def test_the_callers_airflow_settings_do_not_leak_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONFIG", "/etc/production/airflow.cfg")
    monkeypatch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "postgresql://prod/airflow")
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", "aws://prod-key:prod-secret@")
    monkeypatch.setenv("AIRFLOW_VAR_WORKMAGIC_BIGQUERY_LOCATION", "EU")
    airflow = LocalAirflow(tmp_path / "home", tmp_path, {"AIRFLOW_VAR_DEMO": "1"})
    env = airflow.environment()
    assert env["AIRFLOW_CONFIG"] == str(tmp_path / "home" / "airflow.cfg")
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == f"sqlite:///{tmp_path / 'home'}/airflow.db"
    assert "AIRFLOW_CONN_AWS_DEFAULT" not in env
    assert "AIRFLOW_VAR_WORKMAGIC_BIGQUERY_LOCATION" not in env
    assert env["AIRFLOW_VAR_DEMO"] == "1"
    assert (
        env["AIRFLOW__API_AUTH__JWT_SECRET"]
        == airflow.environment()["AIRFLOW__API_AUTH__JWT_SECRET"]
    )
