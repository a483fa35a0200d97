"""What the warehouse SQL builders share: refusals, literals, parsing, the user's SELECT.

Every statement a builder returns is parsed here with ``sqlglot`` in its dialect first, and a
user's own SELECT is checked to be one query that uses both window bounds (the template
variables :data:`MACRO_START` and :data:`MACRO_END`), so any hour can be re-run or backfilled.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from workmagic_provider.exceptions import WorkMagicConfigError

#: Template variables (Jinja) a user's SELECT uses for the window bounds.
MACRO_START, MACRO_END = "workmagic_window_start", "workmagic_window_end"
#: An object name safe inside a pattern, a URI or a quoted literal.
SAFE_FILE = re.compile(r"[A-Za-z0-9_.-]{1,255}")


def refuse(what: str, value: object, rule: str) -> WorkMagicConfigError:
    """The error of an identifier that breaks ``rule`` (naming the argument)."""
    return WorkMagicConfigError(f"{what} {value!r} is not a valid identifier: {rule}")


def sql_string(value: str) -> str:
    """A single-quoted string literal (``'`` doubled, backslashes escaped for Snowflake)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def utc(moment: datetime, what: str) -> datetime:
    if not isinstance(moment, datetime) or moment.tzinfo is None or moment.utcoffset() is None:
        raise WorkMagicConfigError(f"{what} must be an aware datetime, got {moment!r}")
    return moment.astimezone(timezone.utc)


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


def sample_limit(limit: object) -> int:
    """``validate_sample``'s row count: a positive integer (a bool is not one)."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise WorkMagicConfigError(f"validate_sample must be a positive integer, got {limit!r}")
    return limit


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


def checks_sql(check_select: str, dialect: str) -> str:
    """Parse the whole-window check query (built in ``warehouse.checks``) in its dialect."""
    from sqlglot import exp

    parse_one(check_select, dialect, (exp.Select,), "whole-window check query")
    return check_select
