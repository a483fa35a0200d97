"""The example DAG ``workmagic_enrich_orders_hourly`` over two hours of a SQLite source.

The example DAG runs on the real clock (its four-week rule is measured from now), so these
tests use the last complete hours rather than a fixed date.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from dag_helpers import run_hour, xcom_return

from .conftest import enrich_row, write_orders_db

pytestmark = pytest.mark.integration


def recent_hours() -> tuple[datetime, datetime]:
    """The two complete UTC hours before the current one."""
    now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    return now - timedelta(hours=2), now - timedelta(hours=1)


def enrich_state(run: Any) -> str:
    """State of the enrich task (the DAG's later missed-hours check is tested elsewhere)."""
    return str(run.get_task_instance("enrich_orders").state)


def source_db(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rows: list[dict[str, Any]], updated: list[str]
) -> None:
    path = write_orders_db(tmp_path / "shop.sqlite", rows, updated)
    monkeypatch.setenv(
        "AIRFLOW_CONN_WORKMAGIC_ORDERS_DB", json.dumps({"conn_type": "sqlite", "host": str(path)})
    )


def test_example_dag_enriches_each_hours_window(
    api: Any,
    airflow_connections: Any,
    example_dag: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, second = recent_hours()
    rows = [enrich_row(n, at=first + timedelta(seconds=n)) for n in range(300)]
    updated = [
        (first if n < 200 else second).strftime("%Y-%m-%dT%H:") + f"{n % 60:02d}:00Z"
        for n in range(300)
    ]
    source_db(tmp_path, monkeypatch, rows, updated)
    api.seed_orders(r["order_id"] for r in rows)
    api.clock = lambda: datetime.now(timezone.utc)
    dag = example_dag("workmagic_enrich_orders_hourly")

    run = run_hour(dag, first)
    assert enrich_state(run) == "success"
    summary = xcom_return(run, "enrich_orders")
    assert summary["accepted"] == 200 and summary["verify"]["matched"] == 200
    assert len(api.enriched()) == 200

    # the next hour's window starts an hour earlier (lookback): it re-sends hour one's orders,
    # which overwrite with the same values (WorkMagic: last write wins)
    run = run_hour(dag, second)
    assert enrich_state(run) == "success"
    summary = xcom_return(run, "enrich_orders")
    assert summary["accepted"] == 300
    assert len(api.enriched()) == 300


def test_example_dag_fails_when_every_order_is_rejected(
    api: Any,
    airflow_connections: Any,
    example_dag: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: Any,
) -> None:
    hour, _ = recent_hours()
    # a renamed column upstream: every sales_amount is text
    rows = [enrich_row(n, at=hour + timedelta(seconds=n), sales_amount="n/a") for n in range(50)]
    source_db(tmp_path, monkeypatch, rows, [hour.strftime("%Y-%m-%dT%H:30:00Z")] * 50)
    api.seed_orders(r["order_id"] for r in rows)
    dag = example_dag("workmagic_enrich_orders_hourly")

    run = run_hour(dag, hour)
    assert run.state == "failed" and enrich_state(run) == "failed"
    assert "50 of 50 rows were rejected (100%)" in "".join(capfd.readouterr())
    assert not api.requests  # nothing was sent
