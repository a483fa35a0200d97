"""A tiny hourly DAG shaped like the examples (optional param, one-hour intervals) whose
backfill needs no cloud: the browser test creates one from the UI's dialog and watches it run."""

from datetime import datetime, timezone

from airflow.sdk import DAG, Param, task
from airflow.timetables.interval import CronDataIntervalTimetable

with DAG(
    dag_id="wm_browser_hourly",
    schedule=CronDataIntervalTimetable("0 * * * *", timezone="UTC"),
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    params={
        "note": Param(None, type=["null", "string"], description="optional, like the examples'")
    },
):

    @task
    def hour(data_interval_start=None):  # type: ignore[no-untyped-def]
        return data_interval_start.isoformat()

    hour()
