"""Snowflake unloads one hour of orders straight into WorkMagic's S3 hour folder.

The flow (WorkMagic's "Method 3", spec 4.6, with its defects fixed - spec 7.5):

1. the run's hour folder and window ``[data_interval_start - lookback, data_interval_end)``
   come from the data interval, never from ``CURRENT_TIMESTAMP``;
2. ``validate_sample`` rows of the very same query are fetched through the same hook and
   validated with our schemas; a failing sample stops the task before any file is written
   (design Decision 16);
3. ``COPY INTO 's3://.../HH/YYYY-MM-DD-HH-snowflake-0000' ... DETAILED_OUTPUT = TRUE`` runs as
   the storage integration, whose IAM user is the one WorkMagic trusts; no row passes through
   the worker;
4. parts of this flow and hour that an earlier run left behind (``OVERWRITE`` only replaces
   files of the same name) are removed through Snowflake too: ``LIST``/``REMOVE`` on a stage
   over the account folder with the same integration (design Decision 6; never boto3).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from workmagic_provider.exceptions import MissingExtraError, WorkMagicError
from workmagic_provider.operators.warehouse import WarehouseToWorkMagicOperator
from workmagic_provider.sql import DEFAULT_INTEGRATION
from workmagic_provider.standards import (
    DEFAULT_MAX_PART_BYTES,
    HARD_LIMIT_BYTES,
    owned_part_pattern,
)

if TYPE_CHECKING:
    from airflow.providers.snowflake.hooks.snowflake import SnowflakeHook
    from airflow.sdk import Context

    from workmagic_provider.standards import HourFolder


def _lower_keys(row: Any) -> dict[str, Any]:
    if isinstance(row, Mapping):
        return {str(k).lower(): v for k, v in row.items()}
    return {}


def parse_unload_result(rows: Sequence[Any] | None) -> dict[str, Any]:
    """Totals and files of an unload result (``DETAILED_OUTPUT`` rows or the summary row).

    With ``DETAILED_OUTPUT = TRUE`` Snowflake returns one row per file (``FILE_NAME``,
    ``FILE_SIZE``, ``ROW_COUNT``); without it one row ``rows_unloaded, input_bytes,
    output_bytes``. ``files`` is ``None`` when the result names no files.
    """
    dicts = [_lower_keys(r) for r in rows or []]
    if any("file_name" in d for d in dicts):
        files = [
            {
                "name": str(d["file_name"]).rsplit("/", 1)[-1],
                "bytes": int(d.get("file_size") or 0),
                "rows": int(d.get("row_count") or 0),
            }
            for d in dicts
            if d.get("file_name")
        ]
        return {
            "rows_unloaded": sum(f["rows"] for f in files),
            "bytes": sum(f["bytes"] for f in files),
            "files": files,
        }
    summary = dicts[0] if dicts else {}
    rows_unloaded = int(summary.get("rows_unloaded") or 0)
    return {
        "rows_unloaded": rows_unloaded,
        "input_bytes": int(summary.get("input_bytes") or 0),
        "bytes": int(summary.get("output_bytes") or 0),
        "files": [] if rows_unloaded == 0 else None,
    }


class SnowflakeCopyToWorkMagicOperator(WarehouseToWorkMagicOperator):
    """Unload the run's window from Snowflake into WorkMagic's S3 hour folder.

    Give either ``table`` (+ ``updated_at_column``) or ``sql``, a SELECT (or a ``.sql`` file)
    that selects the window with ``{{ workmagic_window_start }}`` and
    ``{{ workmagic_window_end }}``. Each row becomes ``OBJECT_CONSTRUCT(*)`` of its columns,
    so column names are the JSON keys: alias them to WorkMagic's field names (``"id"``,
    ``"updated_at"`` in double quotes: Snowflake upper-cases unquoted names) and format
    timestamps with a zone.

    :param storage_integration: the integration ``setup-sql snowflake`` created.
    :param stage: a stage over ``s3://bucket/account-{id}/`` with that integration (also from
        ``setup-sql --stage``), used to remove stale parts; without one a temporary stage is
        created in the session (needs CREATE STAGE on the current schema).
    :param source_conn_id: the Snowflake connection (``snowflake_default``).
    :param lookback: how far before the interval start the window opens (default 1 hour).
    :param max_file_size: Snowflake's ``MAX_FILE_SIZE`` (below WorkMagic's 1.5 MB limit).
    :param schema: schema of the sample validation (``custom-site`` or ``imported``).
    :param validate_sample: rows validated before the unload; 0 disables.
    :param require_window: refuse a ``sql`` that does not use both window macros.
    :param prune_stale: remove this flow's parts of the hour that this run did not write.
    """

    template_fields: Sequence[str] = (
        *WarehouseToWorkMagicOperator.template_fields,
        "storage_integration",
        "stage",
    )
    destination_cloud = "s3"
    ui_color = "#e0f2fe"

    def __init__(
        self,
        *,
        storage_integration: str = DEFAULT_INTEGRATION,
        stage: str | None = None,
        source_conn_id: str = "snowflake_default",
        max_file_size: int = DEFAULT_MAX_PART_BYTES,
        **kwargs: Any,
    ) -> None:
        super().__init__(source_conn_id=source_conn_id, **kwargs)
        self.storage_integration = storage_integration
        self.stage = stage
        self.max_file_size = max_file_size

    # -- window ---------------------------------------------------------------------------
    def window_macros(self, window: tuple[datetime, datetime]) -> dict[str, str]:
        """``{{ workmagic_window_start }}``/``_end`` as strict Snowflake timestamp literals."""
        from workmagic_provider.sql import window_macros

        return window_macros("snowflake", window)

    # -- Snowflake ------------------------------------------------------------------------
    def snowflake_hook(self) -> SnowflakeHook:
        try:
            from airflow.providers.snowflake.hooks.snowflake import SnowflakeHook
        except ImportError as err:
            raise MissingExtraError("apache-airflow-providers-snowflake", "snowflake") from err
        return SnowflakeHook(snowflake_conn_id=self.source_conn_id)

    @staticmethod
    def _fetch_all() -> Any:
        from airflow.providers.common.sql.hooks.handlers import fetch_all_handler

        return fetch_all_handler

    def _plan(self, context: Context) -> dict[str, Any]:
        """What one run works with: the folder, the window, the SELECT and the unload."""
        from workmagic_provider.sql import (
            snowflake_identifier,
            snowflake_select,
            snowflake_unload_sql,
        )

        if self.stage:  # checked before anything runs, like every other identifier
            snowflake_identifier(self.stage, "stage", max_parts=3)
        hook = self.workmagic_hook()
        settings = hook.settings
        folder = self.hour_folder(hook, context)
        bounds = self.window(context)
        select = snowflake_select(
            bounds,
            table=self.table,
            updated_at_column=self.updated_at_column,
            sql=self.sql,
            require_window=self.require_window,
        )
        unload = snowflake_unload_sql(
            folder,
            settings.bucket,
            select,
            storage_integration=self.storage_integration,
            max_file_size=self.max_file_size,
        )
        return {
            "settings": settings,
            "folder": folder,
            "bounds": bounds,
            "select": select,
            "unload": unload,
            "destination": f"s3://{settings.bucket}/{folder.prefix}",
        }

    def planned_statements(self, context: Context) -> tuple[str, list[dict[str, Any]]]:
        from workmagic_provider.sql import snowflake_list_sql, snowflake_sample_sql

        plan = self._plan(context)
        statements: list[dict[str, Any]] = []
        if self.validate_sample:
            sample = snowflake_sample_sql(plan["select"], self.validate_sample)
            statements.append({"step": "sample", "sql": sample})
        statements.append({"step": "unload", "sql": plan["unload"]})
        if self.prune_stale:
            prelude, stage = self._stage_statements(plan["settings"])
            for sql in [*prelude, snowflake_list_sql(stage, plan["folder"])]:
                statements.append({"step": "list parts (stale ones are then removed)", "sql": sql})
        return plan["destination"], statements

    def run_in_warehouse(self, context: Context) -> dict[str, Any]:
        plan = self._plan(context)
        folder, bounds, destination = plan["folder"], plan["bounds"], plan["destination"]
        select, unload = plan["select"], plan["unload"]
        snowflake = self.snowflake_hook()
        sampled = self._validate_sample(snowflake, select) if self.validate_sample else 0

        self.log.info(
            "Unloading rows with updated time in [%s, %s) into %s",
            bounds[0].isoformat(),
            bounds[1].isoformat(),
            destination,
        )
        rows = snowflake.run(unload, handler=self._fetch_all(), return_dictionaries=True)
        result = parse_unload_result(rows)  # type: ignore[arg-type]
        for item in result["files"] or []:
            self.log.info(
                "unloaded %s%s (%d bytes, %d rows)",
                destination,
                item["name"],
                item["bytes"],
                item["rows"],
            )
        removed = self._remove_stale(snowflake, folder, result["files"]) if self.prune_stale else []
        summary = {
            "destination": destination,
            "window": [bounds[0].isoformat(), bounds[1].isoformat()],
            "rows_unloaded": result["rows_unloaded"],
            "bytes": result["bytes"],
            "files": result["files"] or [],
            "removed_stale": removed,
            "sample_rows_validated": sampled,
            "query_ids": list(getattr(snowflake, "query_ids", []) or []),
        }
        self.log.info(
            "unload into %s: %d rows, %d files, %d bytes, %d stale parts removed",
            destination,
            summary["rows_unloaded"],
            len(summary["files"]),
            summary["bytes"],
            len(removed),
        )
        too_big = [f for f in result["files"] or [] if f["bytes"] >= HARD_LIMIT_BYTES]
        if too_big:
            raise WorkMagicError(
                f"Snowflake wrote {len(too_big)} file(s) of 1.5 MB or more, which WorkMagic "
                f"skips: {', '.join(f['name'] for f in too_big)}; lower max_file_size "
                f"(now {self.max_file_size})"
            )
        return summary

    def _validate_sample(self, snowflake: SnowflakeHook, select: str) -> int:
        """Run the same query with a LIMIT and validate its rows (Decision 16)."""
        from workmagic_provider.sql import snowflake_sample_sql

        rows = snowflake.run(
            snowflake_sample_sql(select, self.validate_sample), handler=self._fetch_all()
        )
        values = (row[0] if isinstance(row, (tuple, list)) else row for row in rows or [])  # type: ignore[union-attr]
        return self.check_sample(json.dumps(v) if isinstance(v, list) else v for v in values)

    def _stage_statements(self, settings: Any) -> tuple[list[str], str]:
        from workmagic_provider.sql import TEMP_STAGE, snowflake_temp_stage_sql

        if self.stage:
            return [], self.stage
        create = snowflake_temp_stage_sql(
            account_id=settings.account_id,
            bucket=settings.bucket,
            storage_integration=self.storage_integration,
        )
        return [create], TEMP_STAGE

    def _remove_stale(
        self, snowflake: SnowflakeHook, folder: HourFolder, written: list[dict[str, Any]] | None
    ) -> list[str]:
        from workmagic_provider.sql import snowflake_list_sql, snowflake_remove_sql

        if written is None:
            self.log.warning(
                "the unload result names no files (DETAILED_OUTPUT off?); stale parts of %s "
                "were not removed",
                folder.prefix,
            )
            return []
        settings = self.workmagic_hook().settings
        prelude, stage = self._stage_statements(settings)
        # A list of statements runs in one session and returns one result per statement.
        results = snowflake.run(
            [*prelude, snowflake_list_sql(stage, folder)],
            handler=self._fetch_all(),
            return_dictionaries=True,
        )
        listed = results[-1] if results else []  # type: ignore[index]
        owned = owned_part_pattern(folder.hour, "snowflake")
        keep = {f["name"] for f in written}
        names = sorted(
            {
                str(_lower_keys(row).get("name", "")).rsplit("/", 1)[-1]
                for row in listed or []  # type: ignore[union-attr]
            }
        )
        stale = [n for n in names if owned.match(n) and n not in keep]
        if stale:
            snowflake.run([*prelude, snowflake_remove_sql(stage, folder, stale)])
            for name in stale:
                self.log.info(
                    "removed stale part s3://%s/%s%s", settings.bucket, folder.prefix, name
                )
        return stale
