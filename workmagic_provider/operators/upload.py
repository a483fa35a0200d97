"""The general upload: rows or files -> validation -> size-capped parts -> WorkMagic's folder.

This is the one upload pipeline (``files.pipeline``) wrapped as an operator. The general
operator writes to the cloud the ``workmagic`` connection names; ``S3UploadToWorkMagicOperator``
and ``GCSUploadToWorkMagicOperator`` are this same class with the cloud fixed.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from workmagic_provider.exceptions import WorkMagicConfigError
from workmagic_provider.operators.base import WorkMagicBaseOperator
from workmagic_provider.operators.empty_hour import OnEmpty, report_empty, validate_on_empty
from workmagic_provider.operators.inputs import RejectedWriter as _RejectedWriter
from workmagic_provider.operators.inputs import as_bool, shared_state_path
from workmagic_provider.operators.inputs import as_list as _as_list
from workmagic_provider.operators.inputs import as_storage_path as _as_storage_path
from workmagic_provider.rejections import (
    DEFAULT_MAX_REJECTED_FRACTION,
    check_rejected,
    validate_max_fraction,
)
from workmagic_provider.standards import DEFAULT_MAX_PART_BYTES

if TYPE_CHECKING:
    from airflow.sdk import Context

    from workmagic_provider.files.pipeline import RejectedConsumer, UploadResult
    from workmagic_provider.files.readers import InputReader
    from workmagic_provider.operators.lineage import Datasets
    from workmagic_provider.schemas import SchemaOptions, ValidationReport
    from workmagic_provider.standards import HourFolder


class UploadToWorkMagicOperator(WorkMagicBaseOperator):
    """Validate rows and/or JSON Lines files and publish them into the run's hour folder.

    :param source: a path, ``ObjectStoragePath`` or URI string (or a list of them) of JSON Lines
        files, plain or gzip (templated).
    :param rows: rows as mappings, e.g. an upstream task's XCom (templated).
    :param schema: ``"custom-site"`` (default), ``"imported"`` or ``"enrich"``.
    :param on_invalid: ``"fail"`` (default) publishes nothing if any row is invalid; ``"skip"``
        publishes the valid rows and reports the rest.
    :param rejected_path: where rejected rows are written whole (your storage, never WorkMagic's
        folder): a local path or an ``ObjectStoragePath``/URI (templated).
    :param max_part_bytes: size cap of one compressed part (below 1.5 MB).
    :param flow: the flow name in part names; parts of other flows are never touched.
    :param max_rejected_fraction: with ``on_invalid="skip"``, the share of rows that may be
        rejected before the task fails instead, before anything is published (default 0.5, so
        a run that rejected every row fails; 1.0 never fails).
    :param single_machine: allow ``rejected_path`` (and the file import's ``manifest_path``) on
        the worker's own disk: only when every task runs on one machine or the path is a mount
        all workers share (templated; default False).
    :param on_empty: when the hour has no row at all: ``"warn"`` (default: a WARNING and
        ``"empty": true`` in XCom), ``"fail"``, or ``"skip"`` (the task is skipped).
    """

    template_fields: Sequence[str] = (
        *WorkMagicBaseOperator.template_fields,
        "source",
        "rows",
        "rejected_path",
        "single_machine",
    )

    def __init__(
        self,
        *,
        source: Any = None,
        rows: Any = None,
        schema: str = "custom-site",
        schema_options: SchemaOptions | None = None,
        on_invalid: Literal["fail", "skip"] = "fail",
        rejected_path: Any = None,
        max_part_bytes: int = DEFAULT_MAX_PART_BYTES,
        flow: str = "upload",
        max_rejected_fraction: float = DEFAULT_MAX_REJECTED_FRACTION,
        on_empty: OnEmpty = "warn",
        single_machine: Any = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.single_machine = single_machine
        self.max_rejected_fraction = validate_max_fraction(max_rejected_fraction)
        self.on_empty = validate_on_empty(on_empty)
        if source is None and rows is None:
            raise WorkMagicConfigError(f"task {kwargs.get('task_id')!r}: give source= or rows=")
        self.source = source
        self.rows = rows
        self.schema = schema
        self.schema_options = schema_options
        self.on_invalid = on_invalid
        self.rejected_path = rejected_path
        self.max_part_bytes = max_part_bytes
        self.flow = flow
        self._rejected: RejectedConsumer | None = None  # set while executing
        self._reader: InputReader | None = None
        self._files_read: list[str] = []

    # -- inputs (subclasses plug in other readers here) -------------------------------------
    def source_paths(self) -> list[Any]:
        """The input files, as paths or ``ObjectStoragePath``s, in the order they are read."""
        return [_as_storage_path(path) for path in _as_list(self.source)]

    def make_reader(self, report: ValidationReport) -> InputReader:
        """The reader of this run's files: JSON Lines, each key once."""
        from workmagic_provider.files.readers import InputReader

        return InputReader(
            self.schema,
            report,
            options=self.schema_options,
            input_format="jsonl",
            rejected=self._rejected,
        )

    def read_source(
        self, path: Any, report: ValidationReport, offset: int
    ) -> Generator[tuple[int, bytes | str], None, int]:
        """Numbered JSON lines of one input (rows after ``offset``); returns its last row."""
        if self._reader is None:
            self._reader = self.make_reader(report)
        return (yield from self._reader.read(path, offset))

    def input_lines(self, report: ValidationReport) -> Iterator[tuple[int, bytes | str]]:
        """Every input as numbered JSON lines: files first (in order), then ``rows``."""
        from workmagic_provider.files.rows import numbered, record_lines

        def announce(path: Any, first_row: int) -> None:
            self.log.info("reading %s (its rows are numbered from %d)", path, first_row)

        paths = self.source_paths()
        self._files_read = [str(path) for path in paths]
        offset = yield from numbered(
            paths,
            lambda path, start: self.read_source(path, report, start),
            on_input=announce,
        )
        if self.rows is not None:
            yield from record_lines(self.rows, report, offset)

    # -- hooks around the upload ----------------------------------------------------------
    def check_rejections(self, report: ValidationReport) -> None:
        """Fail before publishing when more rows were rejected than ``max_rejected_fraction``."""
        check_rejected(
            report.rows_rejected, report.rows_total, self.max_rejected_fraction, "rows read"
        )

    def empty_reason(self) -> tuple[str, ...]:
        """Why the hour had no row, when a subclass knows better than "no row"."""
        return ()

    def prepare(self, context: Context, destination: str, folder: HourFolder) -> None:
        """Called before reading (e.g. to load an import manifest); nothing by default."""

    def rejected_consumer(self, sidecar: RejectedConsumer | None) -> RejectedConsumer | None:
        """What receives rejected rows; by default the ``rejected_path`` sidecar (if any)."""
        return sidecar

    def finish(self, result: UploadResult, summary: dict[str, object]) -> dict[str, object]:
        """Called after publishing; returns the XCom summary (subclasses add counts here)."""
        if self._reader is not None:
            summary.update(self._reader.summary())
            self._reader = None
        return summary

    def lineage_datasets(self, summary: Mapping[str, Any]) -> Datasets:
        """The files read (XCom ``files``) -> the hour folder."""
        from workmagic_provider.operators.lineage import uri_dataset, uri_datasets

        return uri_datasets(summary.get("files", [])), [uri_dataset(summary["destination"])]

    # -- run ------------------------------------------------------------------------------
    def execute(self, context: Context) -> dict[str, object]:
        from workmagic_provider.files.pipeline import upload_lines
        from workmagic_provider.schemas import ValidationReport
        from workmagic_provider.stores import StorePartSink

        hook = self.workmagic_hook()
        folder = self.hour_folder(hook, context)
        self.link_hour_folder(context, hook, folder)
        store = self.destination_store(hook)
        sink = StorePartSink(store, folder.prefix, {"workmagic-flow": self.flow})
        report = ValidationReport(self.schema)
        destination = store.uri(folder.prefix)
        self.single_machine = as_bool(self.single_machine, "single_machine")
        rejected_path = (
            shared_state_path(self.rejected_path, "rejected_path", self.single_machine)
            if self.rejected_path
            else None
        )
        self._reader = None
        self._files_read = []
        self.prepare(context, destination, folder)
        with _RejectedWriter(rejected_path) as sidecar:
            self._rejected = self.rejected_consumer(sidecar.write if self.rejected_path else None)
            result = upload_lines(
                self.input_lines(report),
                schema=self.schema,
                folder=folder,
                flow=self.flow,
                sink=sink,
                options=self.schema_options,
                on_invalid=self.on_invalid,
                max_part_bytes=self.max_part_bytes,
                rejected=self._rejected,
                report=report,
                before_publish=self.check_rejections,
            )
        summary = {"destination": destination, "files": self._files_read, **result.summary()}
        empty = report.rows_total == 0
        summary["empty"] = report_empty(
            self.on_empty, empty, destination, self.log, *self.empty_reason()
        )
        return self.finish(result, summary)
