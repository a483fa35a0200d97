"""EnrichOrdersOperator inside ``dag.test()`` against the sandbox's API server over real HTTP."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import clocks
import pytest
from clocks import SimClock
from dag_helpers import run_hour, ti_state, xcom_return

from workmagic_sandbox.api import ApiFaults
from workmagic_sandbox.launcher import ENRICH_API_KEY, ORDERS_API_KEY

from .conftest import HOUR, NOW, SOURCE_CONN_ID, enrich_row

pytestmark = pytest.mark.integration

DAG_TEMPLATE = """
from datetime import datetime, timedelta, timezone

import clocks
from airflow.sdk import DAG
from workmagic_provider.example_defaults import hourly_timetable
from workmagic_provider.operators.enrich import EnrichOrdersOperator

with DAG(
    dag_id="{dag_id}",
    schedule=hourly_timetable(),
    start_date=datetime(2026, 3, 1, tzinfo=timezone.utc),
    catchup=False,
) as dag:
    EnrichOrdersOperator(
        task_id="enrich",
        retry_delay=timedelta(seconds=1),
        backoff=0.1,
        clock=clocks.CURRENT,
        {args}
    )
"""

SQL = (
    "SELECT order_id, order_timestamp, sales_amount, profit_amount, currency FROM enrich_orders "
    "WHERE updated_at >= '{{ workmagic_window_start }}' "
    "AND updated_at < '{{ workmagic_window_end }}' ORDER BY row_no"
)


CONTEXT: Any = {"data_interval_start": HOUR, "data_interval_end": HOUR + timedelta(hours=1)}


@pytest.fixture(autouse=True)
def clock() -> Iterator[SimClock]:
    """Simulated time starting at NOW, for the operators of this module (``clocks.CURRENT``)."""
    clocks.CURRENT = SimClock(start=NOW)
    try:
        yield clocks.CURRENT
    finally:
        clocks.CURRENT = None


def dag_source(dag_id: str, **args: Any) -> str:
    text = "\n        ".join(f"{name}={value}," for name, value in args.items())
    return DAG_TEMPLATE.format(dag_id=dag_id, args=text)


def stamp(moment: Any) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_10k_orders_through_429_storms_500s_and_a_30_s_outage_enriched_exactly_once(
    api: Any,
    clock: SimClock,
    airflow_connections: Any,
    orders_db_conn: Any,
    load_dag_file: Any,
    airflow_db: Any,
    tmp_path: Path,
    capfd: Any,
) -> None:
    in_window = stamp(HOUR + timedelta(minutes=30))
    rows: list[dict[str, Any]] = []
    updated: list[str] = []

    def add(row: dict[str, Any], when: str = in_window) -> None:
        rows.append(row)
        updated.append(when)

    for n in range(9_600):  # valid, known, recent
        add(enrich_row(n))
    for n in range(9_600, 9_700):  # invalid for our schema (and the sandbox's rules)
        kind = n % 4
        variants: list[dict[str, Any]] = [
            {"profit_amount": None},
            {"order_timestamp": "2026-03-08 02:00:00"},  # no zone
            {"sales_amount": "lots"},
            {"order_timestamp": None},
        ]
        add(enrich_row(n, **variants[kind]))
    for n in range(9_700, 9_800):  # older than 28 days before data_interval_end
        add(enrich_row(n, at=HOUR - timedelta(days=40)))
    for n in range(9_800, 9_850):  # unknown to WorkMagic: the API refuses them
        add(enrich_row(n))
    for n in range(150):  # the same order again, later row: last wins
        add(enrich_row(n, sales_amount=999.0 + n))
    for n in range(20_000, 20_200):  # updated outside the window: not selected
        add(enrich_row(n), when=stamp(HOUR - timedelta(hours=5)))
    assert len(rows) == 10_200
    orders_db_conn(rows, updated)
    known = [f"ord_{n:06d}" for n in range(9_800)] + [f"ord_{n:06d}" for n in range(20_000, 20_200)]
    api.seed_orders(known)
    # storms and the outage are timed on the operator's simulated clock: "down for 30 s" is
    # 30 simulated seconds, while every request is real HTTP to the sandbox
    api.monotonic = clock.monotonic
    api.faults = ApiFaults(
        error_rate=0.05,
        storm_every=50,
        storm_seconds=5,
        retry_after=1,
        outage_after=60,  # about halfway through the ~100 POSTs
        outage_seconds=30,
        seed=11,
    )
    rejected_path = tmp_path / "rejected.jsonl"
    dag = load_dag_file(
        dag_source(
            "wm_enrich_10k",
            source_conn_id=repr(SOURCE_CONN_ID),
            sql=repr(SQL),
            chunk_size=1000,
            on_invalid="'skip'",
            rejected_path=repr(str(rejected_path)),
            verify=True,
            verify_limit=1000,
            retries=0,  # it must succeed on its first try
        ),
        "wm_enrich_10k",
    )
    run = run_hour(dag, HOUR)
    assert run.state == "success"
    assert run.get_task_instance("enrich").try_number == 1
    summary = xcom_return(run, "enrich")

    # every valid, known, recent order once, with its last values
    expected = {}
    for n in range(9_600):
        expected[f"ord_{n:06d}"] = (
            enrich_row(n, sales_amount=999.0 + n) if n < 150 else enrich_row(n)
        )
    state = api.enriched()
    assert set(state) == set(expected)
    for order_id, row in expected.items():
        assert state[order_id]["sales_amount"] == row["sales_amount"], order_id
        assert state[order_id]["profit_amount"] == row["profit_amount"]
        assert (state[order_id]["currency"] or "USD") == row["currency"]
    deliveries = api.delivery_counts()
    assert set(deliveries) == set(expected) and set(deliveries.values()) == {1}
    assert api.statuses[429] > 0 and api.statuses[500] > 0
    assert api.dropped > 0 and clock.monotonic() >= 30  # the outage happened and was waited out

    # everything is accounted for: nothing silently dropped
    assert summary["rows_total"] == 10_000  # the 200 rows outside the window were not selected
    assert summary["rows_invalid"] == 100 and summary["rows_valid"] == 9_900
    assert summary["duplicates_collapsed"] == 150 and summary["orders"] == 9_750
    assert summary["accepted"] == 9_600
    assert summary["too_old"] == 100
    assert summary["rejected"] == 50 and summary["failed"] == 0
    assert {e["field"] for e in summary["invalid"]} >= {"profit_amount", "order_timestamp"}
    assert all(e["reason"] for e in summary["invalid"])
    assert summary["verify"]["checked"] == 9_600 and summary["verify"]["matched"] == 9_600
    assert summary["retries"] > 0 and summary["statuses"].get("429")
    # the sidecar holds the 100 invalid rows and the 50 refused by the API, whole
    lines = rejected_path.read_text().splitlines()
    assert len(lines) == 150
    refused = {json.loads(line).get("order_id") for line in lines}
    assert {f"ord_{n:06d}" for n in range(9_800, 9_850)} <= refused

    # the keys never reach logs or XCom
    logged = "".join(capfd.readouterr())
    assert "accepted" in logged and "100 orders are too old and were not sent" in logged
    assert ENRICH_API_KEY not in logged and ORDERS_API_KEY not in logged
    assert ENRICH_API_KEY not in json.dumps(summary)


def test_api_killed_mid_run_then_retry_completes_without_loss_or_double_delivery(
    api: Any,
    airflow_connections: Any,
    load_dag_file: Any,
    airflow_db: Any,
    tmp_path: Path,
    capfd: Any,
) -> None:
    rows = [enrich_row(n) for n in range(3_000)]
    source = tmp_path / "orders.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    api.seed_orders(r["order_id"] for r in rows)
    api.faults = ApiFaults(latency=0.005)
    stopped, restarted = threading.Event(), threading.Event()
    delivered = [0]

    def stop_after_some(kind: str, ids: list[str]) -> None:
        delivered[0] += len(ids)
        if delivered[0] >= 800 and not stopped.is_set():
            stopped.set()
            threading.Thread(target=api.stop).start()

    def restart_when_retrying() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if stopped.is_set() and ti_state("wm_enrich_kill") == "up_for_retry":
                api.start()
                restarted.set()
                return
            time.sleep(0.05)

    api.delivery_listeners.append(stop_after_some)
    watcher = threading.Thread(target=restart_when_retrying, daemon=True)
    watcher.start()
    dag = load_dag_file(
        dag_source(
            "wm_enrich_kill",
            source=repr(str(source)),
            batch_size=50,
            max_workers=2,
            retry_for=1,  # simulated: the first try gives up on the stopped API at once
            retries=1,
        ),
        "wm_enrich_kill",
    )
    try:
        run = run_hour(dag, HOUR)
    finally:
        api.delivery_listeners.clear()
        if not api.running:
            api.start()
    watcher.join(timeout=5)
    assert stopped.is_set() and restarted.is_set()
    assert run.state == "success"
    assert run.get_task_instance("enrich").try_number == 2
    summary = xcom_return(run, "enrich")
    assert summary["already_applied"] >= 800 and summary["failed"] == 0
    assert summary["already_applied"] + summary["accepted"] == 3_000
    state = api.enriched()
    assert len(state) == 3_000
    deliveries = api.delivery_counts()
    assert len(deliveries) == 3_000 and set(deliveries.values()) == {1}  # none lost, none twice
    logged = "".join(capfd.readouterr())
    assert "could not be delivered" in logged and "already applied by an earlier try" in logged
    assert ENRICH_API_KEY not in logged


def test_bad_key_fails_with_a_clear_401_and_never_shows_the_key(
    api: Any,
    clock: SimClock,
    sandbox: Any,
    airflow_connections: Any,
    load_dag_file: Any,
    airflow_db: Any,
    monkeypatch: pytest.MonkeyPatch,
    capfd: Any,
) -> None:
    from workmagic_provider.hooks.api import WorkMagicApiAuthError
    from workmagic_provider.operators.enrich import EnrichOrdersOperator

    wrong = "wm-enrich-key-typo-5b0e7d"
    conn = sandbox.connection_dicts()["workmagic_default"]
    conn["password"] = wrong
    monkeypatch.setenv("AIRFLOW_CONN_WORKMAGIC_DEFAULT", json.dumps(conn))
    rows = [enrich_row(n) for n in range(300)]
    api.seed_orders(r["order_id"] for r in rows)

    operator = EnrichOrdersOperator(task_id="enrich", rows=rows, clock=clock)
    with pytest.raises(WorkMagicApiAuthError) as raised:
        operator.execute(CONTEXT)
    message = str(raised.value)
    assert "401 Unauthorized" in message and "'workmagic_default'" in message
    assert "Enrich Order API" in message and wrong not in message

    dag = load_dag_file(
        dag_source("wm_enrich_bad_key", rows=repr(rows[:5]), retries=0), "wm_enrich_bad_key"
    )
    run = run_hour(dag, HOUR)
    assert run.state == "failed"
    logged = "".join(capfd.readouterr())
    assert "401 Unauthorized" in logged
    assert wrong not in logged and ENRICH_API_KEY not in logged
    assert not api.enriched()


def test_dry_run_validates_and_counts_without_sending(
    api: Any, airflow_connections: Any, load_dag_file: Any, airflow_db: Any
) -> None:
    rows = [enrich_row(n) for n in range(20)] + [enrich_row(99, sales_amount="n/a")]
    rows.append(enrich_row(50, at=HOUR - timedelta(days=29)))
    dag = load_dag_file(
        dag_source("wm_enrich_dry", rows=repr(rows), dry_run=True, on_invalid="'skip'"),
        "wm_enrich_dry",
    )
    run = run_hour(dag, HOUR)
    assert run.state == "success"
    summary = xcom_return(run, "enrich")
    assert summary["dry_run"] and summary["would_send"] == 20 and summary["too_old"] == 1
    assert summary["rows_invalid"] == 1 and summary["invalid"][0]["field"] == "sales_amount"
    assert not api.requests  # nothing sent


def test_invalid_rows_fail_the_task_before_anything_is_sent_by_default(
    api: Any, airflow_connections: Any
) -> None:
    from workmagic_provider.exceptions import WorkMagicValidationError
    from workmagic_provider.operators.enrich import EnrichOrdersOperator

    rows = [enrich_row(1), enrich_row(2, profit_amout=3.0)]
    operator = EnrichOrdersOperator(task_id="enrich", rows=rows)
    with pytest.raises(WorkMagicValidationError) as raised:
        operator.execute(CONTEXT)
    assert "profit_amout" in str(raised.value)
    assert not api.requests


def test_push_orders_operator_sends_custom_site_orders(
    api: Any, clock: SimClock, airflow_connections: Any, tmp_path: Path
) -> None:
    from workmagic_provider.operators.enrich import PushOrdersToWorkMagicOperator
    from workmagic_sandbox.sample_data import custom_site_orders

    rows = list(custom_site_orders(250, hour=HOUR))
    rows[10] = {**rows[10], "total_price": "not a price"}
    api.faults = ApiFaults(error_rate=0.2, seed=2)
    operator = PushOrdersToWorkMagicOperator(
        task_id="push",
        rows=rows,
        on_invalid="skip",
        rejected_path=str(tmp_path / "rejected.jsonl"),
        clock=clock,
    )
    context: Any = {"data_interval_start": HOUR, "data_interval_end": HOUR + timedelta(hours=1)}
    summary = operator.execute(context)
    assert summary["api"] == "orders" and summary["accepted"] == 249
    assert summary["rows_invalid"] == 1 and summary["invalid"][0]["field"] == "total_price"
    stored = api.custom_orders()
    assert len(stored) == 249 and rows[10]["id"] not in stored
    assert set(api.delivery_counts("orders").values()) == {1}
    assert (tmp_path / "rejected.jsonl").read_text().count("\n") == 1


def test_backfill_of_hours_older_than_4_weeks_sends_nothing_and_says_why(
    api: Any,
    airflow_connections: Any,
    orders_db_conn: Any,
    load_dag_file: Any,
    airflow_db: Any,
    capfd: Any,
) -> None:
    # today is 60 days after HOUR: a backfill of HOUR and the hour after it
    clocks.CURRENT = SimClock(start=NOW + timedelta(days=60))
    hours = [HOUR, HOUR + timedelta(hours=1)]
    rows = [enrich_row(n, at=hours[n % 2] + timedelta(minutes=n % 60)) for n in range(40)]
    orders_db_conn(rows, [stamp(hours[n % 2] + timedelta(minutes=n % 60)) for n in range(40)])
    api.seed_orders(r["order_id"] for r in rows)
    dag = load_dag_file(
        dag_source(
            "wm_enrich_old_backfill",
            source_conn_id=repr(SOURCE_CONN_ID),
            sql=repr(SQL),
            lookback="timedelta(0)",
            retries=0,
        ),
        "wm_enrich_old_backfill",
    )
    for hour in hours:
        run = run_hour(dag, hour)
        assert run.state == "success"  # nothing went wrong: WorkMagic would not apply them
        summary = xcom_return(run, "enrich")
        assert summary["too_old"] == 20 and summary["accepted"] == 0
        assert summary["requests"] == 0
        assert {p["outcome"] for p in summary["not_accepted"]} == {"too_old"}
        assert "older than 4 weeks" in summary["not_accepted"][0]["reason"]
    assert not api.delivery_counts() and not [r for r in api.requests if r.method == "POST"]
    logged = "".join(capfd.readouterr())
    assert "20 orders are too old and were not sent" in logged
    assert "WorkMagic does not apply orders older than 4 weeks" in logged
    assert "send_orders_older_than_4_weeks=True" in logged


def test_orders_older_than_4_weeks_are_sent_when_the_user_opts_in(
    api: Any, airflow_connections: Any
) -> None:
    from workmagic_provider.operators.enrich import EnrichOrdersOperator

    rows = [enrich_row(n) for n in range(30)]
    api.seed_orders(r["order_id"] for r in rows)
    api.max_age = timedelta(days=365)  # WorkMagic support agreed to apply older orders
    later = SimClock(start=NOW + timedelta(days=60))
    try:
        summary = EnrichOrdersOperator(
            task_id="enrich", rows=rows, send_orders_older_than_4_weeks=True, clock=later
        ).execute(CONTEXT)
    finally:
        api.max_age = timedelta(days=28)
    assert summary["accepted"] == 30 and summary["too_old"] == 0 and summary["cutoff"] is None
    assert len(api.delivery_counts()) == 30


def test_refunds_negative_sales_and_profit_are_enriched(
    api: Any, clock: SimClock, airflow_connections: Any
) -> None:
    from workmagic_provider.operators.enrich import EnrichOrdersOperator

    rows = [enrich_row(n, sales_amount=-(n + 1.5), profit_amount=-(n + 2.0)) for n in range(10)]
    api.seed_orders(r["order_id"] for r in rows)
    summary = EnrichOrdersOperator(task_id="enrich", rows=rows, clock=clock).execute(CONTEXT)
    assert summary["accepted"] == 10 and summary["rows_invalid"] == 0
    assert api.enriched()["ord_000003"]["sales_amount"] == -4.5


def test_skip_mode_fails_when_most_rows_are_rejected_and_sends_nothing(
    api: Any, clock: SimClock, airflow_connections: Any
) -> None:
    from workmagic_provider.operators.enrich import EnrichOrdersOperator
    from workmagic_provider.rejections import WorkMagicRejectedError

    rows = [enrich_row(n, sales_amount="n/a") for n in range(6)] + [enrich_row(9)]
    api.seed_orders(r["order_id"] for r in rows)
    operator = EnrichOrdersOperator(task_id="enrich", rows=rows, on_invalid="skip", clock=clock)
    with pytest.raises(WorkMagicRejectedError, match="6 of 7 rows were rejected"):
        operator.execute(CONTEXT)
    assert not api.requests  # failed before sending anything
    tolerant = EnrichOrdersOperator(
        task_id="enrich", rows=rows, on_invalid="skip", max_rejected_fraction=0.9, clock=clock
    )
    assert tolerant.execute(CONTEXT)["accepted"] == 1
