"""Snowflake unloads one hour of orders straight into WorkMagic's S3 hour folder.

The flow (WorkMagic's Snowflake method, with the defects of its sample fixed):

1. the run's hour folder and window ``[data_interval_start - lookback, data_interval_end)``
   come from the data interval, never from ``CURRENT_TIMESTAMP``;
2. every statement runs in one session whose ``TIMEZONE`` is set to UTC first;
3. the source's columns are read from Snowflake and mapped to WorkMagic's field names
   (case-insensitively, ``columns=`` overrides), so the JSON object carries the schema's keys,
   ISO ``Z`` timestamps and numbers;
4. one aggregate query checks the whole window (NULL required fields, ranges, duplicate keys,
   ``updated_at`` outside the window) and a sample of rows is validated with our schemas;
   either failing stops the task before any file is written;
5. ``COPY INTO 's3://.../HH/YYYY-MM-DD-HH-snowflake-{generation}-0000' ...
   DETAILED_OUTPUT = TRUE`` runs as the storage integration, whose IAM user is the one
   WorkMagic trusts; no row passes through the worker;
6. parts of this flow and hour that an earlier run left behind (``OVERWRITE`` only replaces
   files of the same name) are removed through Snowflake too: ``LIST``/``REMOVE`` on a stage
   over the account folder with the same integration (never boto3). Without delete rights the
   new parts still count as delivered; the stale ones are reported (WARNING and XCom).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from workmagic_provider.exceptions import MissingExtraError, WorkMagicError
from workmagic_provider.operators.warehouse import WarehouseToWorkMagicOperator
from workmagic_provider.standards import (
    DEFAULT_MAX_PART_BYTES,
)
from workmagic_provider.warehouse.snowflake_setup import DEFAULT_INTEGRATION

if TYPE_CHECKING:
    from airflow.providers.snowflake.hooks.snowflake import SnowflakeHook
    from airflow.sdk import Context

    from workmagic_provider.operators.lineage import LineageDataset
    from workmagic_provider.standards import HourFolder
    from workmagic_provider.warehouse.checks import Check
    from workmagic_provider.warehouse.snowflake_columns import Column, Mapped
    from workmagic_provider.warehouse.snowflake_session import SnowflakeSession
    from workmagic_provider.warehouse.snowflake_unload import Settled


@dataclass(frozen=True)
class _Plan:
    """What one run works with before it knows the source's columns."""

    folder: HourFolder
    bounds: tuple[datetime, datetime]
    source: str
    bucket: str
    account_id: str

    @property
    def destination(self) -> str:
        return f"s3://{self.bucket}/{self.folder.prefix}"


class SnowflakeCopyToWorkMagicOperator(WarehouseToWorkMagicOperator):
    """Unload the run's window from Snowflake into WorkMagic's S3 hour folder.

    Give either ``table`` (+ ``updated_at_column``) or ``sql``, a SELECT (or a ``.sql`` file)
    that selects the window with ``{{ workmagic_window_start }}`` and
    ``{{ workmagic_window_end }}``. Either way the source's columns are read at run time and
    written under WorkMagic's field names: a column matches a field ignoring case, and
    ``columns={"total_price": "AMOUNT"}`` names a field's column explicitly.

    :param columns: ``{field: column}`` for fields whose column has another name.
    :param ntz_time_zone: the zone ``TIMESTAMP_NTZ`` values are wall time in (default UTC).
    :param storage_integration: the integration ``setup-sql snowflake`` created.
    :param stage: a stage over ``s3://bucket/account-{id}/`` with that integration (also from
        ``setup-sql --stage``), used to remove stale parts; without one a temporary stage is
        created in the session (needs CREATE STAGE on the current schema).
    :param source_conn_id: the Snowflake connection (``snowflake_default``).
    :param max_file_size: Snowflake's ``MAX_FILE_SIZE`` (below WorkMagic's 1.5 MB limit).
    """

    template_fields: Sequence[str] = (
        *WarehouseToWorkMagicOperator.template_fields,
        "storage_integration",
        "stage",
        "columns",
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
        columns: Mapping[str, str] | None = None,
        ntz_time_zone: str = "UTC",
        **kwargs: Any,
    ) -> None:
        super().__init__(source_conn_id=source_conn_id, **kwargs)
        self.storage_integration = storage_integration
        self.stage = stage
        self.max_file_size = max_file_size
        self.columns = dict(columns or {})
        self.ntz_time_zone = ntz_time_zone

    # -- window ---------------------------------------------------------------------------
    def window_macros(self, window: tuple[datetime, datetime]) -> dict[str, str]:
        """``{{ workmagic_window_start }}``/``_end`` as strict Snowflake timestamp literals."""
        from workmagic_provider.warehouse.snowflake_sql import snowflake_window_macros

        return snowflake_window_macros(window)

    # -- Snowflake ------------------------------------------------------------------------
    def snowflake_hook(self) -> SnowflakeHook:
        try:
            from airflow.providers.snowflake.hooks.snowflake import SnowflakeHook
        except ImportError as err:
            raise MissingExtraError("apache-airflow-providers-snowflake", "snowflake") from err
        return SnowflakeHook(snowflake_conn_id=self.source_conn_id)

    def lineage_sources(self, summary: Mapping[str, Any]) -> list[LineageDataset]:
        """``snowflake://{account}`` and ``DATABASE.SCHEMA.TABLE`` (the hook's defaults)."""
        from workmagic_provider.operators.lineage import table_datasets

        hook = self.snowflake_hook()
        info = hook.get_openlineage_database_info(hook.get_connection(self.source_conn_id))
        return table_datasets(
            f"{info.scheme}://{info.authority}",
            table=self.table,
            sql=self.sql,
            dialect="snowflake",
            defaults=(info.database, hook.get_openlineage_default_schema()),
            upper=True,
        )

    def _plan(self, context: Context) -> _Plan:
        from workmagic_provider.warehouse.snowflake_sql import (
            snowflake_identifier,
            snowflake_select,
            snowflake_unload_check,
        )

        # every identifier is checked before anything runs
        if self.stage:
            snowflake_identifier(self.stage, "stage", max_parts=3)
        snowflake_identifier(self.storage_integration, "storage_integration")
        snowflake_unload_check(self.max_file_size)
        hook = self.workmagic_hook()
        bounds = self.window(context)
        source = snowflake_select(
            bounds,
            table=self.table,
            updated_at_column=self.updated_at_column,
            sql=self.sql,
            require_window=self.require_window,
        )
        settings = hook.settings
        return _Plan(
            self.hour_folder(hook, context), bounds, source, settings.bucket, settings.account_id
        )

    def _map(self, columns: list[Column]) -> list[Mapped]:
        """The JSON object's keys and their columns (see ``warehouse.snowflake_columns``)."""
        from workmagic_provider.warehouse.fields import open_schema, schema_fields
        from workmagic_provider.warehouse.snowflake_columns import map_columns

        mapped, left_out = map_columns(
            columns,
            schema_fields(self.schema, self.schema_options),
            overrides=self.columns,
            pass_through=open_schema(self.schema, self.schema_options),
        )
        if left_out:
            self.log.info(
                "columns not written (schema %s has no such field): %s",
                self.schema,
                ", ".join(c.name for c in left_out),
            )
        return mapped

    def _statements(
        self, plan: _Plan, mapped: list[Mapped], generation: str
    ) -> tuple[dict[str, str], list[Check]]:
        """The check query (and its checks), the JSON SELECT, the sample and the unload."""
        from workmagic_provider.warehouse.checks import build_checks, check_query
        from workmagic_provider.warehouse.snowflake_columns import checked_values, object_sql
        from workmagic_provider.warehouse.snowflake_sql import (
            snowflake_json_select,
            snowflake_sample_sql,
            snowflake_timestamp,
            snowflake_unload_sql,
        )
        from workmagic_provider.warehouse.sql_common import checks_sql

        window = (snowflake_timestamp(plan.bounds[0]), snowflake_timestamp(plan.bounds[1]))
        checks = build_checks(
            checked_values(mapped, self.ntz_time_zone), self.schema, "snowflake", window
        )
        select = snowflake_json_select(plan.source, object_sql(mapped, self.ntz_time_zone))
        statements = {
            "checks": checks_sql(check_query(checks, plan.source), "snowflake"),
            "select": select,
            "unload": snowflake_unload_sql(
                plan.folder,
                plan.bucket,
                select,
                storage_integration=self.storage_integration,
                max_file_size=self.max_file_size,
                generation=generation,
            ),
        }
        if self.validate_sample:
            statements["sample"] = snowflake_sample_sql(select, self.validate_sample)
        return statements, checks

    # -- render_only ----------------------------------------------------------------------
    def _assumed_columns(self) -> list[Column]:
        """Without a warehouse: a column per required field (or override), named like it."""
        from workmagic_provider.warehouse.fields import schema_fields
        from workmagic_provider.warehouse.snowflake_columns import Column

        types = {"timestamp": "TIMESTAMP_TZ", "number": "FIXED", "integer": "FIXED"}
        out = []
        for spec in schema_fields(self.schema, self.schema_options):
            if spec.required or spec.name in self.columns:
                name = self.columns.get(spec.name, spec.name.upper())
                out.append(Column(name, types.get(spec.kind, "TEXT")))
        return out

    def planned_statements(self, context: Context) -> tuple[str, list[dict[str, Any]]]:
        from workmagic_provider.generations import new_generation
        from workmagic_provider.warehouse.snowflake_sql import (
            SNOWFLAKE_SESSION_SETUP,
            snowflake_describe_sql,
            snowflake_list_sql,
        )

        plan = self._plan(context)
        built, _checks = self._statements(
            plan, self._map(self._assumed_columns()), new_generation()
        )
        note = (
            "rendered for columns named like the schema's required fields; a run reads the "
            "source's columns first and writes every column it has"
        )
        statements: list[dict[str, Any]] = [
            {"step": "session", "sql": sql} for sql in SNOWFLAKE_SESSION_SETUP
        ]
        statements.append({"step": "columns", "sql": snowflake_describe_sql(plan.source)})
        statements.append({"step": "checks", "sql": built["checks"], "note": note})
        if "sample" in built:
            statements.append({"step": "sample", "sql": built["sample"]})
        statements.append(
            {
                "step": "unload",
                "sql": built["unload"],
                "note": "the generation in the file names is taken when a run unloads",
            }
        )
        if self.prune_stale:
            prelude, stage = self._stage_statements(plan.account_id, plan.bucket)
            for sql in [*prelude, snowflake_list_sql(stage, plan.folder)]:
                statements.append({"step": "list parts (stale ones are then removed)", "sql": sql})
        return plan.destination, statements

    # -- a run ----------------------------------------------------------------------------
    def run_in_warehouse(self, context: Context) -> dict[str, Any]:
        from workmagic_provider.generations import new_generation
        from workmagic_provider.warehouse.checks import evaluate
        from workmagic_provider.warehouse.snowflake_session import SnowflakeSession
        from workmagic_provider.warehouse.snowflake_sql import snowflake_describe_sql
        from workmagic_provider.warehouse.snowflake_unload import check_file_sizes

        plan = self._plan(context)
        self.link_hour_folder(context, self.workmagic_hook(), plan.folder)
        with SnowflakeSession(self.snowflake_hook()) as session:
            mapped = self._map(session.columns(snowflake_describe_sql(plan.source)))
            generation = new_generation()
            built, checks = self._statements(plan, mapped, generation)
            checked = evaluate(checks, self._one_row(session.run(built["checks"])))
            self.log.info("whole-window checks passed over %d rows", checked["rows"])
            sampled = self._validate_sample(session, built["sample"]) if "sample" in built else 0
            result = self._unload(session, plan, built["unload"])
            check_file_sizes(result["files"] or [], self.max_file_size)
            settled = self._settle(session, plan, result["files"], generation)
        summary = {
            "destination": plan.destination,
            "window": [plan.bounds[0].isoformat(), plan.bounds[1].isoformat()],
            "rows_unloaded": result["rows_unloaded"],
            "bytes": result["bytes"],
            "files": result["files"] or [],
            "generation": generation,
            "removed_stale": settled.removed,
            "stale_not_removed": settled.refused,
            "superseded_by": settled.superseded_by,
            "rows_checked": checked["rows"],
            "sample_rows_validated": sampled,
            "columns": {m.key: m.column.name for m in mapped},
            "query_ids": session.query_ids,
        }
        self.log.info(
            "unload into %s: %d rows, %d files, %d bytes, %d stale parts removed",
            plan.destination,
            summary["rows_unloaded"],
            len(summary["files"]),
            summary["bytes"],
            len(settled.removed),
        )
        return summary

    def _unload(self, session: SnowflakeSession, plan: _Plan, unload: str) -> dict[str, Any]:
        """Run the ``COPY INTO`` and log each file it wrote."""
        from workmagic_provider.warehouse.snowflake_unload import parse_unload_result

        self.log.info(
            "Unloading rows with updated time in [%s, %s) into %s",
            plan.bounds[0].isoformat(),
            plan.bounds[1].isoformat(),
            plan.destination,
        )
        result = parse_unload_result(session.run(unload))
        for item in result["files"] or []:
            self.log.info(
                "unloaded %s%s (%d bytes, %d rows)",
                plan.destination,
                item["name"],
                item["bytes"],
                item["rows"],
            )
        return result

    def _settle(
        self,
        session: SnowflakeSession,
        plan: _Plan,
        written: list[dict[str, Any]] | None,
        generation: str,
    ) -> Settled:
        """Remove stale parts of the hour through a stage (``prune_stale``)."""
        from workmagic_provider.warehouse.snowflake_unload import Settled, settle_folder

        if not self.prune_stale:
            return Settled()
        prelude, stage = self._stage_statements(plan.account_id, plan.bucket)
        return settle_folder(
            session,
            stage=stage,
            prelude=prelude,
            folder=plan.folder,
            destination=plan.destination,
            written=written,
            generation=generation,
            log=self.log,
        )

    @staticmethod
    def _one_row(rows: list[dict[str, Any]]) -> dict[str, Any]:
        if len(rows) != 1:
            raise WorkMagicError(f"the whole-window check query returned {len(rows)} rows, not 1")
        return rows[0]

    def _validate_sample(self, session: SnowflakeSession, sample: str) -> int:
        """Validate the first rows of the very SELECT the unload writes (what SQL cannot check)."""
        import json

        values = (next(iter(row.values())) for row in session.run(sample))
        return self.check_sample(
            json.dumps(v) if isinstance(v, (list, dict)) else v for v in values
        )

    def _stage_statements(self, account_id: str, bucket: str) -> tuple[list[str], str]:
        from workmagic_provider.warehouse.snowflake_sql import TEMP_STAGE, snowflake_temp_stage_sql

        if self.stage:
            return [], self.stage
        create = snowflake_temp_stage_sql(
            account_id=account_id, bucket=bucket, storage_integration=self.storage_integration
        )
        return [create], TEMP_STAGE
