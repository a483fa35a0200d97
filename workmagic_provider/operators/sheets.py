"""Imported channels via Google Sheets: validated imported rows -> the first tab of a sheet.

WorkMagic syncs only the first tab of one sheet, the whole sheet every hour, and refuses
100,000 lines or more, so this operator replaces the first tab's
content (header first) and refuses a larger upload with guidance to split it. Rows come from
files (CSV, Excel, JSON Lines, through the same readers as the file import) and/or ``rows``;
with ``aggregate=True`` they are order-level rows that are summed into imported rows by
primary key first (WEEKLY rows keyed by their week start).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from airflow.sdk import BaseOperator

from workmagic_provider.exceptions import (
    WorkMagicConfigError,
    WorkMagicInputError,
    WorkMagicValidationError,
    one_of,
)
from workmagic_provider.operators.base import FailFast
from workmagic_provider.operators.inputs import as_list, as_storage_path
from workmagic_provider.operators.lineage import LineageMixin

if TYPE_CHECKING:
    from airflow.sdk import Context

    from workmagic_provider.operators.lineage import Datasets
    from workmagic_provider.schemas import SchemaOptions, ValidationReport

#: WorkMagic's limit: fewer than 100,000 lines per sheet, the header included.
MAX_SHEET_LINES = 99_999
COLUMNS: tuple[str, ...] = (
    "date_type",
    "date_code",
    "geo_type",
    "geo_code",
    "geo_name",
    "sales_platform",
    "sales_platform_type",
    "country_code",
    "orders",
    "sales",
    "profit",
    "new_customer_orders",
    "new_customer_sales",
)
#: The display labels WorkMagic's own sheet tool writes.
LABELS: dict[str, str] = {
    "date_type": "Date Type",
    "date_code": "Date Code",
    "geo_type": "Geo Type",
    "geo_code": "Geo Code",
    "geo_name": "Geo Name",
    "sales_platform": "Sales Platform",
    "sales_platform_type": "Platform Type",
    "country_code": "Country Code",
    "orders": "Orders",
    "sales": "Sales",
    "profit": "Profit",
    "new_customer_orders": "New Customer Orders",
    "new_customer_sales": "New Customer Sales",
}


#: OpenLineage namespace of Google Sheets (a sheet is named by the path of its URL)
SHEETS_NAMESPACE = "https://docs.google.com"


class ImportedSalesToGoogleSheetOperator(LineageMixin, FailFast, BaseOperator):
    """Replace the first tab of a Google Sheet with validated imported rows.

    :param spreadsheet_id: the sheet WorkMagic syncs (templated).
    :param source: files (CSV, Excel, JSON Lines; paths or URIs, no globs) (templated).
    :param rows: rows as mappings, e.g. an upstream task's XCom (templated).
    :param aggregate: rows are order-level: group by primary key and sum (see
        ``workmagic_provider.files.aggregate``); ``date_type``, ``date_field``, ``timezone`` and
        ``defaults`` (e.g. ``{"sales_platform": "Retail", "sales_platform_type": "SECONDARY",
        "geo_type": "ZIP", "country_code": "US"}``) apply then.
    :param header: ``"fields"`` (``date_code``, default) or ``"labels"`` (``Date Code``).
    :param on_invalid: ``"fail"`` (default) writes nothing if a row is invalid; ``"skip"``.
    :param gcp_conn_id: the Google connection whose identity can edit the sheet.
    :param api_endpoint: another Sheets API base URL (a proxy, or the sandbox's stand-in);
        empty or None means Google's.
    """

    template_fields: Sequence[str] = (
        "spreadsheet_id",
        "source",
        "rows",
        "timezone",
        "gcp_conn_id",
        "api_endpoint",
    )
    ui_color = "#e6f4ea"

    def __init__(
        self,
        *,
        spreadsheet_id: str,
        source: Any = None,
        rows: Any = None,
        aggregate: bool = False,
        date_type: Literal["DAILY", "WEEKLY"] = "DAILY",
        date_field: str = "date",
        timezone: str = "UTC",
        defaults: Mapping[str, Any] | None = None,
        schema_options: SchemaOptions | None = None,
        header: Literal["fields", "labels"] = "fields",
        on_invalid: Literal["fail", "skip"] = "fail",
        gcp_conn_id: str = "google_cloud_default",
        impersonation_chain: str | Sequence[str] | None = None,
        api_endpoint: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if source is None and rows is None:
            raise WorkMagicConfigError(f"task {self.task_id!r}: give source= or rows=")
        one_of("header", header, ("fields", "labels"))
        one_of("on_invalid", on_invalid, ("fail", "skip"))
        self.spreadsheet_id = spreadsheet_id
        self.source = source
        self.rows = rows
        self.aggregate = aggregate
        self.date_type = date_type
        self.date_field = date_field
        self.timezone = timezone
        self.defaults = defaults
        self.schema_options = schema_options
        self.header = header
        self.on_invalid = on_invalid
        self.gcp_conn_id = gcp_conn_id
        self.impersonation_chain = impersonation_chain
        self.api_endpoint = api_endpoint

    # -- rows -----------------------------------------------------------------------------
    def _input_records(self, report: ValidationReport) -> Iterable[tuple[int, Any]]:
        from workmagic_provider.files.readers import InputReader
        from workmagic_provider.files.rows import numbered, numbered_records

        reader = InputReader("imported", report, options=self.schema_options)
        lines = numbered([as_storage_path(path) for path in as_list(self.source)], reader.read)
        while True:
            try:
                row, line = next(lines)
            except StopIteration as stop:
                offset: int = stop.value
                break
            try:
                record = json.loads(line)
            except ValueError:
                report.add(row, "<row>", "not valid JSON", line)
                continue
            yield row, record
        if self.rows is not None:
            yield from numbered_records(self.rows, offset)

    def sheet_rows(self, report: ValidationReport) -> list[list[Any]]:
        """Validated rows as sheet values, in input order (aggregated rows: first seen)."""
        from workmagic_provider.files.aggregate import aggregate_order_rows
        from workmagic_provider.files.unique_keys import validated_unique
        from workmagic_provider.schemas.validate import records_as_json_lines

        records: Iterable[tuple[int, Mapping[str, Any]]] = self._input_records(report)
        if self.aggregate:
            options = self.schema_options
            records = aggregate_order_rows(
                records,
                report,
                date_type=self.date_type,
                date_field=self.date_field,
                week_start=(options.week_start if options else "MONDAY") or "MONDAY",
                timezone=self.timezone,
                defaults=self.defaults,
            )
        values: list[list[Any]] = []
        lines = records_as_json_lines(records, report)
        # each primary key once: the sheet would hold it twice, and WorkMagic keeps one
        valid = validated_unique(lines, "imported", report=report, options=self.schema_options)
        for _, line in valid:
            row = json.loads(line)
            values.append([row.get(c, "") for c in COLUMNS])
            if len(values) >= MAX_SHEET_LINES:
                raise WorkMagicInputError(
                    f"more than {MAX_SHEET_LINES - 1:,} rows for one sheet: WorkMagic syncs "
                    "fewer than 100,000 lines (header included). Aggregate the rows (daily "
                    "or WEEKLY), delete old rows you already synced (WorkMagic keeps synced "
                    "history), or split them: put one chunk in the first tab, press Sync now "
                    "in WorkMagic, then the next chunk"
                )
        report.errors.sort(key=lambda error: error.row)
        return values

    # -- run ------------------------------------------------------------------------------
    def execute(self, context: Context) -> dict[str, Any]:
        from workmagic_provider.schemas import ValidationReport

        report = ValidationReport("imported")
        values = self.sheet_rows(report)
        if not report.ok:
            self.log.warning("%s", report.summary(max_lines=10))
            if self.on_invalid == "fail":
                raise WorkMagicValidationError(report)
        header = [LABELS[c] if self.header == "labels" else c for c in COLUMNS]
        hook = self._hook()
        title = self._first_tab(hook)
        target = "'" + title.replace("'", "''") + "'"
        hook.clear(self.spreadsheet_id, target)
        hook.update_values(
            spreadsheet_id=self.spreadsheet_id,
            range_=f"{target}!A1",
            values=[header, *values],
            value_input_option="RAW",
        )
        self.log.info(
            "wrote %d rows (+ header) to the first tab %r of sheet %s; %d rejected",
            len(values),
            title,
            self.spreadsheet_id,
            report.rows_rejected,
        )
        return {
            "spreadsheet_id": self.spreadsheet_id,
            "tab": title,
            "rows": report.rows_total,
            "rows_written": len(values),
            "rejected": report.rows_rejected,
        }

    def lineage_datasets(self, summary: Mapping[str, Any]) -> Datasets:
        """The files read -> the sheet WorkMagic syncs (named by its URL)."""
        from workmagic_provider.operators.lineage import LineageDataset, uri_datasets

        sheet = LineageDataset(SHEETS_NAMESPACE, f"/spreadsheets/d/{summary['spreadsheet_id']}")
        return uri_datasets(as_list(self.source)), [sheet]

    def _hook(self) -> Any:
        try:
            from airflow.providers.google.suite.hooks.sheets import GSheetsHook
        except ImportError as err:  # pragma: no cover - depends on the installation
            from workmagic_provider.exceptions import MissingExtraError

            raise MissingExtraError("apache-airflow-providers-google", "google") from err
        return GSheetsHook(
            gcp_conn_id=self.gcp_conn_id,
            impersonation_chain=self.impersonation_chain,
            api_endpoint=self.api_endpoint or None,
        )

    def _first_tab(self, hook: Any) -> str:
        sheet = hook.get_spreadsheet(self.spreadsheet_id)
        tabs = sorted(
            (s["properties"] for s in sheet.get("sheets", [])), key=lambda p: p.get("index", 0)
        )
        if not tabs:
            raise WorkMagicInputError(f"sheet {self.spreadsheet_id} has no tab")
        return str(tabs[0]["title"])
