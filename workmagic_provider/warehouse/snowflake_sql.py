"""Snowflake SQL of the hourly unload: ``COPY INTO <location>`` and the statements around it.

Pure functions, no connection needed. The window bounds are strict ``TIMESTAMP_TZ`` literals
with an explicit format, so no session setting changes what they mean; identifiers a user gives
(table, column, storage integration, stage) are validated and quoted; every statement is
parsed in Snowflake's dialect before it is returned. The one-time setup is in
:mod:`workmagic_provider.warehouse.snowflake_setup`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import datetime

from workmagic_provider.exceptions import WorkMagicConfigError
from workmagic_provider.standards import (
    HARD_LIMIT_BYTES,
    HourFolder,
    hour_stamp,
    part_name,
    validate_account_id,
    validate_bucket,
)
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

SNOWFLAKE_FLOW = "snowflake"
#: The session-scoped stage made when no permanent one was set up.
TEMP_STAGE = "WORKMAGIC_TMP_STAGE"

_SF_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_$]{0,254}")
_SF_QUOTED = re.compile(r'"([A-Za-z0-9_$ -]{1,255})"')


def snowflake_identifier(value: object, what: str = "identifier", *, max_parts: int = 1) -> str:
    """Validate a (possibly qualified) Snowflake name and return it quoted.

    Each dot-separated part is either plain (letters, digits, ``_``, ``$``; not starting with a
    digit), rendered quoted in upper case exactly as Snowflake resolves an unquoted name, or
    already double-quoted (letters, digits, space, ``_$-``), kept as written. Anything else
    (quotes inside, ``;``, comments, parentheses, more parts than ``max_parts``) is refused.
    """
    rule = (
        f"use up to {max_parts} dot-separated part(s) of letters, digits, '_' or '$' "
        '(or a double-quoted part of letters, digits, spaces, "_$-")'
    )
    if not isinstance(value, str) or not value.strip():
        raise refuse(what, value, rule)
    text = value.strip()
    parts: list[str] = []
    position = 0
    while True:
        quoted = _SF_QUOTED.match(text, position)
        plain = None if quoted else _SF_PLAIN.match(text, position)
        match = quoted or plain
        if match is None:
            raise refuse(what, value, rule)
        parts.append(f'"{quoted.group(1)}"' if quoted else f'"{match.group(0).upper()}"')
        position = match.end()
        if position == len(text):
            break
        if text[position] != ".":
            raise refuse(what, value, rule)
        position += 1
    if len(parts) > max_parts:
        raise refuse(what, value, rule)
    return ".".join(parts)


def snowflake_timestamp(moment: datetime) -> str:
    """A strict, session-independent ``TIMESTAMP_TZ`` literal of ``moment`` in UTC."""
    text = utc(moment, "window bound").strftime("%Y-%m-%d %H:%M:%S.%f +00:00")
    return f"TO_TIMESTAMP_TZ('{text}', 'YYYY-MM-DD HH24:MI:SS.FF6 TZH:TZM')"


def snowflake_window_macros(window: tuple[datetime, datetime]) -> dict[str, str]:
    """``{{ workmagic_window_start }}``/``_end`` of a user's SELECT: strict timestamp literals."""
    start, end = (snowflake_timestamp(m) for m in window)
    return {MACRO_START: start, MACRO_END: end}


def snowflake_select(
    window: tuple[datetime, datetime],
    *,
    table: str | None = None,
    updated_at_column: str = "updated_at",
    sql: str | None = None,
    require_window: bool = True,
) -> str:
    """The source of an unload: the window's rows of ``table``, or the user's rendered SELECT.

    Either ``table`` (+ ``updated_at_column``) or ``sql``. Its columns are read at run time
    (:func:`snowflake_describe_sql`) and written as WorkMagic's fields by
    :func:`snowflake_json_select`.
    """
    if (table is None) == (sql is None):
        raise WorkMagicConfigError("give either table (with updated_at_column) or sql, not both")
    start, end = (snowflake_timestamp(m) for m in window)
    if utc(window[1], "window end") < utc(window[0], "window start"):
        raise WorkMagicConfigError("window end is before its start")
    if table is not None:
        source = snowflake_identifier(table, "table", max_parts=3)
        column = snowflake_identifier(updated_at_column, "updated_at_column")
        return f"SELECT * FROM {source} WHERE {column} >= {start} AND {column} < {end}"
    assert sql is not None
    return user_select(sql, "snowflake", (start, end) if require_window else ())


def snowflake_describe_sql(source: str) -> str:
    """``SELECT * FROM (source) LIMIT 0``: no rows, only the columns (names and types)."""
    from sqlglot import exp

    statement = f"SELECT * FROM ({source}) AS workmagic_src LIMIT 0"
    parse_one(statement, "snowflake", (exp.Select,), "column query")
    return statement


def snowflake_json_select(source: str, object_sql: str) -> str:
    """The unload's inner query: one ``json_row`` object per source row."""
    from sqlglot import exp

    statement = f"SELECT {object_sql} AS json_row FROM ({source}) AS workmagic_src"
    parse_one(statement, "snowflake", (exp.Select,), "JSON query")
    return statement


#: Pins the session's time zone: ``TIMESTAMP_NTZ``/``LTZ`` comparisons with the window's
#: ``TIMESTAMP_TZ`` bounds, and ``CONVERT_TIMEZONE``, read it.
SNOWFLAKE_SESSION_SETUP = ("ALTER SESSION SET TIMEZONE = 'UTC'",)


def snowflake_file_prefix(folder: HourFolder, generation: str | None = None) -> str:
    """``YYYY-MM-DD-HH-snowflake-{generation}-0000``: Snowflake appends ``_0_0_0.json.gz``.

    The run's generation keeps two runs of one hour apart (see ``generations``).
    """
    return part_name(folder.hour, SNOWFLAKE_FLOW, 0, suffix="", generation=generation)


def snowflake_unload_check(max_file_size: object) -> None:
    """``MAX_FILE_SIZE`` must keep every file below WorkMagic's 1.5 MB limit."""
    if isinstance(max_file_size, bool) or not isinstance(max_file_size, int):
        raise WorkMagicConfigError(f"max_file_size must be an integer, got {max_file_size!r}")
    if not 1024 <= max_file_size < HARD_LIMIT_BYTES:
        raise WorkMagicConfigError(
            f"max_file_size must be between 1024 and {HARD_LIMIT_BYTES - 1} bytes (WorkMagic "
            f"skips files of 1.5 MB or more), got {max_file_size}"
        )


def snowflake_unload_sql(
    folder: HourFolder,
    bucket: str,
    select_sql: str,
    *,
    storage_integration: str,
    max_file_size: int,
    generation: str | None = None,
) -> str:
    """``COPY INTO 's3://bucket/account-{id}/{category}/YYYY/MM/DD/HH/{prefix}' FROM (...)``."""
    from sqlglot import exp

    snowflake_unload_check(max_file_size)
    prefix = snowflake_file_prefix(folder, generation)
    location = f"s3://{validate_bucket(bucket)}/{folder.prefix}{prefix}"
    integration = snowflake_identifier(storage_integration, "storage_integration")
    statement = (
        f"COPY INTO {sql_string(location)} FROM ({select_sql}) "
        f"STORAGE_INTEGRATION = {integration} "
        "FILE_FORMAT = (TYPE = JSON COMPRESSION = GZIP) "
        f"MAX_FILE_SIZE = {max_file_size} OVERWRITE = TRUE "
        "DETAILED_OUTPUT = TRUE"
    )
    copy = parse_one(statement, "snowflake", (exp.Copy,), "unload statement")
    target = copy.this.this if isinstance(copy.this, exp.Table) else copy.this
    sources = copy.args.get("files") or []
    # An unload: the target is a string literal (a location, not a table), the source a query.
    if not (isinstance(target, exp.Literal) and target.is_string and target.this == location):
        raise WorkMagicConfigError("unload statement must target the literal s3:// location")
    if len(sources) != 1 or not isinstance(sources[0], exp.Subquery):
        raise WorkMagicConfigError("unload statement must read from exactly one subquery")
    return statement


def snowflake_sample_sql(select_sql: str, limit: int) -> str:
    from sqlglot import exp

    limit = sample_limit(limit)
    statement = f"SELECT json_row FROM ({select_sql}) AS workmagic_sample LIMIT {limit}"
    parse_one(statement, "snowflake", (exp.Select,), "sample query")
    return statement


def snowflake_stage_path(stage: str, folder: HourFolder) -> str:
    """``@stage/{category}/YYYY/MM/DD/HH/`` of a stage whose URL is the account folder."""
    name = snowflake_identifier(stage, "stage", max_parts=3)
    return f"@{name}/{folder.prefix[len(folder.account_prefix) :]}"


def snowflake_owned_regex(folder: HourFolder) -> str:
    """Snowflake ``PATTERN`` of the names this flow owns in an hour folder."""
    return f".*/{hour_stamp(folder.hour)}-{SNOWFLAKE_FLOW}-[0-9]{{4}}[^/]*"


def snowflake_list_sql(stage: str, folder: HourFolder) -> str:
    from sqlglot import exp

    statement = (
        f"LIST {snowflake_stage_path(stage, folder)} "
        f"PATTERN = {sql_string(snowflake_owned_regex(folder))}"
    )
    parse_one(statement, "snowflake", (exp.ListStage,), "LIST statement")
    return statement


def snowflake_remove_sql(stage: str, folder: HourFolder, names: Sequence[str]) -> str:
    """``REMOVE @stage/.../HH/ PATTERN = '.*/(a|b)'`` of exactly the given file names."""
    from sqlglot import exp

    if not names:
        raise WorkMagicConfigError("no file names to remove")
    stamp = f"{hour_stamp(folder.hour)}-{SNOWFLAKE_FLOW}-"
    for name in names:
        if not SAFE_FILE.fullmatch(name) or not name.startswith(stamp):
            raise WorkMagicConfigError(f"refusing to remove {name!r}: not a part of this hour")
    alternatives = "|".join(name.replace(".", "[.]") for name in names)
    pattern = sql_string(f".*/({alternatives})")
    statement = f"REMOVE {snowflake_stage_path(stage, folder)} PATTERN = {pattern}"
    quiet = logging.getLogger("sqlglot")  # REMOVE parses as a generic Command: no warning
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        parsed = parse_one(statement, "snowflake", (exp.Command,), "REMOVE statement")
    finally:
        quiet.setLevel(level)
    if str(parsed.this).upper() != "REMOVE":
        raise WorkMagicConfigError("REMOVE statement did not parse as REMOVE")
    return statement


def snowflake_temp_stage_sql(
    *, account_id: str, bucket: str, storage_integration: str, stage: str = TEMP_STAGE
) -> str:
    """A session-scoped stage over the account folder (when no permanent stage was set up)."""
    from sqlglot import exp

    location = f"s3://{validate_bucket(bucket)}/account-{validate_account_id(account_id)}/"
    statement = (
        f"CREATE TEMPORARY STAGE IF NOT EXISTS {snowflake_identifier(stage, 'stage')} "
        f"URL = {sql_string(location)} "
        f"STORAGE_INTEGRATION = {snowflake_identifier(storage_integration, 'storage_integration')}"
    )
    parse_one(statement, "snowflake", (exp.Create,), "temporary stage statement")
    return statement
