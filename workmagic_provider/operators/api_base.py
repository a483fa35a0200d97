"""The flow both API operators share (:mod:`workmagic_provider.operators.enrich`).

Rows from a SQL query, JSON Lines files or an upstream XCom -> validation (our schemas) -> one
order per id (last row wins) -> the rule of which orders not to send (Enrich: too old) -> the
batched, retrying client (:mod:`workmagic_provider.hooks.api`) -> per-order outcomes -> one
summary in XCom (:mod:`workmagic_provider.operators.api_report`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from workmagic_provider.exceptions import WorkMagicConfigError, one_of
from workmagic_provider.hooks.api.clock import SYSTEM_CLOCK, Clock
from workmagic_provider.operators.base import WorkMagicBaseOperator
from workmagic_provider.rejections import DEFAULT_MAX_REJECTED_FRACTION, validate_max_fraction
from workmagic_provider.standards import DEFAULT_LOOKBACK

if TYPE_CHECKING:
    from airflow.sdk import Context

    from workmagic_provider.hooks.api import ApiEndpoint, ApiOrder, SendResult, WorkMagicApiClient
    from workmagic_provider.hooks.workmagic import WorkMagicHook
    from workmagic_provider.operators.api_inputs import CollectedOrders
    from workmagic_provider.operators.api_report import ApiRun
    from workmagic_provider.operators.inputs import RejectedWriter
    from workmagic_provider.operators.lineage import Datasets
    from workmagic_provider.schemas import SchemaOptions

#: Macros available in ``sql`` (and every other templated field) of these operators.
WINDOW_START_MACRO = "workmagic_window_start"
WINDOW_END_MACRO = "workmagic_window_end"


class OrdersToApiOperator(WorkMagicBaseOperator):
    """Shared flow of the API operators (inputs, validation, client, summary).

    :param source_conn_id: an Airflow SQL connection to read rows from, with ``sql``.
    :param sql: the SELECT (templated; a ``.sql`` file works), one row per order with the
        schema's column names; ``{{ workmagic_window_start }}`` / ``{{ workmagic_window_end }}``
        are the run's window ``[data_interval_start - lookback, data_interval_end)``.
    :param sql_parameters: DB-API parameters of ``sql``.
    :param chunk_size: rows fetched per ``fetchmany``.
    :param source: JSON Lines file(s), plain or gzip: path, URI or ``ObjectStoragePath``.
    :param rows: rows as mappings, e.g. an upstream task's XCom (templated).
    :param on_invalid: ``"fail"`` (default) sends nothing when a row is invalid and fails when
        the API rejects an order; ``"skip"`` sends the valid rows and reports the rest.
    :param max_rejected_fraction: with ``"skip"``, the run still fails when more than this
        share of the rows is rejected (invalid or refused by the API); default 0.5.
    :param rejected_path: your storage (never WorkMagic's) for rejected rows, written whole.
    :param dry_run: validate and count, send nothing.
    :param batch_size: orders per request (default 100).
    :param max_workers: concurrent requests (default 4).
    :param max_rps: at most this many requests per second (None: unthrottled).
    :param retry_for: seconds one request keeps retrying 429/5xx/connection errors.
    :param backoff / timeout: the client's :class:`RetryPolicy`.
    :param lookback: how far before ``data_interval_start`` the SQL window starts.
    :param max_reported: problems listed in the log and XCom (all are counted).
    :param clock: the clock of retries and of the four-week rule (tests simulate time with it).
    """

    schema: ClassVar[str]
    id_field: ClassVar[str]
    time_field: ClassVar[str | None] = None
    api_name: ClassVar[str]
    #: no hour folder: the rows go to an API
    operator_extra_links = ()

    template_fields: Sequence[str] = (
        *WorkMagicBaseOperator.template_fields,
        "source_conn_id",
        "sql",
        "sql_parameters",
        "source",
        "rows",
        "rejected_path",
    )
    template_ext: Sequence[str] = (".sql",)
    template_fields_renderers: ClassVar[dict[str, str]] = {"sql": "sql", "rows": "json"}
    shallow_copy_attrs: Sequence[str] = ("clock",)
    ui_color = "#fff2e0"

    def __init__(
        self,
        *,
        source_conn_id: str | None = None,
        sql: str | None = None,
        sql_parameters: Mapping[str, Any] | Sequence[Any] | None = None,
        chunk_size: int = 5000,
        source: Any = None,
        rows: Any = None,
        schema_options: SchemaOptions | None = None,
        on_invalid: Literal["fail", "skip"] = "fail",
        max_rejected_fraction: float = DEFAULT_MAX_REJECTED_FRACTION,
        rejected_path: Any = None,
        dry_run: bool = False,
        batch_size: int | None = None,
        max_workers: int | None = None,
        max_rps: float | None = None,
        retry_for: float = 120.0,
        backoff: float = 0.5,
        timeout: float = 30.0,
        lookback: timedelta = DEFAULT_LOOKBACK,
        max_reported: int = 20,
        clock: Clock | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        task = kwargs.get("task_id")
        given = [
            name for name, value in (("sql", sql), ("source", source), ("rows", rows)) if value
        ]
        if len(given) != 1 and not (rows is not None and not given):
            raise WorkMagicConfigError(
                f"task {task!r}: give exactly one input: sql= (with source_conn_id=), source= or "
                f"rows=; got {', '.join(given) or 'none'}"
            )
        if sql and not source_conn_id:
            raise WorkMagicConfigError(f"task {task!r}: sql= needs source_conn_id=")
        one_of("on_invalid", on_invalid, ("fail", "skip"))
        if chunk_size < 1:
            raise WorkMagicConfigError(f"chunk_size must be at least 1, got {chunk_size}")
        self.source_conn_id = source_conn_id
        self.sql = sql
        self.sql_parameters = sql_parameters
        self.chunk_size = chunk_size
        self.source = source
        self.rows = rows
        self.schema_options = schema_options
        self.on_invalid = on_invalid
        self.max_rejected_fraction = validate_max_fraction(max_rejected_fraction)
        self.rejected_path = rejected_path
        # not ``self.dry_run``: BaseOperator.dry_run() is a method (renders templates)
        self.dry_run_only = dry_run
        self.batch_size = batch_size
        self.max_workers = max_workers
        self.max_rps = max_rps
        self.retry_for = retry_for
        self.backoff = backoff
        self.timeout = timeout
        self.lookback = lookback
        self.max_reported = max_reported
        self.clock: Clock = clock or SYSTEM_CLOCK

    # -- what subclasses decide ----------------------------------------------------------
    def api_endpoint(self, hook: WorkMagicHook) -> ApiEndpoint:
        return hook.api_endpoint(self.api_name)

    def cutoff(self) -> datetime | None:
        """Orders with a timestamp before this are too old to send (None: no age rule)."""
        return None

    def already_applied(
        self, client: WorkMagicApiClient, orders: list[ApiOrder], context: Context
    ) -> set[str]:
        """Ids a previous try of this task already delivered (read back from the API)."""
        return set()

    def verify_sent(
        self, client: WorkMagicApiClient, orders: list[ApiOrder], result: SendResult
    ) -> dict[str, Any] | None:
        return None

    def lineage_datasets(self, summary: Mapping[str, Any]) -> Datasets:
        """The SQL connection's tables (or the files) read -> the endpoint posted to."""
        from workmagic_provider.operators.inputs import as_list
        from workmagic_provider.operators.lineage import (
            sql_connection_datasets,
            uri_dataset,
            uri_datasets,
        )

        if self.sql and self.source_conn_id:
            inputs = sql_connection_datasets(self.source_conn_id, self.sql)
        else:
            inputs = uri_datasets(as_list(self.source))
        endpoint = summary.get("endpoint")  # none in a dry run: nothing was sent
        return inputs, [uri_dataset(endpoint)] if endpoint else []

    # -- templating: the window macros ---------------------------------------------------
    def window_macros(self, window: tuple[datetime, datetime]) -> dict[str, str]:
        """ISO-8601 UTC strings (quote them in your SQL: ``'{{ workmagic_window_start }}'``)."""
        from workmagic_provider.hooks.api import iso_z

        return {WINDOW_START_MACRO: iso_z(window[0]), WINDOW_END_MACRO: iso_z(window[1])}

    # -- run ------------------------------------------------------------------------------
    def execute(self, context: Context) -> dict[str, Any]:
        from workmagic_provider.operators.api_report import ApiRun
        from workmagic_provider.operators.inputs import RejectedWriter

        endpoint = None if self.dry_run_only else self.api_endpoint(self.workmagic_hook())
        with RejectedWriter(self.rejected_path) as rejected:
            collected = self.collect_orders(rejected)
            run = ApiRun(self.api_name, collected, endpoint=endpoint, cutoff=self.cutoff())
            self.fail_early_on_invalid(run)
            to_send = self.set_aside_too_old(run)
            if endpoint is not None:
                self.send(run, endpoint, to_send, context)
                self.keep_refused_rows(run, rejected)
            run.rejected_rows_written = rejected.count
        run.rejected_path = str(self.rejected_path) if self.rejected_path else None
        return self.finish(run, context)

    # -- the steps of the flow ------------------------------------------------------------
    def collect_orders(self, rejected: RejectedWriter) -> CollectedOrders:
        """Read and validate the input; one order per id (the last row wins)."""
        from workmagic_provider.operators import api_inputs
        from workmagic_provider.schemas import ValidationReport

        report = ValidationReport(self.schema)
        lines = api_inputs.input_lines(
            sql=self.sql,
            source_conn_id=self.source_conn_id,
            sql_parameters=self.sql_parameters,
            chunk_size=self.chunk_size,
            source=self.source,
            rows=self.rows,
            report=report,
            logger=self.log,
        )
        collected = api_inputs.collect_orders(
            lines,
            report=report,
            schema=self.schema,
            options=self.schema_options,
            rejected=rejected,
            id_field=self.id_field,
            time_field=self.time_field,
        )
        self.log.info(
            "validated %d rows: %d valid, %d invalid, %d duplicate order ids collapsed (last wins)",
            report.rows_total,
            report.rows_valid,
            report.rows_rejected,
            collected.duplicates,
        )
        if not report.ok:
            self.log.warning("%s", report.summary(max_lines=self.max_reported))
        return collected

    def fail_early_on_invalid(self, run: ApiRun) -> None:
        """Before anything is sent: invalid rows under ``on_invalid="fail"``, or too many."""
        from workmagic_provider.exceptions import WorkMagicValidationError
        from workmagic_provider.rejections import check_rejected

        report = run.collected.report
        if not report.ok and self.on_invalid == "fail":
            raise WorkMagicValidationError(report)
        check_rejected(report.rows_rejected, report.rows_total, self.max_rejected_fraction, "rows")

    def set_aside_too_old(self, run: ApiRun) -> list[ApiOrder]:
        """The orders to send; those before the cutoff are counted ``too_old`` instead."""
        from workmagic_provider.hooks.api import TOO_OLD, iso_z

        cutoff, to_send = run.cutoff, []
        for order in run.collected.orders.values():
            if cutoff is not None and order.timestamp is not None and order.timestamp < cutoff:
                run.result.add(
                    order,
                    TOO_OLD,
                    f"order_timestamp {iso_z(order.timestamp)} is before {iso_z(cutoff)}: "
                    "WorkMagic does not apply orders older than 4 weeks",
                )
            else:
                to_send.append(order)
        return to_send

    def api_client(self, endpoint: ApiEndpoint) -> WorkMagicApiClient:
        from workmagic_provider.hooks.api import RetryPolicy, WorkMagicApiClient

        return WorkMagicApiClient(
            endpoint,
            **({"batch_size": self.batch_size} if self.batch_size else {}),
            **({"max_workers": self.max_workers} if self.max_workers else {}),
            retry=RetryPolicy(retry_for=self.retry_for, backoff=self.backoff, timeout=self.timeout),
            max_rps=self.max_rps,
            logger=self.log,
            clock=self.clock,
        )

    def send(
        self, run: ApiRun, endpoint: ApiEndpoint, orders: list[ApiOrder], context: Context
    ) -> None:
        """POST what an earlier try did not already apply; read it back if asked."""
        with self.api_client(endpoint) as client:
            done = self.already_applied(client, orders, context)
            orders = [o for o in orders if o.order_id not in done]
            sent = client.post_orders(orders)
            run.verify = self.verify_sent(client, orders, sent)
        run.already_applied = len(done)
        run.result.merge(sent)
        run.result.seconds = sent.seconds

    def keep_refused_rows(self, run: ApiRun, rejected: RejectedWriter) -> None:
        """Orders the API refused go to the rejected sidecar like invalid rows."""
        from workmagic_provider.hooks.api import REJECTED

        for problem in run.result.of(REJECTED):
            rejected.write(problem.row, run.collected.orders[problem.order_id].body)

    def finish(self, run: ApiRun, context: Context) -> dict[str, Any]:
        """Log, then return the summary, or push it to XCom and fail."""
        summary = run.summary(self.max_reported)
        run.log_to(self.log, self.max_reported)
        try:
            run.raise_for_failures(self.on_invalid, self.max_rejected_fraction)
        except Exception:
            ti = context.get("ti")
            if ti is not None:  # the summary of a failed try stays visible in XCom
                ti.xcom_push(key="summary", value=summary)
            raise
        return summary


__all__ = ["WINDOW_END_MACRO", "WINDOW_START_MACRO", "OrdersToApiOperator"]
