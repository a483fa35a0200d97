"""BigQuery exports one hour of orders; every row is validated on its way into WorkMagic's folder.

The flow (WorkMagic's BigQuery method, with the defects of its sample fixed):

1. the hour folder and window ``[data_interval_start - lookback, data_interval_end)`` come from
   the data interval; the window travels as ``TIMESTAMP`` query parameters; the job's
   ``location`` is the source dataset's unless given;
2. one aggregate query checks the whole window (NULL required fields, ranges, duplicate keys,
   ``updated_at`` outside the window) and stops the task before anything is exported;
3. ``EXPORT DATA OPTIONS(uri='gs://<staging>/YYYY-MM-DD-HH/<export id>/bigquery-*.json.gz')``
   runs under a job id a retry reattaches to (:mod:`~workmagic_provider.warehouse.bigquery_export`);
   ``deferrable=True`` (default: ``[operators] default_deferrable``) waits in the triggerer;
4. the staged files are validated into the hour folder as size-capped parts and the folder is
   settled (:mod:`~workmagic_provider.warehouse.bigquery_delivery`).

The job runs as the identity of the Google Cloud connection (or ``impersonation_chain``); the
worker writes the parts with the same connection: register that service account with WorkMagic
(Upload order data > BigQuery / Google Cloud Storage).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from workmagic_provider.exceptions import MissingExtraError, WorkMagicConfigError, WorkMagicError
from workmagic_provider.links import FOLDER_LINKS, BigQueryJobLink
from workmagic_provider.operators.warehouse import WarehouseToWorkMagicOperator
from workmagic_provider.standards import DEFAULT_MAX_PART_BYTES

if TYPE_CHECKING:
    from airflow.providers.google.cloud.hooks.bigquery import BigQueryHook
    from airflow.sdk import Context

    from workmagic_provider.hooks.workmagic import WorkMagicHook
    from workmagic_provider.operators.lineage import LineageDataset
    from workmagic_provider.stores import GCSStore
    from workmagic_provider.warehouse.bigquery_export import ExportPlan


def default_deferrable() -> bool:
    """``[operators] default_deferrable``, the default the official google operators read."""
    from airflow.configuration import conf

    return conf.getboolean("operators", "default_deferrable", fallback=False)


class BigQueryExportToWorkMagicOperator(WarehouseToWorkMagicOperator):
    """Export the run's window from BigQuery and deliver it, validated, to WorkMagic's folder.

    Give either ``table`` (``[project.]dataset.table`` with a ``TIMESTAMP`` column
    ``updated_at_column``) or ``sql``, a SELECT (or ``.sql`` file) that selects the window
    with ``{{ workmagic_window_start }}``/``{{ workmagic_window_end }}`` (or ``@window_start``/
    ``@window_end``). Its columns are WorkMagic's field names.

    :param staging_uri: ``gs://your-bucket/prefix/`` where the export is staged before its rows
        are validated into WorkMagic's folder (your bucket, not WorkMagic's).
    :param source_conn_id: Google Cloud connection that runs the job (default: the workmagic
        connection's ``gcp_conn_id``).
    :param project_id: project billed for the job (default: the connection's project).
    :param location: BigQuery location of the job (default: the source dataset's location).
    :param impersonation_chain: service account(s) to impersonate, for the job and GCS.
    :param deferrable: wait for the job in the triggerer (default: Airflow's
        ``[operators] default_deferrable``, as the google provider's operators).
    :param max_part_bytes: size cap of the parts written into WorkMagic's folder.
    :param validate_sample: rows validated before the export; 0 (the default here) because
        every exported row is validated on its way into the folder anyway.
    """

    template_fields: Sequence[str] = (
        *WarehouseToWorkMagicOperator.template_fields,
        "project_id",
        "location",
        "impersonation_chain",
        "staging_uri",
    )
    destination_cloud = "gcs"
    ui_color = "#e8f5e9"
    operator_extra_links = (BigQueryJobLink(), *FOLDER_LINKS)

    def __init__(
        self,
        *,
        staging_uri: str | None = None,
        project_id: str | None = None,
        location: str | None = None,
        impersonation_chain: str | Sequence[str] | None = None,
        deferrable: bool | None = None,
        poll_interval: float = 4.0,
        max_part_bytes: int = DEFAULT_MAX_PART_BYTES,
        validate_sample: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(validate_sample=validate_sample, **kwargs)
        self.staging_uri = staging_uri
        self.project_id = project_id
        self.location = location
        self.impersonation_chain = impersonation_chain
        self.deferrable = default_deferrable() if deferrable is None else deferrable
        self.poll_interval = poll_interval
        self.max_part_bytes = max_part_bytes
        self.job_id: str | None = None

    # -- window and SQL -------------------------------------------------------------------
    def window_macros(self, window: tuple[datetime, datetime]) -> dict[str, str]:
        """``{{ workmagic_window_start }}``/``_end`` as ``@window_start``/``@window_end``."""
        from workmagic_provider.warehouse.bigquery_sql import bigquery_window_macros

        return bigquery_window_macros(window)

    def _select(self) -> str:
        from workmagic_provider.warehouse.bigquery_sql import bigquery_select

        return bigquery_select(
            table=self.table,
            updated_at_column=self.updated_at_column,
            sql=self.sql,
            require_window=self.require_window,
        )

    #: what ``render_only`` shows when ``staging_uri`` is not set yet
    STAGING_PLACEHOLDER = "gs://your-staging-bucket/workmagic/"

    def _staging(self, *, rendering: bool = False) -> str:
        from workmagic_provider.warehouse.bigquery_sql import split_gcs_uri

        if not self.staging_uri and rendering:
            return self.STAGING_PLACEHOLDER
        if not self.staging_uri:
            raise WorkMagicConfigError(
                "staging_uri is required: a gs://bucket/prefix/ of yours where the export is "
                "staged before its rows are validated into WorkMagic's folder"
            )
        bucket, prefix = split_gcs_uri(self.staging_uri, "staging_uri")
        return f"gs://{bucket}/{prefix}"

    def _plan(
        self, hook: WorkMagicHook, context: Context, project_id: str, *, rendering: bool = False
    ) -> ExportPlan:
        from workmagic_provider.warehouse.bigquery_export import ExportPlan, export_key
        from workmagic_provider.warehouse.bigquery_sql import bigquery_query_parameters

        folder = self.hour_folder(hook, context)
        bounds = self.window(context)
        select = self._select()
        params = bigquery_query_parameters(bounds)
        staging = self._staging(rendering=rendering)
        setting = {
            "select": select,
            "params": params,
            "project": project_id,
            "location": self.location or None,
            "staging": staging,
            "destination": f"{hook.settings.bucket}/{folder.prefix}",
        }
        key = export_key(self.dag_id, self.task_id, folder.hour, setting)
        return ExportPlan(folder, bounds, select, params, staging, key)

    def _checks(self, plan: ExportPlan) -> tuple[str, list[Any]]:
        from workmagic_provider.warehouse.checks import bigquery_values, build_checks, check_query
        from workmagic_provider.warehouse.fields import schema_fields
        from workmagic_provider.warehouse.sql_common import checks_sql

        values = bigquery_values(schema_fields(self.schema, self.schema_options))
        checks = build_checks(values, self.schema, "bigquery", ("@window_start", "@window_end"))
        return checks_sql(check_query(checks, plan.select), "bigquery"), checks

    # -- hooks ----------------------------------------------------------------------------
    def bigquery_hook(self, hook: WorkMagicHook, location: str | None = None) -> BigQueryHook:
        try:
            from airflow.providers.google.cloud.hooks.bigquery import BigQueryHook
        except ImportError as err:
            raise MissingExtraError("apache-airflow-providers-google", "google") from err
        return BigQueryHook(
            gcp_conn_id=self._gcp_conn_id(hook),
            location=location or self.location or None,
            impersonation_chain=self.impersonation_chain,
        )

    def _gcp_conn_id(self, hook: WorkMagicHook) -> str:
        return self.source_conn_id or hook.settings.gcp_conn_id

    def _gcs_hook(self, hook: WorkMagicHook) -> Any:
        extra = (
            {"impersonation_chain": self.impersonation_chain} if self.impersonation_chain else {}
        )
        return hook.get_gcs_hook(**extra)

    def destination(self, hook: WorkMagicHook) -> GCSStore:
        from workmagic_provider.stores import GCSStore

        return GCSStore(self._gcs_hook(hook), hook.settings.bucket)

    def staging_store(self, hook: WorkMagicHook) -> tuple[GCSStore, str]:
        from workmagic_provider.stores import GCSStore
        from workmagic_provider.warehouse.bigquery_sql import split_gcs_uri

        bucket, prefix = split_gcs_uri(self._staging(), "staging_uri")
        return GCSStore(self._gcs_hook(hook), bucket), prefix

    def lineage_sources(self, summary: Mapping[str, Any]) -> list[LineageDataset]:
        """``bigquery`` and ``project.dataset.table`` (unqualified names: the job's project)."""
        from workmagic_provider.operators.lineage import table_datasets

        project = summary.get("project") or self.project_id
        return table_datasets(
            "bigquery", table=self.table, sql=self.sql, dialect="bigquery", defaults=(project, None)
        )

    def _location(self, bq: BigQueryHook, project_id: str) -> str | None:
        """The job's location: given, or the source dataset's (table mode)."""
        from workmagic_provider.warehouse.bigquery_export import dataset_location

        if self.location or not self.table:
            return self.location or None  # without a table BigQuery runs where its tables are
        return dataset_location(bq, self.table, project_id, self.log)

    # -- render_only ----------------------------------------------------------------------
    def _connection_project(self, hook: WorkMagicHook) -> str:
        """The project of the Google connection, read without creating credentials."""
        from airflow.sdk import BaseHook

        extra = BaseHook.get_connection(self._gcp_conn_id(hook)).extra_dejson
        return str(extra.get("project") or extra.get("extra__google_cloud_platform__project") or "")

    def planned_statements(self, context: Context) -> tuple[str, list[dict[str, Any]]]:
        from workmagic_provider.warehouse.bigquery_sql import bigquery_sample_sql

        hook = self.workmagic_hook()
        project_id = self.project_id or self._connection_project(hook)
        plan = self._plan(hook, context, project_id, rendering=True)
        check_sql, _checks = self._checks(plan)
        location = self.location or "(the source dataset's location, read at run time)"
        statements: list[dict[str, Any]] = [
            {"step": "checks", "sql": check_sql, "query_parameters": plan.params}
        ]
        if self.validate_sample:
            sample = bigquery_sample_sql(plan.select, self.validate_sample)
            statements.append({"step": "sample", "sql": sample, "query_parameters": plan.params})
        export: dict[str, Any] = {
            "step": "export",
            "sql": plan.export_config(0)["query"]["query"],
            "query_parameters": plan.params,
            "job_id": f"{plan.key}_0" if project_id else None,
            "project": project_id or None,
            "location": location,
            "note": (
                "a later try after this job finished uses _1, _2, ...; the staged rows are then "
                f"validated into gs://{hook.settings.bucket}/{plan.folder.prefix}"
            ),
        }
        if not self.staging_uri:
            export["note"] = (
                f"staging_uri is not set: rendered with {self.STAGING_PLACEHOLDER}; a run "
                "needs it (Variable workmagic_bigquery_staging_uri in the example DAG)"
            )
        if not project_id:
            export["note"] = (
                f"the project (and so the job id) comes from the credentials of connection "
                f"{self._gcp_conn_id(hook)!r}, which could not be read here"
            )
        statements.append(export)
        return f"gs://{hook.settings.bucket}/{plan.folder.prefix}", statements

    # -- a run ----------------------------------------------------------------------------
    def run_in_warehouse(self, context: Context) -> dict[str, Any] | None:
        from workmagic_provider.warehouse.bigquery_export import submit_export

        hook = self.workmagic_hook()
        bq = self.bigquery_hook(hook)
        project_id = self.project_id or bq.project_id
        plan = self._plan(hook, context, project_id)
        self.link_hour_folder(context, hook, plan.folder)
        location = self._location(bq, project_id)
        rows_checked, checks_billed = self._check_window(bq, plan, project_id, location)
        billed = {"checks": checks_billed}
        if self.validate_sample:
            billed["sample"] = self._validate_sample(bq, plan, project_id, location)
        self.log.info(
            "Exporting rows with updated time in [%s, %s) for gs://%s/%s",
            plan.bounds[0].isoformat(),
            plan.bounds[1].isoformat(),
            hook.settings.bucket,
            plan.folder.prefix,
        )
        job, reattached = submit_export(bq, plan, project_id, location, self.log)
        self.job_id = job.job_id
        location = job.location or location
        BigQueryJobLink.persist(
            context, self, project_id=project_id, job_id=job.job_id, location=location
        )
        state = {
            "project": project_id,
            "reattached": reattached,
            "billed": billed,
            "rows_checked": rows_checked,
            "location": location,
        }
        if self.deferrable and job.state != "DONE":
            self._defer(hook, job.job_id, project_id, state)
        job.result()
        return self._deliver(context, hook, job, state)

    def _defer(
        self, hook: WorkMagicHook, job_id: str, project_id: str, state: dict[str, Any]
    ) -> None:
        """Wait for the export in the triggerer; ``execute_complete`` delivers it."""
        from airflow.providers.google.cloud.triggers.bigquery import BigQueryInsertJobTrigger

        self.defer(
            trigger=BigQueryInsertJobTrigger(
                conn_id=self._gcp_conn_id(hook),
                job_id=job_id,
                project_id=project_id,
                location=state["location"],
                poll_interval=self.poll_interval,
                impersonation_chain=self.impersonation_chain,
            ),
            method_name="execute_complete",
            kwargs={"state": state},
        )

    def execute_complete(
        self, context: Context, event: dict[str, Any], state: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        if event.get("status") == "error":
            raise WorkMagicError(f"BigQuery export job failed: {event.get('message')}")
        hook = self.workmagic_hook()
        bq = self.bigquery_hook(hook)
        self.job_id = event["job_id"]
        job = bq.get_job(
            job_id=event["job_id"],
            project_id=self.project_id or bq.project_id,
            location=(state or {}).get("location"),
        )
        return self._deliver(context, hook, job, state or {})

    def _check_window(
        self, bq: BigQueryHook, plan: ExportPlan, project_id: str, location: str | None
    ) -> tuple[int, int]:
        """One aggregate query over the whole window; raise before any export if a count > 0.

        Returns the rows checked and the bytes the query billed.
        """
        from google.api_core.exceptions import BadRequest

        from workmagic_provider.warehouse.bigquery_export import query_config, run_query
        from workmagic_provider.warehouse.checks import evaluate

        query, checks = self._checks(plan)
        try:
            rows, billed = run_query(bq, query_config(query, plan.params), project_id, location)
        except BadRequest as err:
            required = ", ".join(v.field.name for v in self._required_fields())
            raise WorkMagicConfigError(
                f"the whole-window check query failed: {err.message}; the SELECT must have a "
                f"column for each required field ({required})"
            ) from err
        if len(rows) != 1:
            raise WorkMagicError(f"the whole-window check query returned {len(rows)} rows, not 1")
        checked = evaluate(checks, rows[0])
        self.log.info(
            "whole-window checks passed over %d rows (%s bytes billed)", checked["rows"], billed
        )
        return checked["rows"], billed

    def _required_fields(self) -> list[Any]:
        from workmagic_provider.warehouse.checks import bigquery_values
        from workmagic_provider.warehouse.fields import schema_fields

        return bigquery_values(schema_fields(self.schema, self.schema_options))

    def _validate_sample(
        self, bq: BigQueryHook, plan: ExportPlan, project_id: str, location: str | None
    ) -> int:
        from workmagic_provider.warehouse.bigquery_export import query_config, run_query
        from workmagic_provider.warehouse.bigquery_sql import bigquery_sample_sql

        sample = bigquery_sample_sql(plan.select, self.validate_sample)
        rows, billed = run_query(bq, query_config(sample, plan.params), project_id, location)
        self.check_sample(rows)
        return billed

    def _deliver(
        self, context: Context, hook: WorkMagicHook, job: Any, state: dict[str, Any]
    ) -> dict[str, Any]:
        """Validate the staged export into the hour folder; the task's summary."""
        from workmagic_provider.warehouse.bigquery_delivery import deliver_export

        folder = self.hour_folder(hook, context)
        bounds = self.window(context)
        staging, prefix = self.staging_store(hook)
        destination = self.destination(hook)
        delivered = deliver_export(
            job,
            staging=staging,
            staging_prefix=prefix,
            destination=destination,
            folder=folder,
            schema=self.schema,
            options=self.schema_options,
            max_part_bytes=self.max_part_bytes,
            prune=self.prune_stale,
            log=self.log,
        )
        return {
            "job_id": job.job_id,
            "project": state.get("project") or job.project,
            "location": job.location,
            "reattached": bool(state.get("reattached")),
            "destination": destination.uri(folder.prefix),
            "window": [bounds[0].isoformat(), bounds[1].isoformat()],
            "rows_checked": int(state.get("rows_checked") or 0),
            **delivered,
            "bytes_billed": {**state.get("billed", {}), "export": int(job.total_bytes_billed or 0)},
        }
