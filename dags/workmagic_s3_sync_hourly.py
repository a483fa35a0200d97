"""Hourly sync of your own S3 bucket's hour folders into WorkMagic's bucket (S3 option 2)."""

from __future__ import annotations

from datetime import datetime, timezone

from airflow.sdk import DAG

from workmagic_provider.example_defaults import (
    hourly_dag_kwargs,
    hourly_timetable,
    missed_hours_check,
    optional_param,
    param_or_variable,
    workmagic_params,
)
from workmagic_provider.operators.s3 import S3SyncToWorkMagicOperator

DOC = """
### WorkMagic: sync your S3 bucket hourly

Each run copies `s3://<source bucket>/<prefix>YYYY/MM/DD/HH/` of its data interval's hour into
`s3://workmagic-inbound-data/account-<id>/<category>/YYYY/MM/DD/HH/`. Unchanged files are
skipped (a re-run moves 0 bytes); files of 1.5 MB or more are re-split into compliant parts.

**One-time setup**
1. In WorkMagic: Settings > Sales channels > Store data settings > Upload order data >
   Amazon S3. Paste the ARN of the IAM user whose keys your `aws_default` connection holds.
2. Copy WorkMagic's IAM role, External ID, bucket and your account id / path into an Airflow
   connection `workmagic_default` of type **WorkMagic** (fields `role_arn`, `external_id`,
   `account_id`, `data_category`).
3. Set the Variable `workmagic_source_bucket` (optionally `workmagic_source_prefix`, and
   `workmagic_source_conn_id` when another AWS connection reads your bucket).

**Backfill** a missed range from the UI (Trigger > Backfill) or
`airflow backfill create --dag-id workmagic_s3_sync_hourly --from-date ... --to-date ...`.
"""

#: The first hour this DAG delivers: set it to the hour you switch the DAG on. With
#: catchup=True every hour since then is delivered, those missed while it was down included.
START = datetime(2026, 12, 1, tzinfo=timezone.utc)

with DAG(
    dag_id="workmagic_s3_sync_hourly",
    schedule=hourly_timetable(),
    start_date=START,
    catchup=True,
    **hourly_dag_kwargs(
        DOC,
        params=workmagic_params(
            source_bucket=optional_param("overrides the Variable"),
            source_prefix=optional_param("overrides the Variable"),
            source_conn_id=optional_param("default: workmagic aws_conn_id"),
        ),
    ),
) as dag:
    deliver = S3SyncToWorkMagicOperator(
        task_id="sync_hour",
        workmagic_conn_id="{{ params.workmagic_conn_id }}",
        source_bucket=param_or_variable("source_bucket", "workmagic_source_bucket"),
        source_prefix=param_or_variable("source_prefix", "workmagic_source_prefix"),
        source_conn_id=param_or_variable("source_conn_id", "workmagic_source_conn_id"),
    )
    deliver >> missed_hours_check()
