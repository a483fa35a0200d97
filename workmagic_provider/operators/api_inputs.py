"""Where the API operators' orders come from: a SQL query, JSON Lines files or rows (XCom).

Every input becomes numbered lines, is validated by our schema (invalid rows go to the report
and the rejected sidecar, valid ones are never dropped) and collapses to one order per id (the
last row wins: WorkMagic says duplicate ids cause duplication).

SQL sources: any Airflow connection whose hook is a DB-API hook (common-sql ``DbApiHook``:
Postgres, MySQL, Snowflake, SQLite with ``apache-airflow-providers-sqlite``, ...), streamed with
``fetchmany`` so a large window is never held in memory twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from workmagic_provider.exceptions import WorkMagicConfigError

if TYPE_CHECKING:
    from workmagic_provider.hooks.api import ApiOrder
    from workmagic_provider.operators.inputs import RejectedWriter
    from workmagic_provider.schemas import SchemaOptions, ValidationReport

log = logging.getLogger(__name__)

Lines = Iterable[tuple[int, "bytes | str"]]


@dataclass
class CollectedOrders:
    """The valid orders of the input by id (last row wins), and the validation report."""

    report: ValidationReport
    orders: dict[str, ApiOrder] = field(default_factory=dict)
    duplicates: int = 0

    def add(self, order: ApiOrder) -> None:
        if self.orders.pop(order.order_id, None) is not None:
            self.duplicates += 1
        self.orders[order.order_id] = order


def source_hook(conn_id: str) -> Any:
    """The DB-API hook of an Airflow SQL connection (its database's provider must be installed)."""
    from airflow.sdk import BaseHook

    conn = BaseHook.get_connection(conn_id)
    try:
        hook = conn.get_hook()
    except Exception as err:
        raise WorkMagicConfigError(
            f"source connection {conn_id!r} has type {conn.conn_type!r}, whose hook is not "
            f"available ({type(err).__name__}); install that database's Airflow provider "
            f"(e.g. apache-airflow-providers-{conn.conn_type})"
        ) from None
    if not callable(getattr(hook, "get_conn", None)):
        raise WorkMagicConfigError(
            f"source connection {conn_id!r} ({conn.conn_type}) is not a SQL connection: its "
            "hook has no DB-API get_conn()"
        )
    return hook


def sql_records(
    conn_id: str,
    sql: str,
    parameters: Mapping[str, Any] | Sequence[Any] | None,
    chunk_size: int,
    logger: Any = None,
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Rows of ``sql`` as numbered mappings, fetched ``chunk_size`` at a time."""
    conn = source_hook(conn_id).get_conn()
    number = chunks = 0
    try:
        cursor = conn.cursor()
        try:
            if parameters:
                cursor.execute(sql, parameters)
            else:
                cursor.execute(sql)
            # Snowflake and Oracle fold unquoted names to upper case; our fields are lower.
            names = [
                d[0].lower() if str(d[0]).isupper() else d[0] for d in cursor.description or []
            ]
            while chunk := cursor.fetchmany(chunk_size):
                chunks += 1
                for values in chunk:
                    number += 1
                    yield number, dict(zip(names, values, strict=True))
            (logger or log).info("read %d rows from %s in %d chunk(s)", number, conn_id, chunks)
        finally:
            cursor.close()
    finally:
        conn.close()


def file_lines(sources: Any, logger: Any = None) -> Iterator[tuple[int, bytes | str]]:
    """Lines of JSON Lines files (plain or gzip), numbered on across the files."""
    from workmagic_provider.files.jsonl import read_json_lines
    from workmagic_provider.operators.inputs import as_list, as_storage_path

    offset = 0
    for path in as_list(sources):
        (logger or log).info("reading %s (rows numbered from %d)", path, offset + 1)
        last = offset
        for number, line in read_json_lines(as_storage_path(path)):
            last = offset + number
            yield last, line
        offset = last


def input_lines(
    *,
    sql: str | None,
    source_conn_id: str | None,
    sql_parameters: Mapping[str, Any] | Sequence[Any] | None,
    chunk_size: int,
    source: Any,
    rows: Any,
    report: ValidationReport,
    logger: Any = None,
) -> Lines:
    """The numbered lines of whichever input the task was given (sql=, source= or rows=)."""
    from workmagic_provider.schemas.validate import records_as_json_lines

    if sql:
        records = sql_records(str(source_conn_id), sql, sql_parameters, chunk_size, logger)
        return records_as_json_lines(records, report)
    if source:
        return file_lines(source, logger)
    return record_lines(rows, report)


def record_lines(rows: Any, report: ValidationReport) -> Lines:
    """Rows given as a list of mappings (e.g. an upstream XCom) as numbered JSON lines."""
    from workmagic_provider.schemas.validate import records_as_json_lines

    if isinstance(rows, (str, bytes, Mapping)) or not isinstance(rows, Iterable):
        raise WorkMagicConfigError(f"rows must be a list of mappings, got {type(rows).__name__}")
    return records_as_json_lines(enumerate(rows, start=1), report)


def collect_orders(
    lines: Lines,
    *,
    report: ValidationReport,
    schema: str,
    options: SchemaOptions | None,
    rejected: RejectedWriter,
    id_field: str,
    time_field: str | None,
) -> CollectedOrders:
    """Validate every line; keep the valid ones as orders, one per id (the last wins)."""
    from workmagic_provider.hooks.api import order_from_json
    from workmagic_provider.schemas import validate_json_lines

    # validate_json_lines is lazy and one-in-one-out: when it yields a valid row, the last
    # input it consumed is that row, so the row numbers are read off the input side.
    last = [0]

    def tracked() -> Iterator[tuple[int, bytes | str]]:
        for row, line in lines:
            last[0] = row
            yield row, line

    collected = CollectedOrders(report)
    valid = validate_json_lines(
        tracked(), schema, report=report, options=options, rejected=rejected.write
    )
    for body in valid:
        collected.add(order_from_json(last[0], body, id_field, time_field))
    return collected


__all__ = [
    "CollectedOrders",
    "collect_orders",
    "file_lines",
    "input_lines",
    "record_lines",
    "source_hook",
    "sql_records",
]
