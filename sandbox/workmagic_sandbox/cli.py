"""``workmagic-sandbox``: run WorkMagic's stand-ins (``serve``) or the offline demo (``demo``).

Exit codes follow ``workmagic-provider``'s: 0 success, 1 a demo run failed or moved nothing,
2 unusable arguments, 3 an internal error.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

EXIT_OK = 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="workmagic-sandbox",
        description="WorkMagic's buckets and API on loopback, and the demo that uses them.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    _serve_arguments(commands)
    _demo_arguments(commands)
    return parser


def _serve_arguments(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = commands.add_parser(
        "serve", help="run the local stand-in for WorkMagic's buckets and API until interrupted"
    )
    serve.add_argument("--account", default="121226")
    serve.add_argument("--category", default="order-geo-date-data")
    serve.add_argument("--host", default="127.0.0.1", help="0.0.0.0 inside a container")
    serve.add_argument("--s3-port", type=int, default=0, help="0 picks a free port")
    serve.add_argument("--gcs-port", type=int, default=0)
    serve.add_argument("--api-port", type=int, default=0)
    serve.add_argument(
        "--source-bucket",
        default=None,
        help="also create this customer bucket (S3 and GCS) for the sync DAGs",
    )
    serve.add_argument(
        "--seed-hours",
        type=int,
        default=0,
        help="fill the source bucket's exports/YYYY/MM/DD/HH/ for the last N complete hours",
    )
    serve.add_argument(
        "--sheets-port", type=int, default=None, help="also serve a Google Sheets stand-in"
    )
    serve.add_argument(
        "--orders-db",
        default=None,
        help="SQLAlchemy URL that receives the Enrich DAG's orders (with --source-bucket)",
    )


def _demo_arguments(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = commands.add_parser(
        "demo",
        help="backfill every example DAG with a local Airflow against the sandbox",
        description="Start the sandbox and a local Airflow (api-server, scheduler, "
        "dag-processor on SQLite), backfill the last HOURS hours of every example DAG through "
        "the REST API, and print what each run moved.",
    )
    demo.add_argument("--hours", type=int, default=6, help="hours to backfill (default 6)")
    demo.add_argument("--rows", type=int, default=200, help="orders per hour and source")
    demo.add_argument(
        "--dags-folder",
        type=Path,
        default=None,
        help="the example DAGs (default: ./dags of a checkout; they are in no wheel)",
    )
    demo.add_argument(
        "--workdir", type=Path, default=None, help="a new or empty folder (default: temporary)"
    )
    demo.add_argument("--keep", action="store_true", help="keep the temporary work folder")
    demo.add_argument("--timeout", type=float, default=240.0, help="seconds to wait for the runs")


def cmd_serve(args: argparse.Namespace) -> int:
    from workmagic_sandbox.serve import serve

    serve(
        account_id=args.account,
        data_category=args.category,
        host=args.host,
        s3_port=args.s3_port,
        gcs_port=args.gcs_port,
        api_port=args.api_port,
        sheets_port=args.sheets_port,
        source_bucket=args.source_bucket,
        seed_hours=args.seed_hours,
        orders_db=args.orders_db,
    )
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    if "AIRFLOW_HOME" not in os.environ:
        # the demo reads connections from the environment; keep Airflow's files out of ~/airflow
        os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="workmagic-demo-airflow-")
    from workmagic_sandbox.demo import run_demo

    return run_demo(
        hours=args.hours,
        rows=args.rows,
        dags_folder=args.dags_folder,
        workdir=args.workdir,
        keep=args.keep,
        timeout=args.timeout,
    )


COMMANDS = {"serve": cmd_serve, "demo": cmd_demo}


def main(argv: Sequence[str] | None = None) -> int:
    """The command's exit code; our errors exit 2 with one line, anything else exits 3."""
    from workmagic_provider.cli import run_command

    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    return run_command(COMMANDS, args, prog="workmagic-sandbox")


if __name__ == "__main__":
    sys.exit(main())
