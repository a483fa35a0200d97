"""Hourly Snowflake unload of orders into WorkMagic's S3 bucket (WorkMagic "Method 3")."""

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
from workmagic_provider.operators.snowflake import SnowflakeCopyToWorkMagicOperator

DOC = """
### WorkMagic: unload orders from Snowflake hourly

Each run unloads the rows whose update time is in `[interval start - 1 hour, interval end)`
with `COPY INTO 's3://workmagic-inbound-data/account-<id>/<category>/YYYY/MM/DD/HH/...'`
through your storage integration; no row passes through Airflow. The run's statements share one
session with `TIMEZONE = 'UTC'`; the table's columns are read at run time and written under
WorkMagic's field names (matched ignoring case; ISO `Z` timestamps). One aggregate query checks
the whole window (NULL required fields, ranges, duplicate keys) and a sample is validated before
the unload; parts an earlier run of the hour left behind are removed through a stage.

**One-time setup**
1. `workmagic-provider setup-sql snowflake --conn-id workmagic_default --stage DB.SCHEMA.WORKMAGIC
   --role YOUR_AIRFLOW_ROLE --table DB.SCHEMA.ORDERS` prints `CREATE STORAGE INTEGRATION`,
   `DESC INTEGRATION`, `CREATE STAGE` and the role's GRANTs; run them, and paste
   `STORAGE_AWS_IAM_USER_ARN` from `DESC INTEGRATION` into WorkMagic (Upload order data >
   Snowflake).
2. Set the Variables `workmagic_snowflake_table` (a table with a column per WorkMagic field,
   named like it in any case), `workmagic_snowflake_stage` and optionally
   `workmagic_snowflake_updated_at_column` (a TIMESTAMP column, default `updated_at`), or
   copy this file and pass `sql=` (a `.sql` file that uses `{{ workmagic_window_start }}` and
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
    dag_id="workmagic_snowflake_hourly",
    schedule=hourly_timetable(),
    start_date=START,
    catchup=True,
    **hourly_dag_kwargs(
        DOC,
        params=workmagic_params(
            snowflake_conn_id=Param("snowflake_default", type="string"),
            table=optional_param("overrides the Variable"),
            updated_at_column=optional_param("default: updated_at"),
            stage=optional_param("overrides the Variable"),
            storage_integration=Param("S3_ORDER_EXPORT_TO_WORKMAGIC", type="string"),
            render_sql=Param(
                False, type="boolean", description="log the exact SQL of the run, submit nothing"
            ),
        ),
    ),
) as dag:
    deliver = SnowflakeCopyToWorkMagicOperator(
        task_id="unload_hour",
        workmagic_conn_id="{{ params.workmagic_conn_id }}",
        source_conn_id="{{ params.snowflake_conn_id }}",
        table=param_or_variable("table", "workmagic_snowflake_table"),
        updated_at_column=param_or_variable(
            "updated_at_column", "workmagic_snowflake_updated_at_column", "updated_at"
        ),
        stage=param_or_variable("stage", "workmagic_snowflake_stage"),
        storage_integration="{{ params.storage_integration }}",
        render_only="{{ params.render_sql }}",
        outlets=[DELIVERED],
        post_execute=hour_delivered(DELIVERED),
    )
    deliver >> missed_hours_check()
