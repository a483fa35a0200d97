"""Hourly refresh of an imported channel's Google Sheet from day-to-date sales files."""

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
from workmagic_provider.operators.sheets import ImportedSalesToGoogleSheetOperator

DOC = """
### WorkMagic: imported channel via Google Sheets

WorkMagic syncs the **first tab** of one Google Sheet every hour, the whole sheet each time
(imported channels only). Each run of this DAG reads the day's sales file of the run's day
(`<sales root>/YYYY-MM-DD.csv`; CSV, Excel or JSON Lines, with WorkMagic's sheet labels or
field names as headers), validates every row against the imported schema and replaces the first
tab's content, header first. Imported rows are daily facts: the file holds the day to date, and
each hourly run rewrites the whole day (a later row with the same primary key replaces the
earlier one). More than 99,998 rows are refused with guidance to aggregate or split.

**One-time setup**: share the sheet with the Google identity of `google_cloud_default` (editor),
set the Variables `workmagic_sheet_id` and `workmagic_sales_root`.
"""

#: The first hour this DAG delivers: set it to the hour you switch the DAG on. With
#: catchup=True every hour since then is delivered, those missed while it was down included.
START = datetime(2026, 12, 1, tzinfo=timezone.utc)

with DAG(
    dag_id="workmagic_imported_sheet",
    schedule=hourly_timetable(),
    start_date=START,
    catchup=True,
    **hourly_dag_kwargs(
        DOC,
        params=workmagic_params(
            spreadsheet_id=optional_param("overrides the Variable"),
            sales_root=optional_param("overrides the Variable"),
        ),
        max_active_runs=1,  # one writer per sheet
    ),
) as dag:
    deliver = ImportedSalesToGoogleSheetOperator(
        task_id="refresh_sheet",
        spreadsheet_id=param_or_variable("spreadsheet_id", "workmagic_sheet_id"),
        source=param_or_variable("sales_root", "workmagic_sales_root")
        + "/{{ data_interval_start.strftime('%Y-%m-%d') }}.csv",
        header="labels",
        on_invalid="fail",
        # empty: Google's API; the sandbox sets this Variable to its loopback stand-in
        api_endpoint="{{ var.value.get('workmagic_sheets_api_endpoint', '') }}",
    )
    deliver >> missed_hours_check()
