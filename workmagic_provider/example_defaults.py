"""Defaults every example DAG shares.

A user who copies one example DAG file gets the timetable, retries, params and the missed-hours
check from here, so the DAG file stays short and the conventions stay in one place. What a user
must decide stays in the DAG file itself: its ``schedule``, its ``start_date`` (the first hour
it delivers) and ``catchup=True`` (every hour since then is delivered, missed ones included).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

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


def optional_param(description: str) -> Any:
    """A DAG param a manual trigger may set; empty by default, so the dialogs never block."""
    from airflow.sdk import Param

    return Param(None, type=["null", "string"], description=description)


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
    """Keyword arguments of an hourly WorkMagic DAG besides schedule, start date and catch-up."""
    kwargs: dict[str, Any] = {
        "max_active_runs": 4,
        "default_args": dict(DEFAULT_ARGS),
        "params": workmagic_params(),
        "tags": ["workmagic"],
        "doc_md": doc_md + CATCH_UP_DOC,
    }
    kwargs.update(overrides)
    return kwargs


CATCH_UP_DOC = """

**Missed hours.** `catchup=True` delivers every hour since `start_date` (set it to the first
hour you want delivered when you copy this file): hours missed while the scheduler was down or
the DAG paused run by themselves. The last task, `check_missed_hours`, fails naming any hour
between the previous successful run and this one that never ran, with the exact
`airflow backfill create ...` command that delivers it.
"""


def missed_hours_check(**kwargs: Any) -> Any:
    """The task an example DAG ends with (see ``operators.missed_hours``)."""
    from workmagic_provider.operators.missed_hours import MissedHoursCheckOperator

    return MissedHoursCheckOperator(task_id="check_missed_hours", **kwargs)


def param_or_variable(param: str, variable: str, default: str = "") -> str:
    """A template: the DAG param if a manual trigger set it, else the Airflow Variable."""
    return f"{{{{ params.{param} or var.value.get('{variable}', '{default}') }}}}"


#: The asset alias the example DAGs' delivery tasks emit through (see ``hour_delivered``).
DELIVERY_ALIAS = "workmagic-delivered-hour"


def workmagic_asset(account_id: str, data_category: str) -> Any:
    """The Asset "an hour of this account's data category reached WorkMagic".

    One per account and category, whichever flow delivers: a downstream DAG scheduled on it runs
    after each delivered hour and finds the hour in the event's ``extra``.
    """
    from airflow.sdk import Asset

    return Asset(
        name=f"workmagic-{account_id}-{data_category}",
        uri=f"x-workmagic://{account_id}/{data_category}",
    )


def delivery_alias() -> Any:
    """The outlet of a delivery task: the asset it updates is known only when it ran."""
    from airflow.sdk import AssetAlias

    return AssetAlias(name=DELIVERY_ALIAS)


def delivered_to(task: Any, summary: Mapping[str, Any]) -> tuple[str, str] | None:
    """(account id, data category) a run delivered to: its folder, else the task's connection."""
    match = _FOLDER.search(str(summary.get("destination") or ""))
    if match:
        return match.group(1), match.group(2)
    conn_id = getattr(task, "workmagic_conn_id", None)
    if not conn_id or not callable(getattr(task, "workmagic_hook", None)):
        return None
    settings = task.workmagic_hook().settings
    category = getattr(task, "data_category", None) or settings.data_category
    return (settings.account_id, category) if category else None


def hour_delivered(alias: Any) -> Callable[[Any, Any], None]:
    """A delivery task's ``post_execute``: an event of the account's asset, through ``alias``,
    whose ``extra`` holds the hour (and the folder written, when there is one).

    The account and category are those the run delivered to (its folder, or its connection),
    so a trigger with another ``workmagic_conn_id`` updates that account's asset.
    """

    def record(context: Any, result: Any) -> None:
        summary = result if isinstance(result, Mapping) else {}
        target = delivered_to(context["task"], summary)
        if target is None or summary.get("mode") == "render_only":  # nothing was delivered
            return
        extra: dict[str, Any] = {"hour": context["data_interval_start"].isoformat()}
        for key in ("destination", "empty"):
            if summary.get(key) is not None:
                extra[key] = summary[key]
        context["outlet_events"][alias].add(workmagic_asset(*target), extra=extra)

    return record


_FOLDER = re.compile(r"/account-(\d+)/([^/]+)/\d{4}/\d\d/\d\d/\d\d/?$")
