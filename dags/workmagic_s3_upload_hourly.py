"""Hourly upload of exported order files into WorkMagic's S3 bucket (S3 option 1)."""

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
from workmagic_provider.operators.s3 import S3UploadToWorkMagicOperator

DOC = """
### WorkMagic: upload an hourly order export

Each run reads the JSON Lines export of its data interval's hour
(`<export root>/YYYY/MM/DD/HH.jsonl`, local or `s3://`/`gs://`), validates every order against
the custom-site schema, and publishes size-capped `.json.gz` parts into WorkMagic's hour folder
as WorkMagic's role. A re-run of the hour overwrites its own parts; with `on_invalid="fail"`
nothing is published while any row is invalid (the task log names row, field and reason).

**One-time setup**: the `workmagic_default` connection (see the S3 sync DAG), and the Variable
`workmagic_export_root` (where your exports land).
"""

#: The first hour this DAG delivers: set it to the hour you switch the DAG on. With
#: catchup=True every hour since then is delivered, those missed while it was down included.
START = datetime(2026, 12, 1, tzinfo=timezone.utc)

#: Where the delivery task reports each hour it delivered: an event of the asset
#: x-workmagic://{account_id}/{data_category} of the account it wrote to (see the README).
DELIVERED = delivery_alias()

with DAG(
    dag_id="workmagic_s3_upload_hourly",
    schedule=hourly_timetable(),
    start_date=START,
    catchup=True,
    **hourly_dag_kwargs(
        DOC,
        params=workmagic_params(
            export_root=optional_param("overrides the Variable"),
        ),
    ),
) as dag:
    deliver = S3UploadToWorkMagicOperator(
        task_id="upload_hour",
        workmagic_conn_id="{{ params.workmagic_conn_id }}",
        source=(
            param_or_variable("export_root", "workmagic_export_root") + "/"
            "{{ data_interval_start.strftime('%Y/%m/%d/%H') }}.jsonl"
        ),
        schema="custom-site",
        on_invalid="fail",
        outlets=[DELIVERED],
        post_execute=hour_delivered(DELIVERED),
    )
    deliver >> missed_hours_check()
