"""The BigQuery jobs of one hour: the whole-window check, the sample, and the export itself.

The export runs under a job id per (DAG, task, hour, configuration, attempt): a retry finds the
job it submitted while that job is still running and reattaches; once it has finished, the next
try exports again under the next attempt number (WorkMagic keeps the latest upload).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from workmagic_provider.exceptions import WorkMagicError
from workmagic_provider.standards import hour_stamp
from workmagic_provider.warehouse.bigquery_sql import bigquery_export_sql, bigquery_staging_uri

if TYPE_CHECKING:
    from airflow.providers.google.cloud.hooks.bigquery import BigQueryHook

    from workmagic_provider.standards import HourFolder

_JOB_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
#: A finished export with this many later exports of the same hour is not looked for further.
MAX_ATTEMPTS = 1000


def export_key(dag_id: str, task_id: str, hour: datetime, configuration: dict[str, Any]) -> str:
    """``airflow_{dag}_{task}_{YYYY-MM-DD-HH}_{hash}``: every try of that hour and setting."""
    digest = hashlib.md5(
        json.dumps(configuration, sort_keys=True).encode(), usedforsecurity=False
    ).hexdigest()
    text = f"airflow_{dag_id}_{task_id}_{hour_stamp(hour)}_{digest}"
    return _JOB_ID_UNSAFE.sub("_", text)[:1000]


@dataclass(frozen=True)
class ExportPlan:
    """One run's export: where, which rows, and the key its job ids and staging folders share."""

    folder: HourFolder
    bounds: tuple[datetime, datetime]
    select: str
    params: list[dict[str, Any]]
    staging: str  # gs://bucket/prefix/ of the staged files
    key: str  # job ids and staging folders are "{key}_{attempt}"

    def export_config(self, attempt: int) -> dict[str, Any]:
        """The ``EXPORT DATA`` job of ``attempt``, into its own staging folder."""
        uri = bigquery_staging_uri(self.staging, self.folder, f"{self.key}_{attempt}")
        return query_config(bigquery_export_sql(uri, self.select), self.params)


def query_config(query: str, params: list[dict[str, Any]]) -> dict[str, Any]:
    """A standard-SQL query job with the window as named parameters."""
    return {
        "query": {
            "query": query,
            "useLegacySql": False,
            "parameterMode": "NAMED",
            "queryParameters": params,
        }
    }


def run_query(
    bq: BigQueryHook, config: dict[str, Any], project_id: str, location: str | None
) -> tuple[list[dict[str, Any]], int]:
    """Run a query job to its end: its rows and the bytes it billed."""
    job: Any = bq.insert_job(
        configuration=config, project_id=project_id, location=location, nowait=True
    )
    rows = [dict(row.items()) for row in job.result()]
    return rows, int(job.total_bytes_billed or 0)


def dataset_location(
    bq: BigQueryHook, table: str, project_id: str, log: logging.Logger | Any
) -> str | None:
    """The location of ``table``'s dataset, where its export job has to run."""
    parts = table.strip("`").split(".")
    dataset_project, dataset = (parts[0], parts[1]) if len(parts) == 3 else (project_id, parts[0])
    location = bq.get_dataset(dataset_id=dataset, project_id=dataset_project).location
    log.info("location %s: the location of dataset %s.%s", location, dataset_project, dataset)
    return str(location) if location else None


def submit_export(
    bq: BigQueryHook,
    plan: ExportPlan,
    project_id: str,
    location: str | None,
    log: logging.Logger | Any,
) -> tuple[Any, bool]:
    """Reattach to this hour's export while it runs; after it finished, export again.

    Attempts are ``{key}_0``, ``{key}_1``, ...: the first id BigQuery does not know is
    submitted; a pending or running one is reattached to (a retry after the worker died).
    Two tries submitting the same id at once: BigQuery refuses the second (409), which
    then reattaches to the first. Returns the job and whether it was reattached to.
    """
    from google.api_core.exceptions import Conflict, NotFound

    for attempt in range(MAX_ATTEMPTS):
        job_id = f"{plan.key}_{attempt}"
        try:
            job: Any = bq.get_job(job_id=job_id, project_id=project_id, location=location)
        except NotFound:
            try:
                job = bq.insert_job(
                    configuration=plan.export_config(attempt),
                    job_id=job_id,
                    project_id=project_id,
                    location=location,
                    nowait=True,
                )
                return job, False
            except Conflict:
                job = bq.get_job(job_id=job_id, project_id=project_id, location=location)
        if job.state in ("PENDING", "RUNNING"):
            log.info("Reattaching to export job %s (state %s)", job_id, job.state)
            return job, True
        log.info("Export job %s finished before (%s); exporting again", job_id, job.state)
    raise WorkMagicError(f"{MAX_ATTEMPTS} exports of this hour exist already ({plan.key})")
