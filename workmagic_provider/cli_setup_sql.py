"""``workmagic-provider setup-sql snowflake``: print the one-time Snowflake setup SQL.

Values come from a ``workmagic`` connection (``--conn-id``) or flags. This is the only place
the External ID is printed: the user asked for this SQL.
"""

from __future__ import annotations

import argparse
from typing import Any

from workmagic_provider.warehouse.snowflake_setup import DEFAULT_INTEGRATION


def add_setup_sql_parser(commands: Any) -> None:
    """Register ``setup-sql`` on the CLI's subcommands."""
    parser = commands.add_parser(
        "setup-sql",
        help="print the one-time Snowflake setup SQL (workmagic-provider setup-sql --help)",
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


def _values(args: argparse.Namespace) -> dict[str, str | None]:
    """The flags, with what a ``--conn-id`` connection holds filling the ones not given."""
    from workmagic_provider.exceptions import WorkMagicConfigError

    values = {
        "account_id": args.account,
        "bucket": args.bucket,
        "role_arn": args.role_arn,
        "external_id": args.external_id,
    }
    if args.conn_id:
        from workmagic_provider.hooks.workmagic import WorkMagicHook

        settings = WorkMagicHook(workmagic_conn_id=args.conn_id).settings
        values = {k: v or getattr(settings, k) for k, v in values.items()}
    missing = [k for k in ("account_id", "role_arn", "external_id") if not values[k]]
    if missing:
        raise WorkMagicConfigError(
            f"missing {', '.join(missing)}: pass --conn-id of a workmagic connection or "
            "the flags --account, --role-arn, --external-id"
        )
    return values


def cmd_setup_sql(args: argparse.Namespace) -> int:
    """Print the numbered instructions, then the statements; a bad value exits 2 (the CLI's)."""
    from workmagic_provider.warehouse.snowflake_setup import snowflake_setup_sql

    values = _values(args)
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
    out = args.stdout
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
