"""S3 flows: sync your own bucket's hour folders, or upload rows/files, into WorkMagic's bucket."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workmagic_provider.exceptions import MissingExtraError
from workmagic_provider.operators.sync import BaseSyncToWorkMagicOperator
from workmagic_provider.operators.upload import UploadToWorkMagicOperator

if TYPE_CHECKING:
    from workmagic_provider.stores import ObjectStore


class S3SyncToWorkMagicOperator(BaseSyncToWorkMagicOperator):
    """Mirror ``s3://{source_bucket}/{source_prefix}YYYY/MM/DD/HH/`` into WorkMagic's S3 hour
    folder: read with your AWS connection, write as WorkMagic's role with the External ID.

    ``source_conn_id`` defaults to the ``workmagic`` connection's ``aws_conn_id``.
    """

    destination_cloud = "s3"

    def source_store(self) -> ObjectStore:
        try:
            from airflow.providers.amazon.aws.hooks.s3 import S3Hook
        except ImportError as err:
            raise MissingExtraError("apache-airflow-providers-amazon", "amazon") from err
        from workmagic_provider.stores import S3Store

        conn_id = self.source_conn_id or self.workmagic_hook().settings.aws_conn_id
        return S3Store(S3Hook(aws_conn_id=conn_id), self.source_bucket)


class S3UploadToWorkMagicOperator(UploadToWorkMagicOperator):
    """Validate rows or files and upload them as parts into WorkMagic's S3 hour folder."""

    destination_cloud = "s3"
