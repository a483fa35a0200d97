"""Hourly import of order/sales files (CSV, Excel, JSON Lines) landing in a folder or bucket."""

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
from workmagic_provider.operators.files import OrderFileToWorkMagicOperator

DOC = """
### WorkMagic: import files for an imported channel

Each run imports the files that landed for its data interval's hour under
`<landing root>/YYYY/MM/DD/HH/` (a local folder or an `s3://` / `gs://` prefix): CSV (any of
comma, semicolon, tab or pipe), Excel `.xlsx` (first sheet) or JSON Lines, plain or gzip. Headers
may use WorkMagic's sheet labels (`Date Code`, `Platform Type`, ...); money with currency
symbols and thousands separators, ZIP+4 and common date formats are cleaned (counted in the
task's XCom summary). Valid rows are published as `.json.gz` parts into WorkMagic's hour folder
(S3 or GCS, as the `workmagic` connection says); rejected rows are written to your
`rejected root`, never to WorkMagic.

With an import manifest (Variable `workmagic_import_manifest`, a path in your storage), a file
that partly failed can be fixed and dropped into a later hour's folder: only the records that
failed before are sent (`on_duplicate="drop"`).

Imported rows are daily or weekly facts: each file should hold whole days (a later upload of the
same primary key replaces the row).

**One-time setup**: the `workmagic_default` connection, the Variables `workmagic_landing_root`
(where files land), `workmagic_rejected_root` and optionally `workmagic_import_manifest`.
"""

HOUR = "{{ data_interval_start.strftime('%Y/%m/%d/%H') }}"

#: The first hour this DAG delivers: set it to the hour you switch the DAG on. With
#: catchup=True every hour since then is delivered, those missed while it was down included.
START = datetime(2026, 12, 1, tzinfo=timezone.utc)

#: Where the delivery task reports each hour it delivered: an event of the asset
#: x-workmagic://{account_id}/{data_category} of the account it wrote to (see the README).
DELIVERED = delivery_alias()

with DAG(
    dag_id="workmagic_file_import",
    schedule=hourly_timetable(),
    start_date=START,
    catchup=True,
    **hourly_dag_kwargs(
        DOC,
        params=workmagic_params(
            landing_root=optional_param("overrides the Variable"),
            rejected_root=optional_param("overrides the Variable"),
        ),
        max_active_runs=1,  # runs share the import manifest
    ),
) as dag:
    deliver = OrderFileToWorkMagicOperator(
        task_id="import_files",
        workmagic_conn_id="{{ params.workmagic_conn_id }}",
        source=param_or_variable("landing_root", "workmagic_landing_root") + f"/{HOUR}/*",
        schema="imported",
        on_invalid="skip",
        rejected_path=param_or_variable("rejected_root", "workmagic_rejected_root")
        + f"/{HOUR}.jsonl",
        manifest_path="{{ var.value.get('workmagic_import_manifest', '') }}",
        # state on a worker's disk is refused unless every task runs on one machine
        single_machine="{{ var.value.get('workmagic_single_machine', 'false') }}",
        on_duplicate="drop",
        outlets=[DELIVERED],
        post_execute=hour_delivered(DELIVERED),
    )
    deliver >> missed_hours_check()
