"""Hourly sync of your own GCS bucket's hour folders into WorkMagic's bucket (GCS option 2)."""

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
from workmagic_provider.operators.gcs import GCSSyncToWorkMagicOperator

DOC = """
### WorkMagic: sync your GCS bucket hourly

Each run copies `gs://<source bucket>/<prefix>YYYY/MM/DD/HH/` of its data interval's hour into
`gs://workmagic-inbound-data/account-<id>/<category>/YYYY/MM/DD/HH/`, skipping unchanged files
and re-splitting files of 1.5 MB or more.

**One-time setup**
1. In WorkMagic: Settings > Sales channels > Store data settings > Upload order data > Google
   Cloud Storage. Share the service account your `google_cloud_default` connection uses.
2. Create an Airflow connection `workmagic_default` of type **WorkMagic** with `cloud` = `gcs`,
   `account_id`, `data_category`, `service_account_email`.
3. Set the Variable `workmagic_source_bucket` (and optionally `workmagic_source_prefix`).
"""

#: The first hour this DAG delivers: set it to the hour you switch the DAG on. With
#: catchup=True every hour since then is delivered, those missed while it was down included.
START = datetime(2026, 12, 1, tzinfo=timezone.utc)

with DAG(
    dag_id="workmagic_gcs_sync_hourly",
    schedule=hourly_timetable(),
    start_date=START,
    catchup=True,
    **hourly_dag_kwargs(
        DOC,
        params=workmagic_params(
            source_bucket=optional_param("overrides the Variable"),
            source_prefix=optional_param("overrides the Variable"),
            source_conn_id=optional_param("default: workmagic gcp_conn_id"),
        ),
    ),
) as dag:
    deliver = GCSSyncToWorkMagicOperator(
        task_id="sync_hour",
        workmagic_conn_id="{{ params.workmagic_conn_id }}",
        source_bucket=param_or_variable("source_bucket", "workmagic_source_bucket"),
        source_prefix=param_or_variable("source_prefix", "workmagic_source_prefix"),
        source_conn_id=param_or_variable("source_conn_id", "workmagic_source_conn_id"),
    )
    deliver >> missed_hours_check()
