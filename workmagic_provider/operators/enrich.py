"""Push orders to WorkMagic's REST APIs: the Enrich Order API and the custom-site Orders API.

Both operators are one flow: rows from a SQL query, JSON Lines files or an upstream XCom ->
validation (our schemas) -> last-wins de-duplication by order id -> batched, retrying client
(:mod:`workmagic_provider.hooks.api`) -> per-order outcomes -> a summary in XCom. They differ
only in the schema, the endpoint and what the Enrich API adds (the four-week rule, read-back).

* :class:`EnrichOrdersOperator` overrides sales/profit of orders WorkMagic already has
  (``POST /enrich/orders``). Orders older than ``max_order_age`` (28 days) before the run's
  ``data_interval_end`` are skipped and reported. ``verify=True`` reads the orders back with
  ``GET /enrich/orders`` and reports what is missing or different. On a task retry it first reads
  back what the failed try already applied and sends only the rest, so a retry neither loses nor
  re-delivers orders.
* :class:`PushOrdersToWorkMagicOperator` sends full custom-site orders (``POST /api/orders``,
  ``X-API-KEY``). WorkMagic documents no GET for it, so a retry re-sends (an upsert by ``id``).

SQL sources: any Airflow connection whose hook is a DB-API hook (common-sql ``DbApiHook``:
Postgres, MySQL, Snowflake, ...), ``sql`` templated with the run's window
(``{{ workmagic_window_start }}`` / ``{{ workmagic_window_end }}``: strict ISO literals of
``[data_interval_start - lookback, data_interval_end)``), streamed with ``fetchmany`` in
``chunk_size`` rows. A ``sqlite`` connection works without the sqlite provider through the
standard library (``host`` = the database file).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from workmagic_provider.exceptions import WorkMagicConfigError
from workmagic_provider.operators.base import WorkMagicBaseOperator
from workmagic_provider.standards import DEFAULT_LOOKBACK, to_utc

if TYPE_CHECKING:
    from airflow.sdk import Context

    from workmagic_provider.hooks.api import (
        ApiEndpoint,
        ApiOrder,
        SendResult,
        WorkMagicApiClient,
    )
    from workmagic_provider.hooks.workmagic import WorkMagicSettings
    from workmagic_provider.operators.inputs import RejectedWriter
    from workmagic_provider.schemas import SchemaOptions, ValidationReport

#: Macros available in ``sql`` (and every other templated field) of these operators.
WINDOW_START_MACRO = "workmagic_window_start"
WINDOW_END_MACRO = "workmagic_window_end"


class _OrdersToApiOperator(WorkMagicBaseOperator):
    """Shared mechanics of the API operators (inputs, validation, client, summary).

    :param source_conn_id: an Airflow SQL connection to read rows from, with ``sql``.
    :param sql: the SELECT (templated; a ``.sql`` file works), one row per order with the
        schema's column names.
    :param sql_parameters: DB-API parameters of ``sql``.
    :param chunk_size: rows fetched per ``fetchmany``.
    :param source: JSON Lines file(s), plain or gzip: path, URI or ``ObjectStoragePath``.
    :param rows: rows as mappings, e.g. an upstream task's XCom (templated).
    :param on_invalid: ``"fail"`` (default) sends nothing when a row is invalid and fails when
        the API rejects an order; ``"skip"`` sends the valid rows and reports the rest.
    :param rejected_path: your storage (never WorkMagic's) for rejected rows, written whole.
    :param dry_run: validate and count, send nothing.
    :param batch_size: orders per request (default 100, spec §8 assumption).
    :param max_workers: concurrent requests.
    :param max_rps: at most this many requests per second (None: unthrottled).
    :param max_attempts / backoff / timeout: the client's :class:`RetryPolicy`.
    :param lookback: how far before ``data_interval_start`` the SQL window starts.
    :param max_reported: problems listed in the log and XCom (all are counted).
    """

    schema: ClassVar[str]
    id_field: ClassVar[str]
    time_field: ClassVar[str | None] = None
    api_name: ClassVar[str]

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
        rejected_path: Any = None,
        dry_run: bool = False,
        batch_size: int | None = None,
        max_workers: int | None = None,
        max_rps: float | None = None,
        max_attempts: int = 6,
        backoff: float = 0.5,
        timeout: float = 30.0,
        lookback: timedelta = DEFAULT_LOOKBACK,
        max_reported: int = 20,
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
        if on_invalid not in ("fail", "skip"):
            raise WorkMagicConfigError(f"on_invalid must be 'fail' or 'skip', got {on_invalid!r}")
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
        self.rejected_path = rejected_path
        # not ``self.dry_run``: BaseOperator.dry_run() is a method (renders templates)
        self.dry_run_only = dry_run
        self.batch_size = batch_size
        self.max_workers = max_workers
        self.max_rps = max_rps
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.timeout = timeout
        self.lookback = lookback
        self.max_reported = max_reported

    # -- what subclasses decide ----------------------------------------------------------
    def api_endpoint(self, settings: WorkMagicSettings) -> ApiEndpoint:
        raise NotImplementedError

    def cutoff(self, context: Context) -> datetime | None:
        """Orders with a timestamp before this are skipped (None: no age rule)."""
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

    # -- templating: the window macros ---------------------------------------------------
    def window_macros(self, window: tuple[datetime, datetime]) -> dict[str, str]:
        """ISO-8601 UTC strings (quote them in your SQL: ``'{{ workmagic_window_start }}'``)."""
        from workmagic_provider.hooks.api import iso_z

        return {WINDOW_START_MACRO: iso_z(window[0]), WINDOW_END_MACRO: iso_z(window[1])}

    # -- inputs ---------------------------------------------------------------------------
    def _source_hook(self) -> Any:
        """The DB-API hook of ``source_conn_id`` (any installed SQL provider, or stdlib sqlite)."""
        from airflow.sdk import BaseHook

        conn = BaseHook.get_connection(str(self.source_conn_id))
        try:
            hook = conn.get_hook()
        except Exception as err:
            if conn.conn_type == "sqlite":
                return _stdlib_sqlite_hook_class()(sqlite_conn_id=conn.conn_id)
            raise WorkMagicConfigError(
                f"source connection {self.source_conn_id!r} has type {conn.conn_type!r}, whose "
                f"hook is not available ({type(err).__name__}); install that database's Airflow "
                "provider"
            ) from None
        if not callable(getattr(hook, "get_conn", None)):
            raise WorkMagicConfigError(
                f"source connection {self.source_conn_id!r} ({conn.conn_type}) is not a SQL "
                "connection: its hook has no DB-API get_conn()"
            )
        return hook

    def _sql_records(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """Rows of ``sql`` as mappings, fetched ``chunk_size`` at a time (never all at once)."""
        hook = self._source_hook()
        conn = hook.get_conn()
        number = 0
        try:
            cursor = conn.cursor()
            try:
                if self.sql_parameters:
                    cursor.execute(self.sql, self.sql_parameters)
                else:
                    cursor.execute(self.sql)
                # Snowflake and Oracle fold unquoted names to upper case; our fields are lower.
                names = [
                    d[0].lower() if str(d[0]).isupper() else d[0] for d in cursor.description or []
                ]
                chunks = 0
                while True:
                    chunk = cursor.fetchmany(self.chunk_size)
                    if not chunk:
                        break
                    chunks += 1
                    for values in chunk:
                        number += 1
                        yield number, dict(zip(names, values, strict=True))
                self.log.info(
                    "read %d rows from %s in %d chunk(s)", number, self.source_conn_id, chunks
                )
            finally:
                cursor.close()
        finally:
            conn.close()

    def _validated(
        self, report: ValidationReport, rejected: RejectedWriter
    ) -> Iterator[tuple[int, bytes]]:
        """(row number, compact JSON) of every valid input row; the rest go to ``report``."""
        from workmagic_provider.files.jsonl import read_json_lines
        from workmagic_provider.operators.inputs import as_list, as_storage_path
        from workmagic_provider.schemas import validate_json_lines
        from workmagic_provider.schemas.validate import records_as_json_lines

        lines: Iterable[tuple[int, bytes | str]]
        if self.sql:
            lines = records_as_json_lines(self._sql_records(), report)
        elif self.source:

            def file_lines() -> Iterator[tuple[int, bytes | str]]:
                offset = 0
                for path in as_list(self.source):
                    self.log.info("reading %s (rows numbered from %d)", path, offset + 1)
                    last = offset
                    for number, line in read_json_lines(as_storage_path(path)):
                        last = offset + number
                        yield last, line
                    offset = last

            lines = file_lines()
        else:
            rows = self.rows
            if isinstance(rows, (str, bytes, Mapping)) or not isinstance(rows, Iterable):
                raise WorkMagicConfigError(
                    f"rows must be a list of mappings, got {type(rows).__name__}"
                )
            lines = records_as_json_lines(enumerate(rows, start=1), report)
        # validate_json_lines is lazy and one-in-one-out: when it yields a valid row, the last
        # input it consumed is that row, so the row numbers are read off the input side.
        last = [0]

        def tracked() -> Iterator[tuple[int, bytes | str]]:
            for row, line in lines:
                last[0] = row
                yield row, line

        for body in validate_json_lines(
            tracked(),
            self.schema,
            report=report,
            options=self.schema_options,
            rejected=rejected.write,
        ):
            yield last[0], body

    # -- run ------------------------------------------------------------------------------
    def execute(self, context: Context) -> dict[str, Any]:
        from workmagic_provider.exceptions import WorkMagicValidationError
        from workmagic_provider.hooks.api import (
            FAILED,
            REJECTED,
            SKIPPED,
            RetryPolicy,
            WorkMagicApiClient,
            WorkMagicApiError,
            iso_z,
            order_from_json,
        )
        from workmagic_provider.operators.inputs import RejectedWriter
        from workmagic_provider.schemas import ValidationReport

        hook = self.workmagic_hook()
        settings = hook.settings
        endpoint = None if self.dry_run_only else self.api_endpoint(settings)
        report = ValidationReport(self.schema)
        orders: dict[str, ApiOrder] = {}
        duplicates = 0
        cutoff = self.cutoff(context)
        summary: dict[str, Any] = {"api": self.api_name, "dry_run": self.dry_run_only}
        with RejectedWriter(self.rejected_path) as rejected:
            for row, body in self._validated(report, rejected):
                order = order_from_json(row, body, self.id_field, self.time_field)
                if orders.pop(order.order_id, None) is not None:
                    duplicates += 1  # last wins (WorkMagic: duplicate ids cause duplication)
                orders[order.order_id] = order
            self.log.info(
                "validated %d rows: %d valid, %d invalid, %d duplicate order ids collapsed "
                "(last wins)",
                report.rows_total,
                report.rows_valid,
                report.rows_rejected,
                duplicates,
            )
            if not report.ok:
                self.log.warning("%s", report.summary(max_lines=self.max_reported))
            summary.update(
                rows_total=report.rows_total,
                rows_valid=report.rows_valid,
                rows_invalid=report.rows_rejected,
                invalid=[e.to_dict() for e in report.errors[: self.max_reported]],
                duplicates_collapsed=duplicates,
                orders=len(orders),
                cutoff=iso_z(cutoff) if cutoff else None,
            )
            if not report.ok and self.on_invalid == "fail":
                raise WorkMagicValidationError(report)
            if self.dry_run_only:
                too_old = sum(
                    1
                    for o in orders.values()
                    if cutoff and o.timestamp is not None and o.timestamp < cutoff
                )
                summary.update(would_send=len(orders) - too_old, skipped_too_old=too_old)
                summary["rejected_rows_written"] = rejected.count
                self.log.info(
                    "dry run: would send %d orders, skip %d too old; sent nothing",
                    len(orders) - too_old,
                    too_old,
                )
                return summary
            assert endpoint is not None
            client = WorkMagicApiClient(
                endpoint,
                **({"batch_size": self.batch_size} if self.batch_size else {}),
                **({"max_workers": self.max_workers} if self.max_workers else {}),
                retry=RetryPolicy(
                    max_attempts=self.max_attempts, backoff=self.backoff, timeout=self.timeout
                ),
                max_rps=self.max_rps,
                logger=self.log,
            )
            with client:
                to_send = list(orders.values())
                done = self.already_applied(client, to_send, context)
                if done:
                    to_send = [o for o in to_send if o.order_id not in done]
                result: SendResult = client.post_orders(to_send, not_before=cutoff)
                for problem in result.of(REJECTED):
                    rejected.write(problem.row, orders[problem.order_id].body)
                verify = self.verify_sent(client, to_send, result)
            summary["rejected_rows_written"] = rejected.count
        summary.update(
            endpoint=endpoint.url,
            already_applied=len(done),
            **result.summary(),
            not_accepted=[p.to_dict() for p in result.problems[: self.max_reported]],
            rejected_path=str(self.rejected_path) if self.rejected_path else None,
        )
        if verify is not None:
            summary["verify"] = verify
        for problem in result.problems[: self.max_reported]:
            level = self.log.info if problem.outcome == SKIPPED else self.log.warning
            level(
                "row %d, order %s: %s (%s)",
                problem.row,
                problem.order_id,
                problem.outcome,
                problem.reason,
            )
        self.log.info(
            "%s: %d orders: %d accepted, %d rejected, %d skipped as too old, %d failed, "
            "%d already applied by an earlier try; %d invalid rows; %d requests (%d retries) in "
            "%.1f s",
            endpoint.name,
            len(orders),
            result.counts["accepted"],
            result.counts[REJECTED],
            result.counts[SKIPPED],
            result.counts[FAILED],
            len(done),
            report.rows_rejected,
            result.requests,
            result.retries,
            result.seconds,
        )
        failed = result.counts[FAILED]
        refused = result.counts[REJECTED]
        if failed or (refused and self.on_invalid == "fail"):
            ti = context.get("ti")
            if ti is not None:  # the summary of a failed try stays visible in XCom
                ti.xcom_push(key="summary", value=summary)
            if failed:
                first = result.of(FAILED)[0]
                raise WorkMagicApiError(
                    f"{failed} of {len(orders)} orders could not be delivered to "
                    f"{endpoint.name} ({first.reason}); {result.counts['accepted']} were "
                    "accepted. A retry of this task sends only what is still missing."
                )
            first = result.of(REJECTED)[0]
            raise WorkMagicApiError(
                f"{endpoint.name} rejected {refused} of {len(orders)} orders, e.g. row "
                f"{first.row} (order {first.order_id}): {first.reason}. Fix them or use "
                "on_invalid='skip'."
            )
        return summary


def _stdlib_sqlite_hook_class() -> type[Any]:
    return _sqlite_hook_class()


@lru_cache(maxsize=1)
def _sqlite_hook_class() -> type[Any]:
    """A common-sql ``DbApiHook`` on the standard library's sqlite3, for ``sqlite`` connections
    when ``apache-airflow-providers-sqlite`` is not installed (``host`` = database file)."""
    import sqlite3

    from airflow.providers.common.sql.hooks.sql import DbApiHook

    class StdlibSqliteHook(DbApiHook):
        conn_name_attr = "sqlite_conn_id"
        default_conn_name = "sqlite_default"
        conn_type = "sqlite"
        hook_name = "SQLite (standard library)"
        _placeholder = "?"

        def get_conn(self) -> sqlite3.Connection:
            conn = self.connection
            path = conn.host or conn.schema
            if not path:
                raise WorkMagicConfigError(
                    f"sqlite connection {self.get_conn_id()!r}: set host to the database file"
                )
            return sqlite3.connect(path)

    StdlibSqliteHook.__module__ = __name__
    return StdlibSqliteHook


class EnrichOrdersOperator(_OrdersToApiOperator):
    """Override sales/profit of existing orders through WorkMagic's Enrich Order API.

    Rows need ``order_id``, ``order_timestamp``, ``sales_amount``, ``profit_amount`` and
    optionally ``currency``. Besides the shared parameters:

    :param max_order_age: orders whose ``order_timestamp`` is older than this before the run's
        ``data_interval_end`` are skipped and reported (WorkMagic: "4 weeks").
    :param verify: read the sent orders back (GET, paginated by time window) and report missing
        or different ones in the summary.
    :param verify_limit: ``limit`` of one GET page.
    :param resume: on a retry of the task, read back first and send only what is not there yet.
    """

    schema = "enrich"
    id_field = "order_id"
    time_field = "order_timestamp"
    api_name = "enrich"

    def __init__(
        self,
        *,
        max_order_age: timedelta = timedelta(days=28),
        verify: bool = False,
        verify_limit: int = 100,
        resume: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if max_order_age <= timedelta(0):
            raise WorkMagicConfigError(f"max_order_age must be positive, got {max_order_age}")
        self.max_order_age = max_order_age
        self.verify = verify
        self.verify_limit = verify_limit
        self.resume = resume

    def api_endpoint(self, settings: WorkMagicSettings) -> ApiEndpoint:
        from workmagic_provider.hooks.api import ApiEndpoint

        return ApiEndpoint.enrich(settings)

    def cutoff(self, context: Context) -> datetime | None:
        end = context.get("data_interval_end")
        if end is None:
            raise WorkMagicConfigError(
                f"task {self.task_id}: the run has no data interval; the four-week rule is "
                "measured from data_interval_end"
            )
        return to_utc(end) - self.max_order_age

    def already_applied(
        self, client: WorkMagicApiClient, orders: list[ApiOrder], context: Context
    ) -> set[str]:
        ti = context.get("ti")
        if (
            not self.resume
            or ti is None
            or int(getattr(ti, "try_number", 1) or 1) <= 1
            or not orders
        ):
            return set()
        stored = self._read_back(client, orders)
        done = {o.order_id for o in orders if _same(o, stored.get(o.order_id))}
        self.log.info(
            "retry (try %s): %d of %d orders are already applied by an earlier try; sending "
            "the other %d",
            ti.try_number,
            len(done),
            len(orders),
            len(orders) - len(done),
        )
        return done

    def verify_sent(
        self, client: WorkMagicApiClient, orders: list[ApiOrder], result: SendResult
    ) -> dict[str, Any] | None:
        if not self.verify:
            return None
        not_accepted = {p.order_id for p in result.problems}
        accepted = [o for o in orders if o.order_id not in not_accepted]
        if not accepted:
            return {"checked": 0, "matched": 0, "missing": 0, "different": 0, "requests": 0}
        stored = self._read_back(client, accepted)
        missing, different = [], []
        for order in accepted:
            found = stored.get(order.order_id)
            if found is None:
                missing.append(order.order_id)
            elif not _same(order, found):
                different.append(order.order_id)
        report = {
            "checked": len(accepted),
            "matched": len(accepted) - len(missing) - len(different),
            "missing": len(missing),
            "different": len(different),
            "requests": self._last_fetch_requests,
            "examples": (missing + different)[: self.max_reported],
        }
        if missing or different:
            self.log.warning(
                "verify: %d of %d sent orders missing and %d different when read back "
                "(WorkMagic shows today's and yesterday's orders after its next refresh), "
                "e.g. %s",
                len(missing),
                len(accepted),
                len(different),
                ", ".join((missing + different)[:5]),
            )
        else:
            self.log.info("verify: all %d sent orders read back unchanged", len(accepted))
        return report

    _last_fetch_requests = 0

    def _read_back(self, client: WorkMagicApiClient, orders: list[ApiOrder]) -> dict[str, Any]:
        stamps = [o.timestamp for o in orders if o.timestamp is not None]
        if not stamps:
            return {}
        fetched = client.fetch_enriched(min(stamps), max(stamps), limit=self.verify_limit)
        self._last_fetch_requests = fetched.requests
        if fetched.truncated_windows:
            self.log.warning(
                "read-back: %d window(s) hold more than %d orders within a millisecond; some "
                "orders there could not be read back",
                len(fetched.truncated_windows),
                self.verify_limit,
            )
        return fetched.orders


def _same(order: ApiOrder, stored: dict[str, Any] | None) -> bool:
    from workmagic_provider.hooks.api import same_enrichment

    return same_enrichment(json.loads(order.body), stored)


class PushOrdersToWorkMagicOperator(_OrdersToApiOperator):
    """Send full custom-site orders to WorkMagic's Orders API (``POST /api/orders``).

    Rows are custom-site orders (spec §2: ``id``, ``created_at``, ``updated_at``,
    ``total_price``, ...; unknown fields pass through). The key is the connection's
    ``orders_api_key``, the URL its ``orders_api_url``. Same inputs, validation, batching,
    retries, rejected sidecar and summary as :class:`EnrichOrdersOperator`.
    """

    schema = "custom-site"
    id_field = "id"
    time_field = "updated_at"
    api_name = "orders"

    def api_endpoint(self, settings: WorkMagicSettings) -> ApiEndpoint:
        from workmagic_provider.hooks.api import ApiEndpoint

        return ApiEndpoint.orders(settings)


__all__ = ["EnrichOrdersOperator", "PushOrdersToWorkMagicOperator"]
