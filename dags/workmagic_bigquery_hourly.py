"""Hourly BigQuery export of orders into WorkMagic's GCS bucket (WorkMagic "Method 4")."""

from __future__ import annotations

from datetime import datetime, timezone

from airflow.sdk import DAG, Param

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
from workmagic_provider.operators.bigquery import BigQueryExportToWorkMagicOperator

DOC = """
### WorkMagic: export orders from BigQuery hourly

Each run checks the rows whose `updated_at` (a TIMESTAMP) is in `[interval start - 1 hour,
interval end)` with one aggregate query (NULL required fields, ranges, duplicate ids), exports
them with `EXPORT DATA` into your staging prefix (the window as query parameters), then
validates every row into
`gs://workmagic-inbound-data/account-<id>/<category>/YYYY/MM/DD/HH/YYYY-MM-DD-HH-bigquery-NNNN.json.gz`
(numbers as numbers, `Z` timestamps, parts below 1.5 MB). A retry reattaches to a running job;
a cleared task exports again.

**One-time setup**
1. Register the service account of your `google_cloud_default` connection (the identity the
   job runs as) with WorkMagic (Upload order data > BigQuery).
2. Set the Variables `workmagic_bigquery_table` (`project.dataset.table`),
   `workmagic_bigquery_staging_uri` (`gs://your-bucket/prefix/`, where the export is staged)
   and optionally `workmagic_bigquery_location` (default: the dataset's), or copy this file
   and pass `sql=` (a `.sql` file using `{{ workmagic_window_start }}` and
   `{{ workmagic_window_end }}`).

**Review first**: trigger (or backfill) with the param `render_sql` on: the task logs the
exact statements of its hour and returns them in XCom without touching the warehouse.

**Backfill** any range: every hour's window and folder come from its data interval.
"""

#: The first hour this DAG delivers: set it to the hour you switch the DAG on. With
#: catchup=True every hour since then is delivered, those missed while it was down included.
START = datetime(2026, 12, 1, tzinfo=timezone.utc)

#: Where the delivery task reports each hour it delivered: an event of the asset
#: x-workmagic://{account_id}/{data_category} of the account it wrote to (see the README).
DELIVERED = delivery_alias()

with DAG(
    dag_id="workmagic_bigquery_hourly",
    schedule=hourly_timetable(),
    start_date=START,
    catchup=True,
    **hourly_dag_kwargs(
        DOC,
        params=workmagic_params(
            table=optional_param("overrides the Variable"),
            location=optional_param("default: the dataset's location"),
            staging_uri=optional_param("overrides the Variable"),
            render_sql=Param(
                False, type="boolean", description="log the exact SQL of the run, submit nothing"
            ),
        ),
    ),
) as dag:
    deliver = BigQueryExportToWorkMagicOperator(
        task_id="export_hour",
        workmagic_conn_id="{{ params.workmagic_conn_id }}",
        table=param_or_variable("table", "workmagic_bigquery_table"),
        updated_at_column="updated_at",
        location=param_or_variable("location", "workmagic_bigquery_location"),
        staging_uri=param_or_variable("staging_uri", "workmagic_bigquery_staging_uri"),
        render_only="{{ params.render_sql }}",
        outlets=[DELIVERED],
        post_execute=hour_delivered(DELIVERED),
    )
    deliver >> missed_hours_check()
