"""Snowflake's one-time setup for WorkMagic: the storage integration, the stage, the grants.

``workmagic-provider setup-sql snowflake`` prints these; an administrator runs them once.
"""

from __future__ import annotations

from dataclasses import dataclass

from workmagic_provider.exceptions import WorkMagicConfigError
from workmagic_provider.standards import validate_account_id, validate_bucket, validate_role_arn
from workmagic_provider.warehouse.snowflake_sql import snowflake_identifier
from workmagic_provider.warehouse.sql_common import parse_one, sql_string

DEFAULT_INTEGRATION = "S3_ORDER_EXPORT_TO_WORKMAGIC"


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
