"""OpenLineage of the API operators, run against the sandbox's API over real HTTP: the SQL
connection's table (or nothing, for XCom rows) -> the endpoint the orders were posted to."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from clocks import SimClock

from .conftest import HOUR, NOW, SOURCE_CONN_ID, enrich_row

pytestmark = pytest.mark.integration

CONTEXT: Any = {"data_interval_start": HOUR, "data_interval_end": HOUR + timedelta(hours=1)}
SQL = (
    "SELECT order_id, order_timestamp, sales_amount, profit_amount, currency FROM enrich_orders "
    "WHERE updated_at >= '{{ workmagic_window_start }}' "
    "AND updated_at < '{{ workmagic_window_end }}'"
)


def _names(datasets: Any) -> list[tuple[str, str]]:
    return [(d.namespace, d.name) for d in datasets]


def _api_namespace(api: Any) -> str:
    return f"http://127.0.0.1:{api.port}"


def test_enrich_from_sql_names_the_table_and_the_endpoint(
    api: Any, airflow_connections: Any, orders_db_conn: Any
) -> None:
    from workmagic_provider.operators.enrich import EnrichOrdersOperator

    rows = [enrich_row(n) for n in range(3)]
    api.seed_orders(r["order_id"] for r in rows)
    db = orders_db_conn(rows, ["2026-03-08T02:30:00Z"] * 3)
    operator = EnrichOrdersOperator(
        task_id="enrich", sql=SQL, source_conn_id=SOURCE_CONN_ID, clock=SimClock(start=NOW)
    )
    operator.render_template_fields(dict(CONTEXT))
    summary = operator.execute(CONTEXT)
    assert summary["accepted"] == 3

    lineage = operator.get_openlineage_facets_on_complete(None)

    # sqlite's hook gives OpenLineage no namespace: the connection's type and host name it
    assert _names(lineage.inputs) == [(f"sqlite://{db}", "enrich_orders")]
    assert _names(lineage.outputs) == [(_api_namespace(api), "/enrich/orders")]


def test_push_orders_from_xcom_rows_names_only_the_endpoint(
    api: Any, airflow_connections: Any
) -> None:
    from workmagic_provider.operators.enrich import PushOrdersToWorkMagicOperator
    from workmagic_sandbox.sample_data import custom_site_orders

    rows = list(custom_site_orders(3, hour=HOUR))
    operator = PushOrdersToWorkMagicOperator(task_id="push", rows=rows)
    operator.execute(CONTEXT)

    lineage = operator.get_openlineage_facets_on_complete(None)

    assert lineage.inputs == []
    assert _names(lineage.outputs) == [(_api_namespace(api), "/api/orders")]


def test_dry_run_sent_nothing_so_names_no_output(api: Any, airflow_connections: Any) -> None:
    from workmagic_provider.operators.enrich import EnrichOrdersOperator

    operator = EnrichOrdersOperator(
        task_id="enrich", rows=[enrich_row(1)], dry_run=True, clock=SimClock(start=NOW)
    )
    operator.execute(CONTEXT)

    assert operator.get_openlineage_facets_on_complete(None).outputs == []
