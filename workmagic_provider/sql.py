"""SQL the warehouse flows send: Snowflake ``COPY INTO <location>`` and BigQuery ``EXPORT DATA``.

Pure functions, no connection needed:

* window timestamps are generated here from the data interval and rendered as strict literals
  with an explicit format (Snowflake) or passed as ``TIMESTAMP`` query parameters (BigQuery);
* identifiers a user gives (table, column, storage integration, stage) are validated against a
  strict grammar and quoted; anything else is refused with an error naming the argument;
* a user's own SELECT is theirs: it is templated with the window macros (see
  :func:`window_macros`), must be exactly one query, and must use both window bounds;
* every statement built here is parsed with ``sqlglot`` in its dialect before it is returned.

WorkMagic's sample scripts build paths by string replacement from ``CURRENT_TIMESTAMP``
and select ``now() - 2 hours``; here the hour folder and the window both come from the run's
data interval, so any hour can be re-run or backfilled.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from workmagic_provider.exceptions import WorkMagicConfigError
from workmagic_provider.standards import (
    HARD_LIMIT_BYTES,
    HourFolder,
    hour_stamp,
    part_name,
    validate_account_id,
    validate_bucket,
    validate_role_arn,
)

SNOWFLAKE_FLOW = "snowflake"
BIGQUERY_FLOW = "bigquery"
DEFAULT_INTEGRATION = "S3_ORDER_EXPORT_TO_WORKMAGIC"
#: Query parameter names of the BigQuery window.
BQ_WINDOW_START, BQ_WINDOW_END = "window_start", "window_end"
#: Template variables (Jinja) a user's SELECT uses for the window bounds.
MACRO_START, MACRO_END = "workmagic_window_start", "workmagic_window_end"

_SF_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_$]{0,254}")
_SF_QUOTED = re.compile(r'"([A-Za-z0-9_$ -]{1,255})"')
_BQ_PLAIN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,1023}")
_BQ_COLUMN = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,299}")
_SAFE_FILE = re.compile(r"[A-Za-z0-9_.-]{1,255}")


# ----------------------------------------------------------------------------- identifiers
def _refuse(what: str, value: object, rule: str) -> WorkMagicConfigError:
    return WorkMagicConfigError(f"{what} {value!r} is not a valid identifier: {rule}")


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
        raise _refuse(what, value, rule)
    text = value.strip()
    parts: list[str] = []
    position = 0
    while True:
        quoted = _SF_QUOTED.match(text, position)
        plain = None if quoted else _SF_PLAIN.match(text, position)
        match = quoted or plain
        if match is None:
            raise _refuse(what, value, rule)
        parts.append(f'"{quoted.group(1)}"' if quoted else f'"{match.group(0).upper()}"')
        position = match.end()
        if position == len(text):
            break
        if text[position] != ".":
            raise _refuse(what, value, rule)
        position += 1
    if len(parts) > max_parts:
        raise _refuse(what, value, rule)
    return ".".join(parts)


def bigquery_table(value: object, what: str = "table") -> str:
    """Validate ``[project.]dataset.table`` (optionally in backticks) and return it quoted."""
    rule = (
        "use [project.]dataset.table with letters, digits, '_' or '-' in each part "
        "(optionally the whole name in backticks)"
    )
    if not isinstance(value, str):
        raise _refuse(what, value, rule)
    text = value.strip()
    if len(text) > 2 and text.startswith("`") and text.endswith("`"):
        text = text[1:-1]
    parts = text.split(".")
    if not 2 <= len(parts) <= 3 or not all(_BQ_PLAIN.fullmatch(p) for p in parts):
        raise _refuse(what, value, rule)
    return ".".join(f"`{p}`" for p in parts)


def bigquery_column(value: object, what: str = "column") -> str:
    if not isinstance(value, str) or not _BQ_COLUMN.fullmatch(value.strip()):
        raise _refuse(what, value, "use letters, digits and '_' (not starting with a digit)")
    return f"`{value.strip()}`"


def sql_string(value: str) -> str:
    """A single-quoted string literal (``'`` doubled, backslashes escaped for Snowflake)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


# ----------------------------------------------------------------------------- windows
def _utc(moment: datetime, what: str) -> datetime:
    if not isinstance(moment, datetime) or moment.tzinfo is None or moment.utcoffset() is None:
        raise WorkMagicConfigError(f"{what} must be an aware datetime, got {moment!r}")
    return moment.astimezone(timezone.utc)


def snowflake_timestamp(moment: datetime) -> str:
    """A strict, session-independent ``TIMESTAMP_TZ`` literal of ``moment`` in UTC."""
    text = _utc(moment, "window bound").strftime("%Y-%m-%d %H:%M:%S.%f +00:00")
    return f"TO_TIMESTAMP_TZ('{text}', 'YYYY-MM-DD HH24:MI:SS.FF6 TZH:TZM')"


def bigquery_timestamp_value(moment: datetime) -> str:
    """A ``TIMESTAMP`` query parameter value (the format google-cloud-bigquery sends)."""
    return _utc(moment, "window bound").strftime("%Y-%m-%d %H:%M:%S.%f+00:00")


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


def window_macros(dialect: str, window: tuple[datetime, datetime]) -> dict[str, str]:
    """Template variables of a user's SELECT: ``workmagic_window_start``/``workmagic_window_end``.

    Snowflake: strict timestamp literals. BigQuery: the ``@window_start``/``@window_end``
    parameter references (the values travel as query parameters, never in the text).
    """
    if dialect == "snowflake":
        start, end = (snowflake_timestamp(m) for m in window)
    elif dialect == "bigquery":
        _utc(window[0], "window start"), _utc(window[1], "window end")
        start, end = f"@{BQ_WINDOW_START}", f"@{BQ_WINDOW_END}"
    else:
        raise WorkMagicConfigError(f"dialect must be 'snowflake' or 'bigquery', got {dialect!r}")
    return {MACRO_START: start, MACRO_END: end}


# ----------------------------------------------------------------------------- parsing
def parse_one(sql: str, dialect: str, expected: tuple[type, ...], what: str) -> Any:
    """Parse ``sql`` with sqlglot; it must be exactly one statement of an ``expected`` type."""
    import sqlglot
    from sqlglot.errors import ParseError, SqlglotError

    try:
        statements = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
    except ParseError as err:
        raise WorkMagicConfigError(f"{what} does not parse as {dialect} SQL: {err}") from err
    except SqlglotError as err:  # e.g. an unterminated /* comment or string (TokenError)
        raise WorkMagicConfigError(
            f"{what} does not parse as {dialect} SQL: {str(err)[:300]}"
        ) from None
    if len(statements) != 1:
        raise WorkMagicConfigError(
            f"{what} must be exactly one statement, got {len(statements)} "
            "(remove extra ';'-separated statements)"
        )
    statement = statements[0]
    if not isinstance(statement, expected):
        raise WorkMagicConfigError(
            f"{what} must be a {' or '.join(t.__name__ for t in expected)} statement, got "
            f"{type(statement).__name__}"
        )
    return statement


_COMMENT_OR_STRING = re.compile(
    r"('(?:[^'\\]|\\.|'')*'|\"(?:[^\"]|\"\")*\"|`[^`]*`|\$\$.*?\$\$)"  # kept
    r"|--[^\n]*|//[^\n]*|#[^\n]*|/\*.*?\*/",  # dropped
    re.DOTALL,
)


def without_comments(sql: str) -> str:
    """``sql`` with its comments (``--``, ``//``, ``#``, ``/* */``) blanked, strings kept."""
    return _COMMENT_OR_STRING.sub(lambda m: m.group(1) or " ", sql)


def user_select(sql: str, dialect: str, window_tokens: Sequence[str]) -> str:
    """Check a user's (rendered) SELECT: one query, no trailing ';', uses both window bounds."""
    from sqlglot import exp

    if not isinstance(sql, str) or not sql.strip():
        raise WorkMagicConfigError("sql must be a non-empty SELECT")
    text = sql.strip()
    while text.endswith(";"):
        text = text[:-1].rstrip()
    parse_one(text, dialect, (exp.Query,), "sql")
    code = without_comments(text)  # a macro inside a comment selects nothing
    missing = [token for token in window_tokens if token not in code]
    if missing:
        raise WorkMagicConfigError(
            "sql must select rows of the run's window with {{ workmagic_window_start }} and "
            "{{ workmagic_window_end }} (e.g. WHERE updated_at >= {{ workmagic_window_start }} "
            "AND updated_at < {{ workmagic_window_end }}); a window of now() cannot be re-run or "
            "backfilled. Pass "
            "require_window=False to opt out."
        )
    return text


# ----------------------------------------------------------------------------- Snowflake
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
    if _utc(window[1], "window end") < _utc(window[0], "window start"):
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


def checks_sql(check_select: str, dialect: str) -> str:
    """Parse the whole-window check query (built in ``warehouse.checks``) in its dialect."""
    from sqlglot import exp

    parse_one(check_select, dialect, (exp.Select,), "whole-window check query")
    return check_select


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

    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise WorkMagicConfigError(f"validate_sample must be a positive integer, got {limit!r}")
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
        if not _SAFE_FILE.fullmatch(name) or not name.startswith(stamp):
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


TEMP_STAGE = "WORKMAGIC_TMP_STAGE"


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


@dataclass(frozen=True)
class SnowflakeSetup:
    """The one-time setup statements, in order, and what to do with their results."""

    statements: list[str]

    def script(self) -> str:
        return ";\n\n".join(self.statements) + ";\n"


def snowflake_setup_sql(
    *,
    account_id: str,
    bucket: str,
    role_arn: str,
    external_id: str,
    storage_integration: str = DEFAULT_INTEGRATION,
    stage: str | None = None,
    replace: bool = False,
    role: str | None = None,
    table: str | None = None,
    stage_schema: str | None = None,
) -> SnowflakeSetup:
    """``CREATE STORAGE INTEGRATION`` + ``DESC INTEGRATION`` (+ the stage used for pruning).

    The integration may only write under ``s3://{bucket}/account-{id}/``. The stage (same URL,
    same integration) lets the operator list and remove stale parts through Snowflake, whose
    IAM user is the one WorkMagic trusts. ``role``: the role Airflow's Snowflake connection
    uses, which gets USAGE on the integration and the stage (or CREATE STAGE on
    ``stage_schema`` for the temporary stage) and SELECT on ``table``.
    """
    from sqlglot import exp

    if not role_arn or not external_id:
        raise WorkMagicConfigError(
            "setup SQL needs role_arn and external_id from the workmagic connection"
        )
    validate_role_arn(role_arn)
    if "'" in external_id or "\\" in external_id:
        raise WorkMagicConfigError("external_id must not contain quotes or backslashes")
    location = f"s3://{validate_bucket(bucket)}/account-{validate_account_id(account_id)}/"
    integration = snowflake_identifier(storage_integration, "storage_integration")
    create = "CREATE OR REPLACE" if replace else "CREATE"
    exists = "" if replace else " IF NOT EXISTS"
    statements = [
        f"{create} STORAGE INTEGRATION{exists} {integration} TYPE = EXTERNAL_STAGE "
        f"STORAGE_PROVIDER = 'S3' ENABLED = TRUE STORAGE_AWS_ROLE_ARN = {sql_string(role_arn)} "
        f"STORAGE_ALLOWED_LOCATIONS = ({sql_string(location)}) "
        f"STORAGE_AWS_EXTERNAL_ID = {sql_string(external_id)}",
        f"DESC INTEGRATION {integration}",
    ]
    if stage:
        statements.append(
            f"{create} STAGE{exists} {snowflake_identifier(stage, 'stage', max_parts=3)} "
            f"URL = {sql_string(location)} STORAGE_INTEGRATION = {integration} "
            "FILE_FORMAT = (TYPE = JSON COMPRESSION = GZIP)"
        )
    if role:
        statements.extend(
            snowflake_grants(
                role, storage_integration, stage=stage, table=table, stage_schema=stage_schema
            )
        )
    for statement in statements:
        parse_one(statement, "snowflake", (exp.Create, exp.Describe, exp.Grant), "setup statement")
    return SnowflakeSetup(statements)


def snowflake_grants(
    role: str,
    storage_integration: str,
    *,
    stage: str | None = None,
    table: str | None = None,
    stage_schema: str | None = None,
) -> list[str]:
    """What the role of Airflow's Snowflake connection needs for the hourly unload."""
    to = f"TO ROLE {snowflake_identifier(role, 'role')}"
    integration = snowflake_identifier(storage_integration, "storage_integration")
    grants = [f"GRANT USAGE ON INTEGRATION {integration} {to}"]
    if stage:
        grants.append(
            f"GRANT USAGE ON STAGE {snowflake_identifier(stage, 'stage', max_parts=3)} {to}"
        )
    elif stage_schema:
        schema = snowflake_identifier(stage_schema, "stage_schema", max_parts=2)
        grants.append(f"GRANT CREATE STAGE ON SCHEMA {schema} {to}")
    if table:
        quoted = snowflake_identifier(table, "table", max_parts=3)
        parts = quoted.split(".")
        if len(parts) == 3:
            grants.append(f"GRANT USAGE ON DATABASE {parts[0]} {to}")
        if len(parts) >= 2:
            grants.append(f"GRANT USAGE ON SCHEMA {'.'.join(parts[:-1])} {to}")
        grants.append(f"GRANT SELECT ON TABLE {quoted} {to}")
    return grants


# ----------------------------------------------------------------------------- BigQuery
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
    if not _SAFE_FILE.fullmatch(export_id):
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

    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise WorkMagicConfigError(f"validate_sample must be a positive integer, got {limit!r}")
    statement = f"SELECT * FROM ({select_sql}) LIMIT {limit}"
    parse_one(statement, "bigquery", (exp.Select,), "sample query")
    return statement


# ----------------------------------------------------------------------------- CLI
def setup_sql_main(argv: Sequence[str] | None = None, *, out: Any = None) -> int:
    """``workmagic-provider setup-sql snowflake``: print the one-time Snowflake setup SQL.

    Values come from a ``workmagic`` connection (``--conn-id``) or flags. This is the only
    place the External ID is printed: the user asked for this SQL.
    """
    out = out or sys.stdout
    parser = argparse.ArgumentParser(
        prog="workmagic-provider setup-sql",
        description="Print the one-time warehouse setup SQL for WorkMagic.",
    )
    parser.add_argument("warehouse", choices=("snowflake",))
    parser.add_argument("--conn-id", default=None, help="workmagic connection to read")
    parser.add_argument("--account", default=None, help="WorkMagic account id")
    parser.add_argument("--bucket", default=None, help="default workmagic-inbound-data")
    parser.add_argument("--role-arn", default=None)
    parser.add_argument("--external-id", default=None)
    parser.add_argument("--integration", default=DEFAULT_INTEGRATION)
    parser.add_argument(
        "--stage", default=None, help="stage for stale-part removal (db.schema.name)"
    )
    parser.add_argument("--replace", action="store_true", help="CREATE OR REPLACE")
    parser.add_argument(
        "--role", default=None, help="role of Airflow's Snowflake connection: print its grants"
    )
    parser.add_argument("--table", default=None, help="source table to grant SELECT on")
    parser.add_argument(
        "--stage-schema",
        default=None,
        help="without --stage: schema (db.schema) where the run creates its temporary stage",
    )
    args = parser.parse_args(argv)
    values = {
        "account_id": args.account,
        "bucket": args.bucket,
        "role_arn": args.role_arn,
        "external_id": args.external_id,
    }
    try:
        if args.conn_id:
            from workmagic_provider.hooks.workmagic import WorkMagicHook

            settings = WorkMagicHook(workmagic_conn_id=args.conn_id).settings
            from_conn = {
                "account_id": settings.account_id,
                "bucket": settings.bucket,
                "role_arn": settings.role_arn,
                "external_id": settings.external_id,
            }
            values = {k: v or from_conn[k] for k, v in values.items()}
        missing = [k for k in ("account_id", "role_arn", "external_id") if not values[k]]
        if missing:
            raise WorkMagicConfigError(
                f"missing {', '.join(missing)}: pass --conn-id of a workmagic connection or "
                "the flags --account, --role-arn, --external-id"
            )
        setup = snowflake_setup_sql(
            account_id=str(values["account_id"]),
            bucket=values["bucket"] or "workmagic-inbound-data",
            role_arn=str(values["role_arn"]),
            external_id=str(values["external_id"]),
            storage_integration=args.integration,
            stage=args.stage,
            replace=args.replace,
            role=args.role,
            table=args.table,
            stage_schema=args.stage_schema,
        )
    except WorkMagicConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print("-- 1. Run as ACCOUNTADMIN (or a role with CREATE INTEGRATION).", file=out)
    print(
        "-- 2. From DESC INTEGRATION copy STORAGE_AWS_IAM_USER_ARN into WorkMagic "
        "(Upload order data > Snowflake).",
        file=out,
    )
    if args.stage:
        print("-- 3. The stage lets the operator remove stale parts (pass stage=...).", file=out)
    if args.role:
        print(
            f"-- 4. The GRANTs give the role {args.role} (Airflow's Snowflake connection) what "
            "the hourly unload uses.",
            file=out,
        )
    else:
        print(
            "-- Pass --role ROLE (the role of Airflow's Snowflake connection) to print the "
            "GRANTs it needs.",
            file=out,
        )
    print(setup.script(), file=out, end="")
    return 0


__all__ = [
    "bigquery_export_sql",
    "bigquery_query_parameters",
    "bigquery_sample_sql",
    "bigquery_select",
    "bigquery_staging_uri",
    "setup_sql_main",
    "snowflake_identifier",
    "snowflake_list_sql",
    "snowflake_remove_sql",
    "snowflake_sample_sql",
    "snowflake_select",
    "snowflake_setup_sql",
    "snowflake_unload_sql",
    "window_macros",
]
