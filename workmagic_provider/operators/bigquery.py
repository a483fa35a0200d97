"""BigQuery exports one hour of orders; every row is validated on its way into WorkMagic's folder.

The flow (WorkMagic's BigQuery method, with the defects of its sample fixed):

1. the hour folder and window ``[data_interval_start - lookback, data_interval_end)`` come from
   the data interval; the window travels as ``TIMESTAMP`` query parameters; the job's
   ``location`` is the source dataset's unless given;
2. one aggregate query checks the whole window (NULL required fields, ranges, duplicate keys,
   ``updated_at`` outside the window) and stops the task before anything is exported;
3. ``EXPORT DATA OPTIONS(uri='gs://<staging>/YYYY-MM-DD-HH/<export id>/bigquery-*.json.gz')``
   runs under a job id per (DAG, task, hour, configuration, attempt): a retry finds the job it
   submitted while that job is still running and reattaches; once it has finished, the next
   try exports again (WorkMagic keeps the latest upload). ``deferrable=True`` waits in the
   triggerer;
4. BigQuery's JSON export writes INT64 as strings and TIMESTAMP as ``2026-03-08 01:30:00 UTC``,
   and cannot cap file sizes. So the staged files are read through the shared upload pipeline:
   every row validated, re-serialised (numbers as numbers, ``Z`` timestamps) and written as
   size-capped parts of this run's generation into the hour folder; the folder is then settled
   (older runs' parts removed; this run's withdrawn if a newer complete run is there; without
   delete rights: reported, not failed), and the hour's earlier staged exports deleted.

The job runs as the identity of the Google Cloud connection (or ``impersonation_chain``); the
worker writes the parts with the same connection: register that service account with WorkMagic
(Upload order data > BigQuery / Google Cloud Storage).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from workmagic_provider.exceptions import MissingExtraError, WorkMagicConfigError, WorkMagicError
from workmagic_provider.operators.warehouse import WarehouseToWorkMagicOperator
from workmagic_provider.standards import DEFAULT_MAX_PART_BYTES, hour_stamp

if TYPE_CHECKING:
    from airflow.providers.google.cloud.hooks.bigquery import BigQueryHook
    from airflow.sdk import Context

    from workmagic_provider.hooks.workmagic import WorkMagicHook
    from workmagic_provider.standards import HourFolder
    from workmagic_provider.stores import GCSStore

_JOB_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
#: BigQuery's JSON text of a TIMESTAMP (``2026-03-08 01:30:00[.ffffff] UTC``), as a JSON string.
_BQ_TIMESTAMP = re.compile(rb'"(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d(?:\.\d{1,9})?) UTC"')
#: A finished export with this many later exports of the same hour is not looked for further.
MAX_ATTEMPTS = 1000


def export_key(dag_id: str, task_id: str, hour: datetime, configuration: dict[str, Any]) -> str:
    """``airflow_{dag}_{task}_{YYYY-MM-DD-HH}_{hash}``: every try of that hour and setting."""
    digest = hashlib.md5(
        json.dumps(configuration, sort_keys=True).encode(), usedforsecurity=False
    ).hexdigest()
    text = f"airflow_{dag_id}_{task_id}_{hour_stamp(hour)}_{digest}"
    return _JOB_ID_UNSAFE.sub("_", text)[:1000]


def normalise_bigquery_line(line: bytes) -> bytes:
    """Rewrite BigQuery's ``... UTC`` timestamp strings as ISO-8601 ``...Z`` (INT64 strings
    need nothing here: the schemas read numeric strings and write numbers)."""
    return _BQ_TIMESTAMP.sub(rb'"\1T\2Z"', line)


class _DeleteTolerantSink:
    """A part sink whose deletes may be refused (WorkMagic's role without delete rights).

    The new parts are delivered either way, so a refused delete of a stale part is recorded
    (and reported) instead of failing a task whose retry would export again.
    """

    def __init__(self, sink: Any) -> None:
        self.sink = sink
        self.refused: set[str] = set()

    def put(self, name: str, data: bytes) -> str:
        return self.sink.put(name, data)  # type: ignore[no-any-return]

    def names(self) -> list[str]:
        return self.sink.names()  # type: ignore[no-any-return]

    def delete(self, name: str) -> None:
        from google.api_core.exceptions import Forbidden

        try:
            self.sink.delete(name)
        except Forbidden:
            self.refused.add(name)


@dataclass(frozen=True)
class _Plan:
    folder: HourFolder
    bounds: tuple[datetime, datetime]
    select: str
    params: list[dict[str, Any]]
    key: str  # the export key: job ids and staging folders are "{key}_{attempt}"


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
    :param deferrable: wait for the job in the triggerer.
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

    def __init__(
        self,
        *,
        staging_uri: str | None = None,
        project_id: str | None = None,
        location: str | None = None,
        impersonation_chain: str | Sequence[str] | None = None,
        deferrable: bool = False,
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
        self.deferrable = deferrable
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

    @staticmethod
    def _query_config(query: str, params: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "query": {
                "query": query,
                "useLegacySql": False,
                "parameterMode": "NAMED",
                "queryParameters": params,
            }
        }

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
    ) -> _Plan:
        from workmagic_provider.warehouse.bigquery_sql import bigquery_query_parameters

        folder = self.hour_folder(hook, context)
        bounds = self.window(context)
        select = self._select()
        params = bigquery_query_parameters(bounds)
        setting = {
            "select": select,
            "params": params,
            "project": project_id,
            "location": self.location or None,
            "staging": self._staging(rendering=rendering),
            "destination": f"{hook.settings.bucket}/{folder.prefix}",
        }
        return _Plan(
            folder,
            bounds,
            select,
            params,
            export_key(self.dag_id, self.task_id, folder.hour, setting),
        )

    def _export_config(
        self, plan: _Plan, attempt: int, *, rendering: bool = False
    ) -> dict[str, Any]:
        from workmagic_provider.warehouse.bigquery_sql import (
            bigquery_export_sql,
            bigquery_staging_uri,
        )

        staging = self._staging(rendering=rendering)
        uri = bigquery_staging_uri(staging, plan.folder, f"{plan.key}_{attempt}")
        return self._query_config(bigquery_export_sql(uri, plan.select), plan.params)

    def _checks(self, plan: _Plan) -> tuple[str, list[Any]]:
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

    def _location(self, bq: BigQueryHook, project_id: str) -> str | None:
        """The job's location: given, or the source dataset's (table mode)."""
        if self.location:
            return self.location
        if not self.table:
            return None  # BigQuery runs the query where its tables are
        parts = self.table.strip("`").split(".")
        dataset_project, dataset = (
            (parts[0], parts[1]) if len(parts) == 3 else (project_id, parts[0])
        )
        location = bq.get_dataset(dataset_id=dataset, project_id=dataset_project).location
        self.log.info(
            "location %s: the location of dataset %s.%s", location, dataset_project, dataset
        )
        return str(location) if location else None

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
            "sql": self._export_config(plan, 0, rendering=True)["query"]["query"],
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
        hook = self.workmagic_hook()
        bq = self.bigquery_hook(hook)
        project_id = self.project_id or bq.project_id
        plan = self._plan(hook, context, project_id)
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
        job, reattached = self._submit(bq, plan, project_id, location)
        self.job_id = job.job_id
        state = {
            "reattached": reattached,
            "billed": billed,
            "rows_checked": rows_checked,
            "location": job.location or location,
        }
        if self.deferrable and job.state != "DONE":
            from airflow.providers.google.cloud.triggers.bigquery import BigQueryInsertJobTrigger

            self.defer(
                trigger=BigQueryInsertJobTrigger(
                    conn_id=self._gcp_conn_id(hook),
                    job_id=job.job_id,
                    project_id=project_id,
                    location=job.location or location,
                    poll_interval=self.poll_interval,
                    impersonation_chain=self.impersonation_chain,
                ),
                method_name="execute_complete",
                kwargs={"state": state},
            )
        job.result()
        return self._deliver(context, hook, job, state)

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
        self, bq: BigQueryHook, plan: _Plan, project_id: str, location: str | None
    ) -> tuple[int, int]:
        """One aggregate query over the whole window; raise before any export if a count > 0.

        Returns the rows checked and the bytes the query billed.
        """
        from google.api_core.exceptions import BadRequest

        from workmagic_provider.warehouse.checks import evaluate

        query, checks = self._checks(plan)
        try:
            job: Any = bq.insert_job(
                configuration=self._query_config(query, plan.params),
                project_id=project_id,
                location=location,
                nowait=True,
            )
            rows = [dict(row.items()) for row in job.result()]
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
            "whole-window checks passed over %d rows (%s bytes billed)",
            checked["rows"],
            job.total_bytes_billed,
        )
        return checked["rows"], int(job.total_bytes_billed or 0)

    def _required_fields(self) -> list[Any]:
        from workmagic_provider.warehouse.checks import bigquery_values
        from workmagic_provider.warehouse.fields import schema_fields

        return bigquery_values(schema_fields(self.schema, self.schema_options))

    def _validate_sample(
        self, bq: BigQueryHook, plan: _Plan, project_id: str, location: str | None
    ) -> int:
        from workmagic_provider.warehouse.bigquery_sql import bigquery_sample_sql

        config = self._query_config(
            bigquery_sample_sql(plan.select, self.validate_sample), plan.params
        )
        job: Any = bq.insert_job(
            configuration=config, project_id=project_id, location=location, nowait=True
        )
        self.check_sample(dict(row.items()) for row in job.result())
        return int(job.total_bytes_billed or 0)

    def _submit(
        self, bq: BigQueryHook, plan: _Plan, project_id: str, location: str | None
    ) -> tuple[Any, bool]:
        """Reattach to this hour's export while it runs; after it finished, export again.

        Attempts are ``{key}_0``, ``{key}_1``, ...: the first id BigQuery does not know is
        submitted; a pending or running one is reattached to (a retry after the worker died).
        Two tries submitting the same id at once: BigQuery refuses the second (409), which
        then reattaches to the first.
        """
        from google.api_core.exceptions import Conflict, NotFound

        for attempt in range(MAX_ATTEMPTS):
            job_id = f"{plan.key}_{attempt}"
            try:
                job: Any = bq.get_job(job_id=job_id, project_id=project_id, location=location)
            except NotFound:
                try:
                    job = bq.insert_job(
                        configuration=self._export_config(plan, attempt),
                        job_id=job_id,
                        project_id=project_id,
                        location=location,
                        nowait=True,
                    )
                    return job, False
                except Conflict:
                    job = bq.get_job(job_id=job_id, project_id=project_id, location=location)
            if job.state in ("PENDING", "RUNNING"):
                self.log.info("Reattaching to export job %s (state %s)", job_id, job.state)
                return job, True
            self.log.info("Export job %s finished before (%s); exporting again", job_id, job.state)
        raise WorkMagicError(f"{MAX_ATTEMPTS} exports of this hour exist already ({plan.key})")

    # -- delivery -------------------------------------------------------------------------
    def _deliver(
        self, context: Context, hook: WorkMagicHook, job: Any, state: dict[str, Any]
    ) -> dict[str, Any]:
        """Validate the staged export into the hour folder, prune stale parts, drop staging."""
        from workmagic_provider.files.pipeline import upload_lines
        from workmagic_provider.stores import StorePartSink

        if job.error_result:
            raise WorkMagicError(f"BigQuery export job {job.job_id} failed: {job.error_result}")
        folder = self.hour_folder(hook, context)
        bounds = self.window(context)
        staging, prefix = self.staging_store(hook)
        staged_prefix = f"{prefix}{hour_stamp(folder.hour)}/{job.job_id}/"
        shards = staging.list(staged_prefix)
        destination = self.destination(hook)
        sink = _DeleteTolerantSink(
            StorePartSink(destination, folder.prefix, {"workmagic-flow": "bigquery"})
        )
        result = upload_lines(
            self._staged_lines(staging, [s.key for s in shards]),
            schema=self.schema,
            options=self.schema_options,
            folder=folder,
            flow="bigquery",
            sink=sink,
            max_part_bytes=self.max_part_bytes,
            prune=self.prune_stale,
        )
        keep = {p.name for p in result.parts}
        not_removed = sorted(sink.refused)
        removed = [n for n in result.removed if n not in sink.refused]
        if not_removed:
            self.log.warning(
                "the new parts of %s are delivered, but %d stale part(s) an earlier run left "
                "could not be deleted (no storage.objects.delete on WorkMagic's folder): %s",
                folder.prefix,
                len(not_removed),
                ", ".join(not_removed),
            )
        self._drop_older_staging(staging, f"{prefix}{hour_stamp(folder.hour)}/", staged_prefix)
        staged_bytes = sum(s.size for s in shards)
        summary = {
            "job_id": job.job_id,
            "location": job.location,
            "reattached": bool(state.get("reattached")),
            "destination": destination.uri(folder.prefix),
            "window": [bounds[0].isoformat(), bounds[1].isoformat()],
            "rows_checked": int(state.get("rows_checked") or 0),
            "rows_exported": result.report.rows_total,
            "rows_written": result.rows_written,
            "files": sorted(keep),
            "generation": result.generation,
            "superseded_by": result.superseded_by,
            "bytes": result.bytes_written,
            "staged_files": len(shards),
            "bytes_through_worker": staged_bytes + result.bytes_written,
            "bytes_billed": {**state.get("billed", {}), "export": int(job.total_bytes_billed or 0)},
            "removed_stale": removed,
            "stale_not_removed": not_removed,
        }
        self.log.info(
            "export job %s into %s: %d rows in %d staged files (%d bytes) -> %d parts (%d bytes), "
            "%d stale removed",
            job.job_id,
            summary["destination"],
            summary["rows_exported"],
            len(shards),
            staged_bytes,
            len(keep),
            summary["bytes"],
            len(removed),
        )
        return summary

    @staticmethod
    def _staged_lines(staging: GCSStore, keys: list[str]) -> Iterator[tuple[int, bytes]]:
        """Every staged file's lines, BigQuery's timestamp text rewritten, numbered across files."""
        from workmagic_provider.files.jsonl import iter_lines
        from workmagic_provider.files.sources import maybe_gunzip

        number = 0
        for key in keys:
            with staging.open_read(key) as raw:
                for _, line in iter_lines(maybe_gunzip(raw), staging.uri(key)):
                    number += 1
                    yield number, normalise_bigquery_line(line)

    def _drop_older_staging(self, staging: GCSStore, hour_prefix: str, mine: str) -> None:
        """Delete staged files of this hour's earlier exports; keep this export's own.

        Kept, a retry that reattaches to this job after its files were delivered delivers the
        same rows again instead of an empty folder. The next export of the hour removes them.
        """
        from google.api_core.exceptions import GoogleAPICallError

        older = [
            o.key for o in staging.list(hour_prefix, recursive=True) if not o.key.startswith(mine)
        ]
        try:
            staging.delete(older)
        except GoogleAPICallError as err:
            self.log.warning("staged files of earlier exports were not deleted (%s)", err)
