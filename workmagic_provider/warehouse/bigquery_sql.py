"""BigQuery SQL of the hourly export: ``EXPORT DATA`` of the window into a staging prefix.

Pure functions, no connection needed. The window travels as ``TIMESTAMP`` query parameters
(``@window_start``/``@window_end``), never in the text; table and column names are validated
and quoted; every statement is parsed in BigQuery's dialect before it is returned.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from workmagic_provider.exceptions import WorkMagicConfigError
from workmagic_provider.standards import HourFolder, hour_stamp, validate_bucket
from workmagic_provider.warehouse.sql_common import (
    MACRO_END,
    MACRO_START,
    SAFE_FILE,
    parse_one,
    refuse,
    sample_limit,
    sql_string,
    user_select,
    utc,
)

BIGQUERY_FLOW = "bigquery"
#: Query parameter names of the BigQuery window.
BQ_WINDOW_START, BQ_WINDOW_END = "window_start", "window_end"

_BQ_PLAIN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,1023}")
_BQ_COLUMN = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,299}")


def bigquery_table(value: object, what: str = "table") -> str:
    """Validate ``[project.]dataset.table`` (optionally in backticks) and return it quoted."""
    rule = (
        "use [project.]dataset.table with letters, digits, '_' or '-' in each part "
        "(optionally the whole name in backticks)"
    )
    if not isinstance(value, str):
        raise refuse(what, value, rule)
    text = value.strip()
    if len(text) > 2 and text.startswith("`") and text.endswith("`"):
        text = text[1:-1]
    parts = text.split(".")
    if not 2 <= len(parts) <= 3 or not all(_BQ_PLAIN.fullmatch(p) for p in parts):
        raise refuse(what, value, rule)
    return ".".join(f"`{p}`" for p in parts)


def bigquery_column(value: object, what: str = "column") -> str:
    if not isinstance(value, str) or not _BQ_COLUMN.fullmatch(value.strip()):
        raise refuse(what, value, "use letters, digits and '_' (not starting with a digit)")
    return f"`{value.strip()}`"


def bigquery_timestamp_value(moment: datetime) -> str:
    """A ``TIMESTAMP`` query parameter value (the format google-cloud-bigquery sends)."""
    return utc(moment, "window bound").strftime("%Y-%m-%d %H:%M:%S.%f+00:00")


def bigquery_query_parameters(window: tuple[datetime, datetime]) -> list[dict[str, Any]]:
    """The window as named ``TIMESTAMP`` parameters in the BigQuery REST API shape."""
    return [
        {
            "name": name,
            "parameterType": {"type": "TIMESTAMP"},
            "parameterValue": {"value": bigquery_timestamp_value(moment)},
        }
        for name, moment in zip((BQ_WINDOW_START, BQ_WINDOW_END), window, strict=True)
    ]


def bigquery_window_macros(window: tuple[datetime, datetime]) -> dict[str, str]:
    """``{{ workmagic_window_start }}``/``_end`` as the ``@window_start``/``@window_end``
    parameter references (the values travel as query parameters, never in the text)."""
    utc(window[0], "window start"), utc(window[1], "window end")
    return {MACRO_START: f"@{BQ_WINDOW_START}", MACRO_END: f"@{BQ_WINDOW_END}"}


def bigquery_select(
    *,
    table: str | None = None,
    updated_at_column: str = "updated_at",
    sql: str | None = None,
    require_window: bool = True,
) -> str:
    """The exported query: ``SELECT * FROM table WHERE col in [@window_start, @window_end)``."""
    if (table is None) == (sql is None):
        raise WorkMagicConfigError("give either table (with updated_at_column) or sql, not both")
    if table is not None:
        column = bigquery_column(updated_at_column, "updated_at_column")
        return (
            f"SELECT * FROM {bigquery_table(table)} "
            f"WHERE {column} >= @{BQ_WINDOW_START} AND {column} < @{BQ_WINDOW_END}"
        )
    assert sql is not None
    tokens = (f"@{BQ_WINDOW_START}", f"@{BQ_WINDOW_END}") if require_window else ()
    return user_select(sql, "bigquery", tokens)


def bigquery_staging_uri(staging: str, folder: HourFolder, export_id: str) -> str:
    """``gs://staging/.../YYYY-MM-DD-HH/{export id}/bigquery-*.json.gz``: one folder per export.

    The export lands in the customer's staging prefix, never in WorkMagic's folder: every row
    is validated (and timestamps rewritten) on the way from there into the hour folder.
    """
    bucket, prefix = split_gcs_uri(staging, "staging_uri")
    if not SAFE_FILE.fullmatch(export_id):
        raise WorkMagicConfigError(f"export id {export_id!r} is not a safe object name")
    return f"gs://{bucket}/{prefix}{hour_stamp(folder.hour)}/{export_id}/{BIGQUERY_FLOW}-*.json.gz"


def split_gcs_uri(uri: object, what: str) -> tuple[str, str]:
    """``gs://bucket/prefix/`` -> (bucket, ``prefix/``); the prefix may be empty."""
    if not isinstance(uri, str) or not uri.startswith("gs://"):
        raise WorkMagicConfigError(f"{what} must be a gs://bucket/prefix/ URI, got {uri!r}")
    bucket, _, prefix = uri[len("gs://") :].partition("/")
    validate_bucket(bucket)
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    if any(part in ("", ".", "..") for part in prefix.split("/")[:-1]) or "'" in prefix:
        raise WorkMagicConfigError(f"{what} has an unusable prefix: {uri!r}")
    return bucket, prefix


def bigquery_export_sql(uri: str, select_sql: str) -> str:
    from sqlglot import exp

    statement = (
        f"EXPORT DATA OPTIONS (uri = {sql_string(uri)}, "
        "format = 'JSON', compression = 'GZIP', overwrite = true) AS "
        f"{select_sql}"
    )
    parse_one(statement, "bigquery", (exp.Export,), "EXPORT DATA statement")
    return statement


def bigquery_sample_sql(select_sql: str, limit: int) -> str:
    from sqlglot import exp

    limit = sample_limit(limit)
    statement = f"SELECT * FROM ({select_sql}) LIMIT {limit}"
    parse_one(statement, "bigquery", (exp.Select,), "sample query")
    return statement
