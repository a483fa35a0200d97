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
from collections.abc import Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from workmagic_provider.exceptions import WorkMagicConfigError

if TYPE_CHECKING:
    from workmagic_provider.hooks.api import ApiOrder
    from workmagic_provider.operators.inputs import RejectedWriter
    from workmagic_provider.schemas import SchemaOptions, ValidationReport

log = logging.getLogger(__name__)

Line = tuple[int, "bytes | str"]
Lines = Iterable[Line]


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
    from workmagic_provider.files.rows import cursor_records, numbered_records

    conn = source_hook(conn_id).get_conn()
    number = 0
    try:
        cursor = conn.cursor()
        try:
            if parameters:
                cursor.execute(sql, parameters)
            else:
                cursor.execute(sql)
            for number, record in numbered_records(cursor_records(cursor, chunk_size)):
                yield number, record
            (logger or log).info("read %d rows from %s", number, conn_id)
        finally:
            cursor.close()
    finally:
        conn.close()


def file_lines(sources: Any, logger: Any = None) -> Generator[Line, None, int]:
    """Lines of JSON Lines files (plain or gzip), numbered on across the files."""
    from workmagic_provider.files.jsonl import read_json_lines
    from workmagic_provider.files.rows import numbered
    from workmagic_provider.operators.inputs import as_list, as_storage_path

    def read_one(path: Any, offset: int) -> Generator[Line, None, int]:
        last = offset
        for number, line in read_json_lines(as_storage_path(path)):
            last = offset + number
            yield last, line
        return last

    def announce(path: Any, first_row: int) -> None:
        (logger or log).info("reading %s (rows numbered from %d)", path, first_row)

    return numbered(as_list(sources), read_one, on_input=announce)


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
    from workmagic_provider.files.rows import record_lines
    from workmagic_provider.schemas.validate import records_as_json_lines

    if sql:
        records = sql_records(str(source_conn_id), sql, sql_parameters, chunk_size, logger)
        return records_as_json_lines(records, report)
    if source:
        return file_lines(source, logger)
    return record_lines(rows, report)


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
    from workmagic_provider.schemas import validate_numbered

    collected = CollectedOrders(report)
    valid = validate_numbered(
        lines, schema, report=report, options=options, rejected=rejected.write
    )
    for row, body in valid:
        collected.add(order_from_json(row, body, id_field, time_field))
    return collected


__all__ = [
    "CollectedOrders",
    "collect_orders",
    "file_lines",
    "input_lines",
    "source_hook",
    "sql_records",
]
