"""The example DAG ``workmagic_enrich_orders_hourly`` over two hours of a SQLite source."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from dag_helpers import run_hour, xcom_return

from .conftest import HOUR, enrich_row, write_orders_db

pytestmark = pytest.mark.integration


def test_example_dag_enriches_each_hours_window(
    api: Any,
    airflow_connections: Any,
    example_dag: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, second = HOUR, HOUR + timedelta(hours=1)
    rows = [enrich_row(n) for n in range(300)]
    updated = [
        (first if n < 200 else second).strftime("%Y-%m-%dT%H:") + f"{n % 60:02d}:00Z"
        for n in range(300)
    ]
    path = write_orders_db(tmp_path / "shop.sqlite", rows, updated)
    monkeypatch.setenv(
        "AIRFLOW_CONN_WORKMAGIC_ORDERS_DB", json.dumps({"conn_type": "sqlite", "host": str(path)})
    )
    api.seed_orders(r["order_id"] for r in rows)
    api.clock = lambda: second + timedelta(hours=1, minutes=5)
    dag = example_dag("workmagic_enrich_orders_hourly")

    run = run_hour(dag, first)
    assert run.state == "success"
    summary = xcom_return(run, "enrich_orders")
    assert summary["accepted"] == 200 and summary["verify"]["matched"] == 200
    assert len(api.enriched()) == 200

    # the next hour's window starts an hour earlier (lookback): it re-sends hour one's orders,
    # which overwrite with the same values (WorkMagic: last write wins)
    run = run_hour(dag, second)
    assert run.state == "success"
    summary = xcom_return(run, "enrich_orders")
    assert summary["accepted"] == 300
    assert len(api.enriched()) == 300
