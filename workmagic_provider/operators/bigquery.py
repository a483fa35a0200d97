"""BigQuery exports one hour of orders straight into WorkMagic's GCS hour folder.

The flow (WorkMagic's "Method 4", spec 4.6, with its defects fixed - spec 7.6):

1. the hour folder and window ``[data_interval_start - lookback, data_interval_end)`` come from
   the data interval; the window travels as ``TIMESTAMP`` query parameters;
2. ``validate_sample`` rows of the same query are validated with our schemas before anything
   is written (design Decision 16);
3. ``EXPORT DATA OPTIONS(uri='gs://.../HH/YYYY-MM-DD-HH-bigquery-*.json.gz', ...)`` is submitted
   with ``BigQueryHook.insert_job`` under a job id that depends only on (DAG, task, hour,
   configuration): a retry finds the job it submitted before and reattaches instead of
   exporting twice; ``deferrable=True`` waits in the triggerer (the google provider's trigger);
4. post-step: ``EXPORT DATA`` cannot cap file sizes, so any exported file at or over
   ``max_part_bytes`` is re-split with the shared part writer (the only row bytes that pass
   through the worker), and this flow's files of the hour that the export did not write (an
   earlier run's extra shards or parts) are removed.

The job runs as the identity of the Google Cloud connection (or ``impersonation_chain``): that
service account must be registered with WorkMagic (Upload order data > BigQuery).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from workmagic_provider.exceptions import MissingExtraError, WorkMagicError
from workmagic_provider.operators.warehouse import WarehouseToWorkMagicOperator
from workmagic_provider.standards import (
    DEFAULT_MAX_PART_BYTES,
    hour_stamp,
    owned_part_pattern,
)

if TYPE_CHECKING:
    from airflow.providers.google.cloud.hooks.bigquery import BigQueryHook
    from airflow.sdk import Context

    from workmagic_provider.hooks.workmagic import WorkMagicHook
    from workmagic_provider.standards import HourFolder
    from workmagic_provider.stores import GCSStore

_JOB_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def export_job_id(dag_id: str, task_id: str, hour: datetime, configuration: dict[str, Any]) -> str:
    """``airflow_{dag}_{task}_{YYYY_MM_DD_HH}_{hash}``: the same for every try of that hour."""
    digest = hashlib.md5(
        json.dumps(configuration, sort_keys=True).encode(), usedforsecurity=False
    ).hexdigest()
    text = f"airflow_{dag_id}_{task_id}_{hour_stamp(hour)}_{digest}"
    return _JOB_ID_UNSAFE.sub("_", text)[:1024]


class BigQueryExportToWorkMagicOperator(WarehouseToWorkMagicOperator):
    """Export the run's window from BigQuery into WorkMagic's GCS hour folder.

    Give either ``table`` (``[project.]dataset.table`` with a ``TIMESTAMP`` column
    ``updated_at_column``) or ``sql``, a SELECT (or ``.sql`` file) that selects the window
    with ``{{ workmagic_window_start }}``/``{{ workmagic_window_end }}`` (or ``@window_start``/
    ``@window_end``).

    :param source_conn_id: Google Cloud connection that runs the job (default: the workmagic
        connection's ``gcp_conn_id``).
    :param project_id: project billed for the job (default: the connection's project).
    :param location: BigQuery location of the job (e.g. ``US``, ``EU``).
    :param impersonation_chain: service account(s) to impersonate, for the job and the GCS
        post-step.
    :param deferrable: wait for the job in the triggerer.
    :param force_rerun: export again even if a job of this hour and configuration succeeded
        before (the default reuses it: its files are already in place).
    :param max_part_bytes: exported files at or over this size are re-split below it.
    :param schema: schema of the sample validation (``custom-site`` or ``imported``).
    :param validate_sample: rows validated before the export; 0 disables.
    :param prune_stale: remove this flow's files of the hour that this export did not write.
    """

    template_fields: Sequence[str] = (
        *WarehouseToWorkMagicOperator.template_fields,
        "project_id",
        "location",
        "impersonation_chain",
    )
    destination_cloud = "gcs"
    ui_color = "#e8f5e9"

    def __init__(
        self,
        *,
        project_id: str | None = None,
        location: str | None = None,
        impersonation_chain: str | Sequence[str] | None = None,
        deferrable: bool = False,
        poll_interval: float = 4.0,
        force_rerun: bool = False,
        max_part_bytes: int = DEFAULT_MAX_PART_BYTES,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.project_id = project_id
        self.location = location
        self.impersonation_chain = impersonation_chain
        self.deferrable = deferrable
        self.poll_interval = poll_interval
        self.force_rerun = force_rerun
        self.max_part_bytes = max_part_bytes
        self.job_id: str | None = None

    # -- window and SQL -------------------------------------------------------------------
    def window_macros(self, window: tuple[datetime, datetime]) -> dict[str, str]:
        """``{{ workmagic_window_start }}``/``_end`` as ``@window_start``/``@window_end``."""
        from workmagic_provider.sql import window_macros

        return window_macros("bigquery", window)

    def _select(self) -> str:
        from workmagic_provider.sql import bigquery_select

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

    # -- hooks ----------------------------------------------------------------------------
    def bigquery_hook(self, hook: WorkMagicHook) -> BigQueryHook:
        try:
            from airflow.providers.google.cloud.hooks.bigquery import BigQueryHook
        except ImportError as err:
            raise MissingExtraError("apache-airflow-providers-google", "google") from err
        return BigQueryHook(
            gcp_conn_id=self._gcp_conn_id(hook),
            location=self.location,
            impersonation_chain=self.impersonation_chain,
        )

    def _gcp_conn_id(self, hook: WorkMagicHook) -> str:
        return self.source_conn_id or hook.settings.gcp_conn_id

    def gcs_store(self, hook: WorkMagicHook) -> GCSStore:
        from workmagic_provider.stores import GCSStore

        extra = (
            {"impersonation_chain": self.impersonation_chain} if self.impersonation_chain else {}
        )
        return GCSStore(hook.get_gcs_hook(**extra), hook.settings.bucket)

    # -- execution ------------------------------------------------------------------------
    def _configuration(
        self, hook: WorkMagicHook, context: Context, project_id: str
    ) -> tuple[dict[str, Any], str]:
        """The export job's configuration and its deterministic job id (a retry reattaches)."""
        from workmagic_provider.sql import bigquery_export_sql, bigquery_query_parameters

        folder = self.hour_folder(hook, context)
        params = bigquery_query_parameters(self.window(context))
        configuration = self._query_config(
            bigquery_export_sql(folder, hook.settings.bucket, self._select()), params
        )
        job_id = export_job_id(
            self.dag_id,
            self.task_id,
            folder.hour,
            {"configuration": configuration, "location": self.location, "project": project_id},
        )
        return configuration, job_id

    def _connection_project(self, hook: WorkMagicHook) -> str:
        """The project of the Google connection, read without creating credentials."""
        from airflow.sdk import BaseHook

        extra = BaseHook.get_connection(self._gcp_conn_id(hook)).extra_dejson
        return str(extra.get("project") or extra.get("extra__google_cloud_platform__project") or "")

    def _hook_project(self, hook: WorkMagicHook) -> str:
        """The project the hook would use (key file, ADC); empty when no credentials are here."""
        try:
            return str(self.bigquery_hook(hook).project_id or "")
        except Exception:  # render_only must work where the credentials are not
            return ""

    def planned_statements(self, context: Context) -> tuple[str, list[dict[str, Any]]]:
        from workmagic_provider.sql import bigquery_query_parameters, bigquery_sample_sql

        hook = self.workmagic_hook()
        folder = self.hour_folder(hook, context)
        project_id = self.project_id or self._connection_project(hook) or self._hook_project(hook)
        params = bigquery_query_parameters(self.window(context))
        statements: list[dict[str, Any]] = []
        if self.validate_sample:
            sample = bigquery_sample_sql(self._select(), self.validate_sample)
            statements.append({"step": "sample", "sql": sample, "query_parameters": params})
        configuration, job_id = self._configuration(hook, context, project_id)
        export: dict[str, Any] = {
            "step": "export",
            "sql": configuration["query"]["query"],
            "query_parameters": params,
            "job_id": job_id if project_id else None,
            "project": project_id or None,
            "location": self.location,
        }
        if not project_id:
            export["note"] = (
                f"the project (and so the job id) comes from the credentials of connection "
                f"{self._gcp_conn_id(hook)!r}, which could not be read here"
            )
        elif self.force_rerun:
            export["note"] = "force_rerun: a real run appends _<try>_<epoch seconds> to the job id"
        statements.append(export)
        return f"gs://{hook.settings.bucket}/{folder.prefix}", statements

    def run_in_warehouse(self, context: Context) -> dict[str, Any] | None:
        from workmagic_provider.sql import bigquery_query_parameters

        hook = self.workmagic_hook()
        folder = self.hour_folder(hook, context)
        bounds = self.window(context)
        select = self._select()
        params = bigquery_query_parameters(bounds)
        bq = self.bigquery_hook(hook)
        project_id = self.project_id or bq.project_id
        sampled = (
            self._validate_sample(bq, project_id, select, params) if self.validate_sample else 0
        )
        configuration, job_id = self._configuration(hook, context, project_id)
        if self.force_rerun:
            job_id = f"{job_id}_{context['ti'].try_number}_{int(datetime.now().timestamp())}"
        self.log.info(
            "Exporting rows with updated time in [%s, %s) to gs://%s/%s as job %s",
            bounds[0].isoformat(),
            bounds[1].isoformat(),
            hook.settings.bucket,
            folder.prefix,
            job_id,
        )
        job, reattached = self._submit(bq, configuration, job_id, project_id, context)
        self.job_id = job.job_id
        state = {"sampled": sampled, "reattached": reattached}
        if self.deferrable and job.state != "DONE":
            from airflow.providers.google.cloud.triggers.bigquery import BigQueryInsertJobTrigger

            self.defer(
                trigger=BigQueryInsertJobTrigger(
                    conn_id=self._gcp_conn_id(hook),
                    job_id=job.job_id,
                    project_id=project_id,
                    location=self.location or bq.location,
                    poll_interval=self.poll_interval,
                    impersonation_chain=self.impersonation_chain,
                ),
                method_name="execute_complete",
                kwargs={"state": state},
            )
        job.result()
        return self._finish(context, hook, job, state)

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
            location=self.location or bq.location,
        )
        return self._finish(context, hook, job, state or {})

    def _submit(
        self,
        bq: BigQueryHook,
        configuration: dict[str, Any],
        job_id: str,
        project_id: str,
        context: Context,
    ) -> tuple[Any, bool]:
        """Insert the job, or reattach to the job of the same id a previous try submitted."""
        from google.api_core.exceptions import Conflict

        job: Any
        try:
            job = bq.insert_job(
                configuration=configuration,
                job_id=job_id,
                project_id=project_id,
                location=self.location,
                nowait=True,
            )
            return job, False
        except Conflict:
            job = bq.get_job(job_id=job_id, project_id=project_id, location=self.location)
        if job.state in ("PENDING", "RUNNING"):
            self.log.info("Reattaching to job %s (state %s)", job_id, job.state)
            return job, True
        if job.state == "DONE" and not job.error_result:
            self.log.info(
                "Job %s already exported this hour with this configuration; reusing its files "
                "(force_rerun=True exports again)",
                job_id,
            )
            return job, True
        retry_id = f"{job_id}_try{context['ti'].try_number}"
        self.log.info("Job %s ended with %s; submitting %s", job_id, job.error_result, retry_id)
        return self._submit(bq, configuration, retry_id, project_id, context)

    def _validate_sample(
        self, bq: BigQueryHook, project_id: str, select: str, params: list[dict[str, Any]]
    ) -> int:
        """Run the same query with a LIMIT and validate its rows (Decision 16)."""
        from workmagic_provider.sql import bigquery_sample_sql

        config = self._query_config(bigquery_sample_sql(select, self.validate_sample), params)
        job: Any = bq.insert_job(
            configuration=config, project_id=project_id, location=self.location, nowait=True
        )
        return self.check_sample(dict(row.items()) for row in job.result())

    # -- post-step ------------------------------------------------------------------------
    def _finish(
        self, context: Context, hook: WorkMagicHook, job: Any, state: dict[str, Any]
    ) -> dict[str, Any]:
        from workmagic_provider.sql import bigquery_export_name_pattern

        if job.error_result:
            raise WorkMagicError(f"BigQuery export job {job.job_id} failed: {job.error_result}")
        folder = self.hour_folder(hook, context)
        bounds = self.window(context)
        store = self.gcs_store(hook)
        created = job.created
        blobs = [
            b
            for b in store.hook.get_conn().bucket(store.bucket).list_blobs(prefix=folder.prefix)
            if "/" not in b.name[len(folder.prefix) :]
        ]
        owned = owned_part_pattern(folder.hour, "bigquery")
        shard = bigquery_export_name_pattern(folder)
        mine = [b for b in blobs if owned.match(b.name[len(folder.prefix) :])]
        fresh = [b for b in mine if created is None or (b.updated and b.updated >= created)]
        exported = [b for b in fresh if shard.match(b.name[len(folder.prefix) :])]
        keep: set[str] = set()
        resplit: list[dict[str, Any]] = []
        for blob in exported:
            name = blob.name[len(folder.prefix) :]
            if int(blob.size or 0) < self.max_part_bytes:
                keep.add(name)
                self.log.info("exported %s (%d bytes)", store.uri(blob.name), blob.size)
                continue
            parts = self._resplit(store, folder, name, int(blob.size))
            keep.update(p.name for p in parts)
            resplit.append({"source": name, "parts": [p.to_dict() for p in parts]})
        exported_stems = {b.name[len(folder.prefix) :].removesuffix(".json.gz") for b in exported}
        for blob in fresh:  # parts an interrupted earlier post-step of this job already wrote
            name = blob.name[len(folder.prefix) :]
            stem = name.split("-part-", 1)[0]
            if name not in keep and "-part-" in name and stem not in exported_stems:
                keep.add(name)
        gone = keep | {item["source"] for item in resplit}  # re-split sources are deleted
        stale = sorted(
            b.name[len(folder.prefix) :] for b in mine if b.name[len(folder.prefix) :] not in gone
        )
        if stale and self.prune_stale:
            store.delete([folder.prefix + n for n in stale])
            for name in stale:
                self.log.info("removed stale %s", store.uri(folder.prefix + name))
        stats = (job._properties.get("statistics", {}).get("query", {}) or {}).get(
            "exportDataStatistics", {}
        )
        summary = {
            "job_id": job.job_id,
            "location": job.location,
            "reattached": bool(state.get("reattached")),
            "destination": store.uri(folder.prefix),
            "window": [bounds[0].isoformat(), bounds[1].isoformat()],
            "rows_exported": int(stats.get("rowCount") or 0),
            "files": sorted(keep),
            "resplit": resplit,
            "removed_stale": stale if self.prune_stale else [],
            "sample_rows_validated": int(state.get("sampled") or 0),
        }
        self.log.info(
            "export job %s into %s: %d rows, %d files (%d re-split), %d stale removed",
            job.job_id,
            summary["destination"],
            summary["rows_exported"],
            len(keep),
            len(resplit),
            len(summary["removed_stale"]),
        )
        return summary

    def _resplit(self, store: GCSStore, folder: HourFolder, name: str, size: int) -> list[Any]:
        """Re-split one exported file with the shared part writer, then delete it."""
        from workmagic_provider.files.resplit import resplit_stream, split_names

        key = folder.prefix + name
        metadata = {"workmagic-flow": "bigquery", "workmagic-source": name}

        def put(part: str, data: bytes) -> str:
            store.write_bytes(folder.prefix + part, data, metadata)
            return store.uri(folder.prefix + part)

        with store.open_read(key) as raw:
            parts = resplit_stream(
                raw, store.uri(key), split_names(name), put, max_part_bytes=self.max_part_bytes
            )
        store.delete([key])
        self.log.info(
            "re-split %s (%d bytes) into %d parts (%d bytes, %d rows)",
            store.uri(key),
            size,
            len(parts),
            sum(p.bytes for p in parts),
            sum(p.rows for p in parts),
        )
        return parts
