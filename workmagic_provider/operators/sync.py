"""The sync operator both clouds share ("use your own bucket", WorkMagic's option 2).

For the run's hour it mirrors ``{source_prefix}{YYYY/MM/DD/HH}/`` of the customer's bucket into
WorkMagic's hour folder with :class:`~workmagic_provider.sync.HourSync`. Subclasses only say how
to reach the source bucket (``S3SyncToWorkMagicOperator``, ``GCSSyncToWorkMagicOperator``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from workmagic_provider.operators.base import WorkMagicBaseOperator
from workmagic_provider.standards import DEFAULT_MAX_PART_BYTES, to_utc_hour

if TYPE_CHECKING:
    from airflow.sdk import Context

    from workmagic_provider.schemas import SchemaOptions
    from workmagic_provider.stores import ObjectStore


class BaseSyncToWorkMagicOperator(WorkMagicBaseOperator):
    """Copy one hour folder of the customer's bucket into WorkMagic's hour folder.

    :param source_bucket: the customer's bucket.
    :param source_prefix: prefix before the hour folder, e.g. ``"exports/orders/"`` (templated).
    :param folder_pattern: ``strftime`` pattern of the hour folder under ``source_prefix``,
        applied to the run's UTC hour (default ``%Y/%m/%d/%H/``, WorkMagic's layout).
    :param source_conn_id: connection that reads the source bucket.
    :param max_workers: files moved in parallel.
    :param delete_extra: also delete files this sync copied earlier whose source is gone.
    :param schema: ``None`` (copy bytes), ``"custom-site"`` or ``"imported"`` (validate rows
        on the way and write them re-serialised).
    :param on_invalid: ``"fail"`` stops the task on the first file with invalid rows before it
        is written; ``"skip"`` writes the valid rows and counts the rest.
    :param max_part_bytes: files at or over this size are re-split into parts below it.
    """

    template_fields: Sequence[str] = (
        *WorkMagicBaseOperator.template_fields,
        "source_bucket",
        "source_prefix",
        "folder_pattern",
        "source_conn_id",
    )

    def __init__(
        self,
        *,
        source_bucket: str,
        source_prefix: str = "",
        folder_pattern: str = "%Y/%m/%d/%H/",
        source_conn_id: str | None = None,
        max_workers: int = 8,
        delete_extra: bool = False,
        schema: str | None = None,
        schema_options: SchemaOptions | None = None,
        on_invalid: Literal["fail", "skip"] = "fail",
        max_part_bytes: int = DEFAULT_MAX_PART_BYTES,
        split_oversized: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.source_bucket = source_bucket
        self.source_prefix = source_prefix
        self.folder_pattern = folder_pattern
        self.source_conn_id = source_conn_id
        self.max_workers = max_workers
        self.delete_extra = delete_extra
        self.schema = schema
        self.schema_options = schema_options
        self.on_invalid = on_invalid
        self.max_part_bytes = max_part_bytes
        self.split_oversized = split_oversized

    def source_store(self) -> ObjectStore:
        raise NotImplementedError

    def source_folder(self, context: Context) -> str:
        prefix = self.source_prefix
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        folder = to_utc_hour(self.run_hour(context)).strftime(self.folder_pattern)
        return prefix + folder if folder.endswith("/") else f"{prefix}{folder}/"

    def execute(self, context: Context) -> dict[str, object]:
        from workmagic_provider.sync import HourSync, SyncSettings

        hook = self.workmagic_hook()
        folder = self.hour_folder(hook, context)
        settings = SyncSettings(
            sync_id=f"{self.dag_id}.{self.task_id}",
            max_part_bytes=self.max_part_bytes,
            split_oversized=self.split_oversized,
            schema=self.schema,
            options=self.schema_options,
            on_invalid=self.on_invalid,
        )
        sync = HourSync(
            self.source_store(),
            self.source_folder(context),
            self.destination_store(hook),
            folder.prefix,
            settings,
            max_workers=self.max_workers,
            delete_extra=self.delete_extra,
        )
        return sync.run().summary()
