"""Hourly Enrich Order API push: orders updated in the run's window, from a SQL source."""

from __future__ import annotations

from datetime import datetime, timezone

from airflow.sdk import DAG

from workmagic_provider.example_defaults import (
    delivery_alias,
    hour_delivered,
    hourly_dag_kwargs,
    hourly_timetable,
    missed_hours_check,
    optional_param,
    param_or_variable,
    workmagic_params,
)
from workmagic_provider.operators.enrich import EnrichOrdersOperator

DOC = """
### WorkMagic: enrich orders hourly (Enrich Order API)

Each run selects the orders whose sales/profit changed in its window
`[data_interval_start - 1 h, data_interval_end)` from your database and sends them to
`POST /enrich/orders` in batches of 100 (429/5xx/outages retried for up to 2 minutes, bad orders
isolated and reported). Orders older than 4 weeks before *now* are not applied by WorkMagic:
they are counted `too_old` and not sent. Invalid rows are skipped and reported, but the run
fails when more than half of the rows are rejected.
The sent orders are read back with `GET /enrich/orders` and differences are reported.

**One-time setup**
1. In WorkMagic: Settings > Store Data Settings > Enrich Order API > Generate/Copy the API key.
2. Put it as the password of the Airflow connection `workmagic_default` (type **WorkMagic**,
   with your `account_id`).
3. Point `source_conn_id` (param or Variable `workmagic_orders_conn_id`) at your database; any
   SQL connection works (the demo uses a `sqlite` connection whose host is the database file).
   Your table needs `order_id, order_timestamp, sales_amount, profit_amount, currency` and an
   `updated_at` column (ISO-8601 UTC text in the demo).

**Backfill** a missed range from the UI (Trigger > Backfill): each hour selects its own window.
"""

SQL = """
SELECT order_id, order_timestamp, sales_amount, profit_amount, currency
FROM enrich_orders
WHERE updated_at >= '{{ workmagic_window_start }}'
  AND updated_at < '{{ workmagic_window_end }}'
"""

#: The first hour this DAG delivers: set it to the hour you switch the DAG on. With
#: catchup=True every hour since then is delivered, those missed while it was down included.
START = datetime(2026, 12, 1, tzinfo=timezone.utc)

#: Where the delivery task reports each hour it delivered: an event of the asset
#: x-workmagic://{account_id}/{data_category} of the account it wrote to (see the README).
DELIVERED = delivery_alias()

with DAG(
    dag_id="workmagic_enrich_orders_hourly",
    schedule=hourly_timetable(),
    start_date=START,
    catchup=True,
    **hourly_dag_kwargs(
        DOC,
        params=workmagic_params(
            source_conn_id=optional_param("overrides the Variable"),
        ),
    ),
) as dag:
    deliver = EnrichOrdersOperator(
        task_id="enrich_orders",
        workmagic_conn_id="{{ params.workmagic_conn_id }}",
        source_conn_id=param_or_variable(
            "source_conn_id", "workmagic_orders_conn_id", "workmagic_orders_db"
        ),
        sql=SQL,
        on_invalid="skip",
        verify=True,
        outlets=[DELIVERED],
        post_execute=hour_delivered(DELIVERED),
    )
    deliver >> missed_hours_check()
