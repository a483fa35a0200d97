"""One Snowflake session for every statement of a run, its time zone pinned to UTC first.

``SnowflakeHook.run`` opens a new connection per call, and each session starts in the
account's or user's ``TIMEZONE``. With a ``TIMESTAMP_NTZ``/``LTZ`` column, the comparison with
the window's bounds and ``CONVERT_TIMEZONE`` read that zone: a session in
``America/Los_Angeles`` would select the wrong hours with no error. So a run opens one
connection through the hook, sets ``TIMEZONE = 'UTC'``, and sends the column query, the checks,
the sample, the unload and the stage statements through it.
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Any

from workmagic_provider.warehouse.snowflake_columns import Column, columns_from_description
from workmagic_provider.warehouse.snowflake_sql import SNOWFLAKE_SESSION_SETUP

log = logging.getLogger(__name__)


class SnowflakeSession:
    """A connection of ``hook`` and one dictionary cursor; statements run in order."""

    def __init__(self, hook: Any) -> None:
        self.hook = hook
        self.query_ids: list[str] = []
        self._conn: Any = None
        self._cursor: Any = None

    def __enter__(self) -> SnowflakeSession:
        from snowflake.connector import DictCursor

        self._conn = self.hook.get_conn()
        self._cursor = self._conn.cursor(DictCursor)
        for statement in SNOWFLAKE_SESSION_SETUP:
            self.run(statement)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        try:
            if self._cursor is not None:
                self._cursor.close()
        finally:
            if self._conn is not None:
                self._conn.close()

    def _execute(self, statement: str) -> Any:
        log.info("Snowflake: %s", statement)
        self._cursor.execute(statement)
        query_id = getattr(self._cursor, "sfqid", None)
        if query_id:
            self.query_ids.append(str(query_id))
        return self._cursor

    def run(self, statement: str) -> list[dict[str, Any]]:
        """Execute one statement and return its rows as dictionaries."""
        cursor = self._execute(statement)
        if cursor.description is None:
            return []
        return list(cursor.fetchall())

    def columns(self, statement: str) -> list[Column]:
        """The columns a query returns (run it with ``LIMIT 0``: no rows are read)."""
        cursor = self._execute(statement)
        cursor.fetchall()
        return columns_from_description(cursor.description or [])
