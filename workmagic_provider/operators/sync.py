"""The sync operator both clouds share ("use your own bucket", WorkMagic's option 2).

For the run's hour it delivers ``{source_prefix}{YYYY/MM/DD/HH}/`` of the customer's bucket into
WorkMagic's hour folder with :class:`~workmagic_provider.sync.HourSync`, then re-checks the
``recheck_hours`` hours before it, so a file that landed in an hour's folder after that hour's
run is delivered by the next run. Subclasses only say how to reach the source bucket
(``S3SyncToWorkMagicOperator``, ``GCSSyncToWorkMagicOperator``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from workmagic_provider.exceptions import WorkMagicConfigError, WorkMagicError, one_of
from workmagic_provider.operators.base import WorkMagicBaseOperator
from workmagic_provider.standards import DEFAULT_MAX_PART_BYTES, to_utc_hour

if TYPE_CHECKING:
    from airflow.sdk import Context

    from workmagic_provider.hooks.workmagic import WorkMagicHook
    from workmagic_provider.operators.lineage import Datasets
    from workmagic_provider.schemas import SchemaOptions
    from workmagic_provider.stores import ObjectStore
    from workmagic_provider.sync import CopyRoute, SyncResult, SyncSettings

log = logging.getLogger(__name__)

_ON_EMPTY = ("warn", "fail", "skip")
_ON_FOREIGN = ("skip", "fail")


class BaseSyncToWorkMagicOperator(WorkMagicBaseOperator):
    """Deliver one hour folder of the customer's bucket into WorkMagic's hour folder.

    :param source_bucket: the customer's bucket.
    :param source_prefix: prefix before the hour folder, e.g. ``"exports/orders/"`` (templated).
    :param folder_pattern: ``strftime`` pattern of the hour folder under ``source_prefix``,
        applied to the run's UTC hour (default ``%Y/%m/%d/%H/``, WorkMagic's layout).
    :param source_conn_id: connection that reads the source bucket.
    :param recursive: also deliver files of sub-folders (flattened into the hour folder, as
        WorkMagic reads no deeper); ``False`` takes only the files directly in the hour folder.
    :param on_foreign_file: what to do with files WorkMagic cannot read (not gzip JSON Lines:
        CSV, Parquet, markers such as ``_SUCCESS``, empty files, non-gzip content named
        ``.json.gz``): ``"skip"`` (default) names them in a WARNING and in XCom
        (``skipped_files``) and delivers the rest; ``"fail"`` fails before anything of that hour
        is written (re-checked hours included).
    :param on_empty: when the source hour holds nothing WorkMagic can read: ``"warn"``
        (default) logs a WARNING and returns ``"empty": true``; ``"fail"`` fails the task (its
        retries give a late export time to land); ``"skip"`` marks the task skipped.
    :param recheck_hours: also re-check this many hours before the run's hour (default 1), so
        files that arrived late are delivered; unchanged files cost only a listing.
    :param check_content: read the first bytes (up to 64 KiB) of every new or changed file to
        check it is gzip JSON Lines (default). ``False`` trusts names: ``.gz`` files are copied
        unread, which saves one request per new file (the fastest server-side first run) but
        delivers a mislabelled file as it is.
    :param server_side_copy: copy inside the cloud when WorkMagic's identity may read your
        bucket (found out on the first copy; refused means streaming through the worker).
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
        recursive: bool = True,
        on_foreign_file: Literal["skip", "fail"] = "skip",
        on_empty: Literal["warn", "fail", "skip"] = "warn",
        recheck_hours: int = 1,
        server_side_copy: bool = True,
        check_content: bool = True,
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
        one_of("on_empty", on_empty, _ON_EMPTY)
        one_of("on_foreign_file", on_foreign_file, _ON_FOREIGN)
        if not isinstance(recheck_hours, int) or not 0 <= recheck_hours <= 48:
            raise WorkMagicConfigError(
                f"recheck_hours must be a whole number from 0 to 48, got {recheck_hours!r}"
            )
        self.source_bucket = source_bucket
        self.source_prefix = source_prefix
        self.folder_pattern = folder_pattern
        self.source_conn_id = source_conn_id
        self.recursive = recursive
        self.on_foreign_file = on_foreign_file
        self.on_empty = on_empty
        self.recheck_hours = recheck_hours
        self.server_side_copy = server_side_copy
        self.check_content = check_content
        self.max_workers = max_workers
        self.delete_extra = delete_extra
        self.schema = schema
        self.schema_options = schema_options
        self.on_invalid = on_invalid
        self.max_part_bytes = max_part_bytes
        self.split_oversized = split_oversized

    def source_store(self) -> ObjectStore:
        raise NotImplementedError

    def source_folder_of(self, hour: datetime) -> str:
        prefix = self.source_prefix
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        folder = hour.strftime(self.folder_pattern)
        return prefix + folder if folder.endswith("/") else f"{prefix}{folder}/"

    def settings(self) -> SyncSettings:
        from workmagic_provider.sync import SyncSettings

        return SyncSettings(
            sync_id=f"{self.dag_id}.{self.task_id}",
            max_part_bytes=self.max_part_bytes,
            split_oversized=self.split_oversized,
            schema=self.schema,
            options=self.schema_options,
            on_invalid=self.on_invalid,
            recursive=self.recursive,
            on_foreign_file=self.on_foreign_file,
            check_content=self.check_content,
        )

    def execute(self, context: Context) -> dict[str, object]:
        from workmagic_provider.sync import CopyRoute

        hook = self.workmagic_hook()
        self.link_hour_folder(context, hook, self.hour_folder(hook, context))
        hour = to_utc_hour(self.run_hour(context))
        source, destination = self.source_store(), self.destination_store(hook)
        route = CopyRoute(self.server_side_copy)
        own = self.sync_hour(hook, hour, source, destination, route)
        late = [
            self.sync_hour(hook, hour - timedelta(hours=n), source, destination, route)
            for n in range(1, self.recheck_hours + 1)
        ]
        summary = own.summary()
        summary["rechecked"] = [late_summary(result) for result in late]
        if own.empty:
            self.handle_empty(own)
        return summary

    def lineage_datasets(self, summary: Mapping[str, Any]) -> Datasets:
        """The source hour folder -> WorkMagic's; re-checked hours count where they moved files."""
        from workmagic_provider.operators.lineage import uri_dataset

        hours = [summary, *(late for late in summary["rechecked"] if late["delivered"])]
        return (
            [uri_dataset(hour["source"]) for hour in hours],
            [uri_dataset(hour["destination"]) for hour in hours],
        )

    def sync_hour(
        self,
        hook: WorkMagicHook,
        hour: datetime,
        source: ObjectStore,
        destination: ObjectStore,
        route: CopyRoute,
    ) -> SyncResult:
        from workmagic_provider.sync import HourSync

        return HourSync(
            source,
            self.source_folder_of(hour),
            destination,
            hook.hour_folder(hour, data_category=self.data_category).prefix,
            self.settings(),
            max_workers=self.max_workers,
            delete_extra=self.delete_extra,
            route=route,
        ).run()

    def handle_empty(self, result: SyncResult) -> None:
        """An hour with nothing WorkMagic can read is flagged, failed or skipped, never quiet."""
        message = (
            f"nothing to deliver for this hour: {result.source_uri} holds no gzip JSON Lines "
            f"file ({result.listed} object(s) listed, {len(result.foreign)} not readable by "
            f"WorkMagic); {result.destination_uri} got nothing"
        )
        if self.on_empty == "fail":
            raise WorkMagicError(f"{message} (on_empty='fail')")
        if self.on_empty == "skip":
            from airflow.sdk.exceptions import AirflowSkipException

            raise AirflowSkipException(f"{message} (on_empty='skip')")
        log.warning("%s (on_empty='warn': the run succeeds, XCom says \"empty\": true)", message)


def late_summary(result: SyncResult) -> dict[str, object]:
    """What a re-check of an earlier hour did: only the files it moved are named."""
    full = result.summary()
    moved = {f.source for f in result.files if f.action != "skip"}
    delivered = full["delivered"]
    assert isinstance(delivered, dict)
    keys = ("copied", "split", "skipped", "deleted", "bytes_written", "not_delivered")
    return {
        "source": result.source_uri,
        "destination": result.destination_uri,
        **{key: full[key] for key in keys},
        "delivered": {path: name for path, name in delivered.items() if path in moved},
    }
