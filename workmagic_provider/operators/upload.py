"""The general upload: rows or files -> validation -> size-capped parts -> WorkMagic's folder.

This is the one upload pipeline of design Decision 3 wrapped as an operator. The general
operator writes to the cloud the ``workmagic`` connection names; ``S3UploadToWorkMagicOperator``
and ``GCSUploadToWorkMagicOperator`` are this same class with the cloud fixed.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any, Literal

from workmagic_provider.exceptions import WorkMagicConfigError
from workmagic_provider.operators.base import WorkMagicBaseOperator
from workmagic_provider.standards import DEFAULT_MAX_PART_BYTES

if TYPE_CHECKING:
    from airflow.sdk import Context

    from workmagic_provider.schemas import SchemaOptions, ValidationReport


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
    """

    template_fields: Sequence[str] = (
        *WorkMagicBaseOperator.template_fields,
        "source",
        "rows",
        "rejected_path",
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
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
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

    # -- inputs ---------------------------------------------------------------------------
    def input_lines(self, report: ValidationReport) -> Iterator[tuple[int, bytes | str]]:
        """Every input as numbered JSON lines: files first (in order), then ``rows``."""
        from workmagic_provider.files.jsonl import read_json_lines

        offset = 0
        for path in _as_list(self.source):
            self.log.info("reading %s (its rows are numbered from %d)", path, offset + 1)
            last = offset
            for number, line in read_json_lines(_as_path(path)):
                last = offset + number
                yield last, line
            offset = last
        if self.rows is not None:
            from workmagic_provider.schemas.validate import records_as_json_lines

            if not isinstance(self.rows, Iterable) or isinstance(self.rows, (str, bytes, Mapping)):
                raise WorkMagicConfigError(
                    f"rows must be a list of mappings, got {type(self.rows).__name__}"
                )
            numbered = zip(itertools.count(offset + 1), self.rows, strict=False)
            yield from records_as_json_lines(numbered, report)

    # -- run ------------------------------------------------------------------------------
    def execute(self, context: Context) -> dict[str, object]:
        from workmagic_provider.files.pipeline import upload_lines
        from workmagic_provider.schemas import ValidationReport
        from workmagic_provider.stores import StorePartSink

        hook = self.workmagic_hook()
        folder = self.hour_folder(hook, context)
        store = self.destination_store(hook)
        sink = StorePartSink(store, folder.prefix, {"workmagic-flow": self.flow})
        report = ValidationReport(self.schema)
        with _RejectedWriter(self.rejected_path) as rejected:
            result = upload_lines(
                self.input_lines(report),
                schema=self.schema,
                folder=folder,
                flow=self.flow,
                sink=sink,
                options=self.schema_options,
                on_invalid=self.on_invalid,
                max_part_bytes=self.max_part_bytes,
                rejected=rejected.write if self.rejected_path else None,
                report=report,
            )
        return {"destination": store.uri(folder.prefix), **result.summary()}


class _RejectedWriter:
    """Writes rejected rows whole to the user's ``rejected_path``; opens it only when needed."""

    def __init__(self, target: Any) -> None:
        self.target = target
        self.handle: IO[bytes] | None = None
        self.count = 0

    def __enter__(self) -> _RejectedWriter:
        return self

    def write(self, row: int, raw: bytes | str) -> None:
        if self.handle is None:
            self.handle = _as_path(self.target).open("wb")
        data = raw.encode() if isinstance(raw, str) else raw
        self.handle.write(data.rstrip(b"\n") + b"\n")
        self.count += 1

    def __exit__(self, *exc: object) -> None:
        if self.handle is not None:
            self.handle.close()


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _as_path(value: Any) -> Any:
    """Local paths and URIs (``s3://``, ``gs://``, ``file://``) as ``ObjectStoragePath``."""
    if hasattr(value, "open"):
        return value
    from airflow.sdk import ObjectStoragePath

    return ObjectStoragePath(str(value))
