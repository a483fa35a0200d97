"""Hourly BigQuery export of orders into WorkMagic's GCS bucket (WorkMagic "Method 4")."""

from __future__ import annotations

from datetime import datetime, timezone

from airflow.sdk import DAG, Param

from workmagic_provider.example_defaults import (
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

Each run exports the rows whose `updated_at` (a TIMESTAMP) is in `[interval start - 1 hour,
interval end)` with `EXPORT DATA` to
`gs://workmagic-inbound-data/account-<id>/<category>/YYYY/MM/DD/HH/YYYY-MM-DD-HH-bigquery-*.json.gz`;
the window is passed as query parameters. A sample of the same query is validated first; files
of 1.5 MB or more are re-split; a retry reattaches to the job it submitted before.

**One-time setup**
1. Register the service account of your `google_cloud_default` connection (the identity the
   job runs as) with WorkMagic (Upload order data > BigQuery).
2. Set the Variables `workmagic_bigquery_table` (`project.dataset.table`) and optionally
   `workmagic_bigquery_location`, or copy this file and pass `sql=` (a `.sql` file using
   `{{ workmagic_window_start }}` and `{{ workmagic_window_end }}`).

**Review first**: trigger (or backfill) with the param `render_sql` on: the task logs the
exact statements of its hour and returns them in XCom without touching the warehouse.

**Backfill** any range: every hour's window and folder come from its data interval.
"""

#: The first hour this DAG delivers: set it to the hour you switch the DAG on. With
#: catchup=True every hour since then is delivered, those missed while it was down included.
START = datetime(2026, 12, 1, tzinfo=timezone.utc)

with DAG(
    dag_id="workmagic_bigquery_hourly",
    schedule=hourly_timetable(),
    start_date=START,
    catchup=True,
    **hourly_dag_kwargs(
        DOC,
        params=workmagic_params(
            table=optional_param("overrides the Variable"),
            location=optional_param("overrides the Variable"),
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
        location=param_or_variable("location", "workmagic_bigquery_location", "US"),
        render_only="{{ params.render_sql }}",
    )
    deliver >> missed_hours_check()
