"""Runs after each hour delivered to WorkMagic: an example of a DAG scheduled on the asset."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG

from workmagic_provider.example_defaults import workmagic_asset

DOC = """
### After an hour reached WorkMagic

Scheduled on the asset the WorkMagic example DAGs update (through the asset alias
`workmagic-delivered-hour`) when they deliver an hour of one account's data category
(`x-workmagic://{account_id}/{data_category}`). Each run reads the
hours from its triggering asset events (`extra["hour"]`, the data interval start in UTC, and
`extra["destination"]`, the folder written) and logs them: replace the task with what your team
does once WorkMagic has the hour (refresh a report, notify, reconcile).
"""

#: The account and data category your ``workmagic`` connection delivers to.
DELIVERED = workmagic_asset(account_id="121226", data_category="order-geo-date-data")


def delivered_hours(triggering_asset_events: Any = None) -> list[str]:
    """The hours whose delivery triggered this run, oldest first."""
    events = (triggering_asset_events or {}).get(DELIVERED, [])
    for event in events:
        print(f"WorkMagic has the hour {event.extra.get('hour')}: {event.extra}")
    return sorted({str(event.extra["hour"]) for event in events if "hour" in event.extra})


with DAG(
    dag_id="example_workmagic_after_delivery",
    schedule=[DELIVERED],
    start_date=datetime(2026, 12, 1, tzinfo=timezone.utc),
    catchup=False,
    doc_md=DOC,
    tags=["workmagic"],
) as dag:
    PythonOperator(task_id="delivered_hours", python_callable=delivered_hours)
