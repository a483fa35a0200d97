"""Extra links on the task page: the hour folder, the BigQuery job, WorkMagic's settings page.

As in the official providers, ``execute`` persists what a link needs to XCom under the link's
``key`` (:meth:`WorkMagicLink.persist`); when the task finishes, Airflow calls ``get_link`` on
the worker and stores the URL, which the UI then shows. Nothing secret goes into a link.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote, urlencode

from airflow.sdk import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator, Context
    from airflow.sdk.types import TaskInstanceKey

    from workmagic_provider.standards import HourFolder

#: Where a user registers the identity and the bucket with WorkMagic; ``{account_id}`` is
#: filled in. WorkMagic publishes no deep link, so this is configurable.
DEFAULT_SETTINGS_URL = "https://app.workmagic.io/settings/data-sources?account={account_id}"
GOOGLE_CONSOLE = "https://console.cloud.google.com"


class WorkMagicLink(BaseOperatorLink):
    """A link formatted from what ``execute`` persisted to XCom; empty until then."""

    name: ClassVar[str]
    key: ClassVar[str]

    @property
    def xcom_key(self) -> str:
        return f"_link_{self.key}"

    @classmethod
    def persist(cls, context: Context, operator: BaseOperator, **values: Any) -> None:
        """Store the link's values for this try (skipped when the task pushes no XCom, or
        ``execute`` was called without a task instance)."""
        ti = context.get("ti")
        if ti is not None and operator.do_xcom_push:
            ti.xcom_push(key=cls.key, value=values)

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        from airflow.sdk.execution_time.xcom import XCom

        values = XCom.get_value(key=self.key, ti_key=ti_key)
        return self.format_link(values) if isinstance(values, dict) else ""

    def format_link(self, values: dict[str, Any]) -> str:
        raise NotImplementedError


class HourFolderLink(WorkMagicLink):
    """The run's hour folder in the S3 or Google Cloud console."""

    name = "Hour folder"
    key = "workmagic_hour_folder"

    @classmethod
    def persist_folder(
        cls,
        context: Context,
        operator: BaseOperator,
        *,
        cloud: str,
        bucket: str,
        folder: HourFolder,
        region: str | None = None,
    ) -> None:
        cls.persist(
            context, operator, cloud=cloud, bucket=bucket, prefix=folder.prefix, region=region
        )

    def format_link(self, values: dict[str, Any]) -> str:
        bucket, prefix = quote(values["bucket"]), quote(values["prefix"], safe="/")
        if values.get("cloud") == "gcs":
            return f"{GOOGLE_CONSOLE}/storage/browser/{bucket}/{prefix}"
        query = urlencode(
            {"region": values.get("region") or "us-east-1", "prefix": values["prefix"]}
        )
        return f"https://s3.console.aws.amazon.com/s3/buckets/{bucket}?{query}"


class BigQueryJobLink(WorkMagicLink):
    """The export job in the BigQuery console (the google provider's job-detail URL)."""

    name = "BigQuery export job"
    key = "workmagic_bigquery_job"

    def format_link(self, values: dict[str, Any]) -> str:
        project, job, location = (
            quote(str(values.get(k) or "")) for k in ("project_id", "job_id", "location")
        )
        return (
            f"{GOOGLE_CONSOLE}/bigquery?project={project}"
            f"&ws=!1m5!1m4!1m3!1s{project}!2s{job}!3s{location}"
        )


class WorkMagicSettingsLink(WorkMagicLink):
    """WorkMagic's settings page of the account, from ``[workmagic] settings_url``."""

    name = "WorkMagic settings"
    key = "workmagic_settings"

    def format_link(self, values: dict[str, Any]) -> str:
        return settings_url(str(values.get("account_id") or ""))


def settings_url(account_id: str) -> str:
    """``[workmagic] settings_url`` (env ``AIRFLOW__WORKMAGIC__SETTINGS_URL``) for the account."""
    from airflow.configuration import conf

    template = conf.get("workmagic", "settings_url", fallback=DEFAULT_SETTINGS_URL)
    return str(template).replace("{account_id}", quote(account_id))


#: The links of an operator that writes an hour folder.
FOLDER_LINKS: Collection[BaseOperatorLink] = (HourFolderLink(), WorkMagicSettingsLink())
