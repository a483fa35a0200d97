"""What the push-down operators (Snowflake, BigQuery) share: the source query and its window,
and the sample check that runs before the warehouse writes anything (the whole-window checks in
SQL come first: see ``workmagic_provider.warehouse.checks``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from workmagic_provider.operators.base import WorkMagicBaseOperator
from workmagic_provider.standards import DEFAULT_LOOKBACK

if TYPE_CHECKING:
    from airflow.sdk import Context

    from workmagic_provider.operators.lineage import Datasets, LineageDataset
    from workmagic_provider.schemas import SchemaOptions


def format_statement(statement: Mapping[str, Any]) -> str:
    """A rendered statement as SQL text: ``-- step {what else is sent}`` then the statement."""
    extra = {k: v for k, v in statement.items() if k not in ("step", "sql")}
    head = f"-- {statement['step']}" + (f" {extra}" if extra else "")
    return f"{head}\n{str(statement['sql']).strip()};"


class WarehouseToWorkMagicOperator(WorkMagicBaseOperator):
    """Base of operators whose warehouse writes the run's window into WorkMagic's folder.

    :param table: source table (with ``updated_at_column``), or give ``sql``.
    :param updated_at_column: the column the window selects on.
    :param sql: your SELECT (or a ``.sql`` file) using ``{{ workmagic_window_start }}`` and
        ``{{ workmagic_window_end }}``.
    :param source_conn_id: the warehouse connection.
    :param lookback: how far before the interval start the window opens (default 1 hour).
    :param schema: schema of the sample validation (``custom-site`` or ``imported``).
    :param validate_sample: rows of the very SELECT validated before anything is written, for
        what the whole-window checks cannot see in SQL; 0 disables.
    :param require_window: refuse a ``sql`` that does not use both window macros.
    :param prune_stale: remove this flow's files of the hour that this run did not write.
    :param render_only: render and log the exact statements the run would submit, connect to no
        warehouse and write nothing (templated: ``"{{ params.render_sql }}"`` works). For
        reviewing a DAG before the warehouse grants exist, and for the offline demo.
    """

    template_fields: Sequence[str] = (
        *WorkMagicBaseOperator.template_fields,
        "sql",
        "table",
        "updated_at_column",
        "source_conn_id",
        "render_only",
    )
    template_ext: Sequence[str] = (".sql",)
    template_fields_renderers = {"sql": "sql"}

    def __init__(
        self,
        *,
        table: str | None = None,
        updated_at_column: str = "updated_at",
        sql: str | None = None,
        source_conn_id: str | None = None,
        lookback: timedelta = DEFAULT_LOOKBACK,
        schema: str = "custom-site",
        schema_options: SchemaOptions | None = None,
        validate_sample: int = 100,
        require_window: bool = True,
        prune_stale: bool = True,
        render_only: bool | str = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.table = table
        self.updated_at_column = updated_at_column
        self.sql = sql
        self.source_conn_id = source_conn_id
        self.lookback = lookback
        self.schema = schema
        self.schema_options = schema_options
        self.validate_sample = validate_sample
        self.require_window = require_window
        self.prune_stale = prune_stale
        self.render_only = render_only

    def execute(self, context: Context) -> dict[str, Any] | None:
        from workmagic_provider.operators.inputs import as_bool

        if as_bool(self.render_only, "render_only"):
            return self.render_statements(context)
        return self.run_in_warehouse(context)

    def lineage_datasets(self, summary: Mapping[str, Any]) -> Datasets:
        """The source table (or the SELECT's tables) -> the hour folder the warehouse wrote."""
        from workmagic_provider.operators.lineage import uri_dataset

        if summary.get("mode") == "render_only":
            return [], []
        return self.lineage_sources(summary), [uri_dataset(summary["destination"])]

    def lineage_sources(self, summary: Mapping[str, Any]) -> list[LineageDataset]:
        """The warehouse tables the run read, named as OpenLineage names them there."""
        return []

    def run_in_warehouse(self, context: Context) -> dict[str, Any] | None:
        """Submit the statements and return the run's summary (each warehouse's own)."""
        raise NotImplementedError

    def planned_statements(self, context: Context) -> tuple[str, list[dict[str, Any]]]:
        """The destination URI and the statements a run submits, in order, without a warehouse.

        Each statement is ``{"step": ..., "sql": ...}`` plus what else the warehouse receives
        with it (query parameters, job id).
        """
        raise NotImplementedError

    def render_statements(self, context: Context) -> dict[str, Any]:
        """``render_only``: log every statement of the run and return them; submit nothing."""
        destination, statements = self.planned_statements(context)
        bounds = self.window(context)
        for statement in statements:
            self.log.info("render_only:\n%s", format_statement(statement))
        self.log.info(
            "render_only: %d statements rendered for %s; nothing was submitted",
            len(statements),
            destination,
        )
        return {
            "mode": "render_only",
            "destination": destination,
            "window": [bounds[0].isoformat(), bounds[1].isoformat()],
            "statements": statements,
        }

    def check_sample(self, rows: Iterable[Any]) -> int:
        """Validate sample rows (mappings, or JSON text); raise with the report if any is bad."""
        from workmagic_provider.exceptions import WorkMagicValidationError
        from workmagic_provider.schemas import (
            ValidationReport,
            validate_json_lines,
            validate_records,
        )

        numbered = list(enumerate(rows, start=1))
        records = [(n, row) for n, row in numbered if isinstance(row, Mapping)]
        lines = [(n, row) for n, row in numbered if not isinstance(row, Mapping)]
        report = ValidationReport(self.schema)
        options = self.schema_options
        for _ in validate_records(records, self.schema, report=report, options=options):
            pass
        for _ in validate_json_lines(lines, self.schema, report=report, options=options):
            pass
        self.log.info(
            "sample of %d rows: %d valid, %d rejected (schema %s)",
            report.rows_total,
            report.rows_valid,
            report.rows_rejected,
            self.schema,
        )
        if not report.ok:
            raise WorkMagicValidationError(report)
        return report.rows_total
