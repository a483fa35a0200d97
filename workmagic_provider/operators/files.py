"""File import: CSV, Excel and JSON Lines files (a glob, any ``ObjectStoragePath``) -> WorkMagic.

This is the general upload operator (:class:`UploadToWorkMagicOperator`, the one upload
pipeline) with the format-detecting readers of ``workmagic_provider.files.readers``
plugged in: header aliases, multi-row orders, custom fields, cleaning of imported rows, keys
unique within the import, and an optional import manifest so that a re-import sends only the
records that failed before (the file-import rules R1-R9 in docs/design.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from workmagic_provider.exceptions import one_of
from workmagic_provider.files.object_sources import GLOB_CHARS as _GLOB_CHARS
from workmagic_provider.operators.inputs import as_list, as_path, as_storage_path, shared_state_path
from workmagic_provider.operators.upload import UploadToWorkMagicOperator

if TYPE_CHECKING:
    from airflow.sdk import Context

    from workmagic_provider.files.manifest import ImportManifest
    from workmagic_provider.files.pipeline import RejectedConsumer, UploadResult
    from workmagic_provider.files.readers import InputReader
    from workmagic_provider.schemas import ValidationReport
    from workmagic_provider.standards import HourFolder


class OrderFileToWorkMagicOperator(UploadToWorkMagicOperator):
    """Import order/sales files into the run's hour folder (S3 or GCS per the connection).

    :param source: a path, URI or ``ObjectStoragePath`` (or a list), each may be a glob such as
        ``s3://my-bucket/incoming/2026/03/08/*.csv`` (templated). Files are read in name order.
        S3 and GCS inputs are listed and streamed with the path's connection
        (``ObjectStoragePath(uri, conn_id=...)`` or ``s3://conn_id@bucket/...``; default
        ``aws_default`` / ``google_cloud_default``) through ``S3Hook`` / ``GCSHook``.
    :param schema: ``"imported"`` (default), ``"custom-site"`` or ``"enrich"``.
    :param input_format: ``"auto"`` (detect from the content), ``"csv"``, ``"excel"``, ``"jsonl"``.
    :param clean: clean imported rows of CSV/Excel (currency symbols, thousands separators,
        ZIP+4, date formats); every change is counted in the summary's ``cleaned``.
    :param day_first: read ``03/02/2026`` as 3 February (default: month first).
    :param manifest_path: where the import manifest lives (your storage, templated); without it,
        keys are checked within the import only.
    :param on_duplicate: a record the manifest shows as imported into another hour is
        ``"drop"``-ped (default: a re-import sends only what failed before), an ``"error"``, or
        sent again (``"allow"``).
    No matching file makes an empty hour: see ``on_empty``.
    """

    template_fields: Sequence[str] = (*UploadToWorkMagicOperator.template_fields, "manifest_path")
    ui_color = "#e8f7ee"

    def __init__(
        self,
        *,
        source: Any,
        schema: str = "imported",
        input_format: str = "auto",
        clean: bool = True,
        day_first: bool = False,
        manifest_path: Any = None,
        on_duplicate: Literal["allow", "drop", "error"] = "drop",
        flow: str = "files",
        **kwargs: Any,
    ) -> None:
        super().__init__(source=source, schema=schema, flow=flow, **kwargs)
        from workmagic_provider.files.manifest import ON_DUPLICATE
        from workmagic_provider.files.readers import FORMATS

        one_of("input_format", input_format, FORMATS)
        one_of("on_duplicate", on_duplicate, ON_DUPLICATE)
        self.input_format = input_format
        self.clean = clean
        self.day_first = day_first
        self.manifest_path = manifest_path
        self.on_duplicate = on_duplicate
        self._manifest: ImportManifest | None = None
        self._files: list[str] = []
        self._no_files: str | None = None

    # -- inputs ---------------------------------------------------------------------------
    def source_paths(self) -> list[Any]:
        files: list[Any] = []
        for entry in as_list(self.source):
            text = str(entry)
            if not any(ch in _GLOB_CHARS for ch in text):
                files.append(as_storage_path(entry))
                continue
            files.extend(_expand_glob(entry))
        self._no_files = None if files else f"no input file matches {self.source!r}"
        self._files = [str(f) for f in files]
        return files

    def check_rejections(self, report: ValidationReport) -> None:
        """Rows dropped as already imported were delivered before: they count as handled."""
        from workmagic_provider.rejections import check_rejected

        dropped = self._reader.dropped if self._reader is not None else 0
        check_rejected(
            report.rows_rejected,
            report.rows_total + dropped,
            self.max_rejected_fraction,
            "rows read (rows imported before included)",
        )

    def empty_reason(self) -> tuple[str, ...]:
        return (self._no_files,) if self._no_files else ()

    def make_reader(self, report: ValidationReport) -> InputReader:
        from workmagic_provider.files.readers import InputReader

        return InputReader(
            self.schema,
            report,
            options=self.schema_options,
            input_format=self.input_format,
            clean=self.clean,
            day_first=self.day_first,
            rejected=self._rejected,
            gate=self._manifest.gate if self._manifest is not None else None,
        )

    # -- hooks ----------------------------------------------------------------------------
    def prepare(self, context: Context, destination: str, folder: HourFolder) -> None:
        self._manifest = None
        if self.manifest_path:
            from workmagic_provider.files.manifest import ImportManifest

            hour = f"{folder.hour:%Y/%m/%d/%H}"
            self._manifest = ImportManifest(
                shared_state_path(self.manifest_path, "manifest_path", self.single_machine),
                destination.removesuffix("/").removesuffix(hour),  # bucket/account/category
                hour,
                self.on_duplicate,
            ).load()

    def rejected_consumer(self, sidecar: RejectedConsumer | None) -> RejectedConsumer | None:
        manifest = self._manifest
        if manifest is None:
            return sidecar

        def rejected(row: int, raw: Any) -> None:
            manifest.rejected(row)
            if sidecar is not None:
                sidecar(row, raw)

        return rejected

    def finish(self, result: UploadResult, summary: dict[str, object]) -> dict[str, object]:
        summary["files"] = list(self._files)
        summary = super().finish(result, summary)
        if self._manifest is not None and result.published:
            summary["manifest_recorded"] = self._manifest.commit()
        self.log.info(
            "imported %d files: %s",
            len(self._files),
            {
                k: summary.get(k)
                for k in (
                    "rows",
                    "rows_written",
                    "rejected",
                    "duplicates",
                    "dropped_already_imported",
                )
            },
        )
        return summary


def _expand_glob(pattern: Any) -> list[Any]:
    """The files matching ``pattern`` (local or object store), sorted by name.

    The pattern may be an ``ObjectStoragePath`` (its connection is kept) or a path/URI text.
    S3 and GCS patterns are listed through the provider hooks (``files.object_sources``).
    """
    from workmagic_provider.files.object_sources import expand_object_glob

    path = as_path(pattern)
    objects = expand_object_glob(path)
    if objects is not None:
        return objects
    base = path
    while any(ch in _GLOB_CHARS for ch in str(base)) and base.parent != base:
        base = base.parent
    relative = str(path)[len(str(base)) :].lstrip("/")
    found = [p for p in base.glob(relative) if p.is_file()]
    return sorted(found, key=str)
