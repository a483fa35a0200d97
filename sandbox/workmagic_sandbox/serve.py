"""``workmagic-sandbox serve``: run the :class:`~workmagic_sandbox.launcher.Sandbox` until stopped.

It prints the endpoints and the ``export AIRFLOW_CONN_*`` lines a shell running Airflow needs,
and can create (and fill) the customer's own source bucket for the sync DAGs.
"""

from __future__ import annotations

import contextlib
import shlex
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from workmagic_provider.standards import validate_bucket
from workmagic_sandbox.demo_inputs import seed_source_bucket
from workmagic_sandbox.launcher import Sandbox
from workmagic_sandbox.sample_data import last_complete_hours


def seed_customer_bucket(sandbox: Sandbox, bucket: str, hours: int, rows: int = 100) -> list[str]:
    """Create the customer's source bucket in both clouds; seed the last ``hours`` hours."""
    s3 = sandbox.aws.admin_client()
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(Bucket=validate_bucket(bucket))
    sandbox.gcs.create_bucket(bucket)
    window = last_complete_hours(hours) if hours > 0 else []
    gcs_bucket = sandbox.gcs.client().bucket(bucket) if window else None
    seed_source_bucket(s3, gcs_bucket, bucket, window, rows)
    return [f"{hour:%Y-%m-%dT%H:00Z}" for hour in window]


@dataclass
class Served:
    """What :func:`running` started: the sandbox, the optional Sheets stand-in, the seeding."""

    sandbox: Sandbox
    sheets: Any = None
    seeded: list[str] = field(default_factory=list)
    written: dict[str, int] = field(default_factory=dict)


@contextlib.contextmanager
def running(
    account_id: str = "121226",
    *,
    data_category: str = "order-geo-date-data",
    bucket: str = "workmagic-inbound-data",
    region: str = "us-east-1",
    host: str = "127.0.0.1",
    s3_port: int = 0,
    gcs_port: int = 0,
    api_port: int = 0,
    sheets_port: int | None = None,
    source_bucket: str | None = None,
    seed_hours: int = 0,
    orders_db: str | None = None,
) -> Iterator[Served]:
    """A started :class:`Sandbox` (and Sheets stand-in when ``sheets_port`` is given) with
    ``source_bucket`` seeded for every example DAG over the last ``seed_hours`` hours."""
    from workmagic_sandbox.compose_inputs import seed_flow_inputs
    from workmagic_sandbox.sheets import SheetsSandboxServer

    with contextlib.ExitStack() as stack:
        sandbox = stack.enter_context(
            Sandbox(
                account_id,
                data_category,
                bucket,
                region,
                host=host,
                s3_port=s3_port,
                gcs_port=gcs_port,
                api_port=api_port,
            )
        )
        served = Served(sandbox)
        if sheets_port is not None:
            served.sheets = stack.enter_context(SheetsSandboxServer(host=host, port=sheets_port))
        if source_bucket:
            served.seeded = seed_customer_bucket(sandbox, source_bucket, seed_hours)
            window = last_complete_hours(seed_hours) if seed_hours > 0 else []
            served.written = seed_flow_inputs(sandbox, source_bucket, window, 100, orders_db)
        yield served


def _echo(line: str) -> None:
    print(line, flush=True)  # flushed: the sandbox often runs with stdout piped (compose, CI)


def serve(
    account_id: str = "121226",
    *,
    data_category: str = "order-geo-date-data",
    bucket: str = "workmagic-inbound-data",
    region: str = "us-east-1",
    cloud: str = "s3",
    host: str = "127.0.0.1",
    s3_port: int = 0,
    gcs_port: int = 0,
    api_port: int = 0,
    sheets_port: int | None = None,
    source_bucket: str | None = None,
    seed_hours: int = 0,
    orders_db: str | None = None,
    print_fn: Callable[[str], Any] = _echo,
    stop_event: threading.Event | None = None,
) -> None:
    """Run a :class:`Sandbox` until SIGINT/SIGTERM (or ``stop_event``), printing how to use it.

    ``source_bucket`` also creates the customer's own bucket (for the sync DAGs) in the S3
    and GCS servers, with sample orders in its hour folders ``exports/YYYY/MM/DD/HH/`` for the
    last ``seed_hours`` complete hours, so a backfill from the UI has something to move, and
    the other example DAGs' inputs beside them (see :mod:`.compose_inputs`); ``orders_db`` (a
    SQLAlchemy URL) receives the orders the Enrich DAG selects.
    """
    stop = stop_event or threading.Event()
    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, lambda *_args: stop.set())
    try:
        with running(
            account_id,
            data_category=data_category,
            bucket=bucket,
            region=region,
            host=host,
            s3_port=s3_port,
            gcs_port=gcs_port,
            api_port=api_port,
            sheets_port=sheets_port,
            source_bucket=source_bucket,
            seed_hours=seed_hours,
            orders_db=orders_db,
        ) as served:
            sandbox, seeded = served.sandbox, served.seeded
            if source_bucket:
                print_fn(
                    f"customer bucket {source_bucket} (S3 and GCS): {len(seeded)} hour folders "
                    f"under exports/ ({seeded[0] if seeded else 'none'} .. "
                    f"{seeded[-1] if seeded else ''}); "
                    + ", ".join(f"{n} {what}" for what, n in served.written.items())
                )
            print_fn(f"WorkMagic sandbox for account {sandbox.account_id} is running.")
            print_fn(f"  S3 + STS (moto): {sandbox.s3_endpoint}")
            print_fn(f"  GCS (emulator):  {sandbox.gcs_endpoint}")
            print_fn(f"  bucket:          {sandbox.bucket}")
            print_fn(f"  role ARN:        {sandbox.role_arn}")
            print_fn(f"  External ID:     {sandbox.external_id}")
            if sandbox.api is not None:
                print_fn(f"  WorkMagic API:   {sandbox.api_endpoint}")
                print_fn(f"    Enrich API key (Bearer):    {sandbox.enrich_api_key}")
                print_fn(f"    Orders API key (X-API-KEY): {sandbox.orders_api_key}")
                print_fn(f"    state file:                 {sandbox.api.state_path}")
            if served.sheets is not None:
                print_fn(f"  Google Sheets:   {served.sheets.endpoint}")
            print_fn("Export these in the shell that runs Airflow (sandbox-only values):")
            for name, value in sandbox.env(cloud).items():
                print_fn(f"export {name}={shlex.quote(value)}")
            print_fn("Press Ctrl+C to stop.")
            while not stop.wait(0.5):
                pass
            print_fn("Stopping the WorkMagic sandbox.")
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
