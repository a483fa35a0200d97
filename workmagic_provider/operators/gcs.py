"""GCS flows: sync your own bucket's hour folders, or upload rows/files, into WorkMagic's bucket."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workmagic_provider.exceptions import MissingExtraError
from workmagic_provider.operators.sync import BaseSyncToWorkMagicOperator
from workmagic_provider.operators.upload import UploadToWorkMagicOperator

if TYPE_CHECKING:
    from workmagic_provider.stores import ObjectStore


class GCSSyncToWorkMagicOperator(BaseSyncToWorkMagicOperator):
    """Mirror ``gs://{source_bucket}/{source_prefix}YYYY/MM/DD/HH/`` into WorkMagic's GCS hour
    folder with your Google connection (the service account you shared with WorkMagic).

    ``source_conn_id`` defaults to the ``workmagic`` connection's ``gcp_conn_id``.
    """

    destination_cloud = "gcs"

    def source_store(self) -> ObjectStore:
        try:
            from airflow.providers.google.cloud.hooks.gcs import GCSHook
        except ImportError as err:
            raise MissingExtraError("apache-airflow-providers-google", "google") from err
        from workmagic_provider.stores import GCSStore

        conn_id = self.source_conn_id or self.workmagic_hook().settings.gcp_conn_id
        return GCSStore(GCSHook(gcp_conn_id=conn_id), self.source_bucket)


class GCSUploadToWorkMagicOperator(UploadToWorkMagicOperator):
    """Validate rows or files and upload them as parts into WorkMagic's GCS hour folder."""

    destination_cloud = "gcs"
