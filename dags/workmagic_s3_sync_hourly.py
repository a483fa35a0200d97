"""Hourly sync of your own S3 bucket's hour folders into WorkMagic's bucket (S3 option 2)."""

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
from workmagic_provider.operators.s3 import S3SyncToWorkMagicOperator

DOC = """
### WorkMagic: sync your S3 bucket hourly

Each run delivers `s3://<source bucket>/<prefix>YYYY/MM/DD/HH/` of its data interval's hour
(sub-folders included) into `s3://workmagic-inbound-data/account-<id>/<category>/YYYY/MM/DD/HH/`.
Unchanged files are skipped (a re-run moves 0 bytes); files of 1.5 MB or more are re-split into
compliant parts. When WorkMagic's role may read your bucket, files are copied inside S3 (no byte
passes through the worker); otherwise they are streamed.

**What is delivered** (the task's arguments below)
- Only gzip JSON Lines, which is what WorkMagic reads. Plain JSON Lines (`.jsonl`, `.ndjson`,
  `.json` with one object per line) are gzip-compressed on the way (`plain.jsonl` arrives as
  `plain.jsonl.gz`). Files of sub-folders land directly in the hour folder, `/` becoming `__`
  (`region=eu/orders.json.gz` arrives as `region=eu__orders.json.gz`); `recursive=False` takes
  only the hour folder itself. XCom `delivered` maps each source file to its name at WorkMagic.
- Anything else (CSV, Parquet, `_SUCCESS` markers, empty files, content that is not gzip JSON
  Lines whatever its name) is not copied: `on_foreign_file="skip"` (default) names each file and
  the reason in a WARNING and in XCom (`skipped_files`); `"fail"` fails before writing anything.
- **Empty hour** (nothing WorkMagic can read): `on_empty="warn"` (default) logs a WARNING and
  returns `"empty": true` in XCom, so the run is green but says so; `"fail"` fails the task (its
  retries give a late export time to land); `"skip"` marks the task skipped.
- **Late files:** each run also re-checks the `recheck_hours` hours before its own (default 1),
  so a file that lands in hour H's folder after H's run is delivered by the run of H+1 (XCom
  `rechecked`). Unchanged files cost only a listing.

**One-time setup**
1. In WorkMagic: Settings > Sales channels > Store data settings > Upload order data >
   Amazon S3. Paste the ARN of the IAM user whose keys your `aws_default` connection holds.
2. Copy WorkMagic's IAM role, External ID, bucket and your account id / path into an Airflow
   connection `workmagic_default` of type **WorkMagic** (fields `role_arn`, `external_id_secret`,
   `account_id`, `data_category`).
3. Set the Variable `workmagic_source_bucket` (optionally `workmagic_source_prefix`, and
   `workmagic_source_conn_id` when another AWS connection reads your bucket).

**Backfill** a missed range from the UI (Trigger > Backfill) or
`airflow backfill create --dag-id workmagic_s3_sync_hourly --from-date ... --to-date ...`.
"""

#: The first hour this DAG delivers: set it to the hour you switch the DAG on. With
#: catchup=True every hour since then is delivered, those missed while it was down included.
START = datetime(2026, 12, 1, tzinfo=timezone.utc)

#: Where the delivery task reports each hour it delivered: an event of the asset
#: x-workmagic://{account_id}/{data_category} of the account it wrote to (see the README).
DELIVERED = delivery_alias()

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
        on_empty="warn",
        on_foreign_file="skip",
        recheck_hours=1,
        outlets=[DELIVERED],
        post_execute=hour_delivered(DELIVERED),
    )
    deliver >> missed_hours_check()
