"""Defaults every example DAG shares (design Decisions 1 and 14).

A user who copies one example DAG file gets the schedule, retries and params from here, so the
DAG file itself stays short and the conventions stay in one place.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

#: Hourly DAGs start here unless the user says otherwise; catchup is off, so this only bounds
#: how far back the UI's backfill can reach by default.
DEFAULT_START_DATE = datetime(2026, 1, 1, tzinfo=timezone.utc)

DEFAULT_ARGS: dict[str, Any] = {
    "owner": "data-engineering",
    "retries": 3,
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=30),
}


def hourly_timetable() -> Any:
    """One-hour data intervals ending on the hour, in UTC.

    In Airflow 3 ``schedule="@hourly"`` gives a zero-length data interval; WorkMagic's hour
    folder is the interval's start hour, so the interval must span the hour.
    """
    from airflow.sdk import CronDataIntervalTimetable

    return CronDataIntervalTimetable("0 * * * *", timezone="UTC")


def workmagic_params(**extra: Any) -> dict[str, Any]:
    """DAG ``params`` a manual trigger can override; connection ids default to the usual ids."""
    from airflow.sdk import Param

    params: dict[str, Any] = {
        "workmagic_conn_id": Param(
            "workmagic_default", type="string", description="Airflow connection of type workmagic"
        ),
    }
    params.update(extra)
    return params


def hourly_dag_kwargs(doc_md: str, **overrides: Any) -> dict[str, Any]:
    """Keyword arguments of an hourly, backfill-ready WorkMagic DAG."""
    kwargs: dict[str, Any] = {
        "schedule": hourly_timetable(),
        "start_date": DEFAULT_START_DATE,
        "catchup": False,
        "max_active_runs": 4,
        "default_args": dict(DEFAULT_ARGS),
        "params": workmagic_params(),
        "tags": ["workmagic"],
        "doc_md": doc_md,
    }
    kwargs.update(overrides)
    return kwargs


def param_or_variable(param: str, variable: str, default: str = "") -> str:
    """A template: the DAG param if a manual trigger set it, else the Airflow Variable."""
    return f"{{{{ params.{param} or var.value.get('{variable}', '{default}') }}}}"
