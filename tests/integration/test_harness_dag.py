"""The harness itself: a two-task hourly DAG runs with ``dag.test()`` over one whole UTC hour."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

pytestmark = pytest.mark.integration

DAG_SOURCE = """
from datetime import datetime, timezone

from airflow.sdk import DAG, task
from airflow.timetables.interval import CronDataIntervalTimetable

with DAG(
    dag_id="wm_harness_hourly",
    schedule=CronDataIntervalTimetable("0 * * * *", timezone="UTC"),
    start_date=datetime(2026, 3, 1, tzinfo=timezone.utc),
    catchup=False,
) as dag:

    @task
    def interval(data_interval_start=None, data_interval_end=None):
        return [data_interval_start.isoformat(), data_interval_end.isoformat()]

    @task
    def check(bounds):
        assert bounds == ["2026-03-08T02:00:00+00:00", "2026-03-08T03:00:00+00:00"], bounds
        return bounds

    check(interval())
"""


def test_dag_test_runs_one_whole_hour(airflow_db, load_dag_file):
    from airflow.utils.state import DagRunState

    dag = load_dag_file(DAG_SOURCE, "wm_harness_hourly")
    run = dag.test(logical_date=datetime(2026, 3, 8, 3, 0, tzinfo=timezone.utc))

    assert run.state == DagRunState.SUCCESS
    start, end = run.data_interval_start, run.data_interval_end
    assert end - start == timedelta(hours=1)
    assert start == datetime(2026, 3, 8, 2, 0, tzinfo=timezone.utc)
    tis = {ti.task_id: ti for ti in run.get_task_instances()}
    assert set(tis) == {"interval", "check"}
    assert all(ti.state == "success" for ti in tis.values())
