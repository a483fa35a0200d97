"""``workmagic-provider demo``: the upload path end to end against the local sandbox.

It does what a production hourly run does, with nothing mocked: generated custom-site orders are
validated and split into parts, then published through the ``workmagic`` connection into the
sandbox's S3 bucket (assuming WorkMagic's role with the External ID) and its GCS bucket. A second
run of the same hour shows the idempotency: same object names, identical bytes, nothing added.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from workmagic_provider.files.jsonl import read_json_lines
from workmagic_provider.files.pipeline import UploadResult, upload_lines
from workmagic_provider.files.sinks import PartSink
from workmagic_provider.sandbox.sample_data import custom_site_orders, write_json_lines
from workmagic_provider.standards import parse_hour
from workmagic_provider.stores import GCSStore, ObjectStore, S3Store, StorePartSink

DEMO_ACCOUNT = "121226"
DEMO_CATEGORY = "orders"


def _upload(source: Path, cloud: str, hour_text: str) -> tuple[UploadResult, PartSink]:
    from workmagic_provider.hooks.workmagic import WorkMagicHook

    hook = WorkMagicHook()
    folder = hook.hour_folder(parse_hour(hour_text))
    bucket = hook.settings.bucket
    store: ObjectStore
    if cloud == "s3":
        store = S3Store(hook.get_s3_hook(), bucket)
    else:
        store = GCSStore(hook.get_gcs_hook(), bucket)
    sink = StorePartSink(store, folder.prefix)
    result = upload_lines(
        read_json_lines(source),
        schema="custom-site",
        folder=folder,
        flow="upload",
        sink=sink,
        max_part_bytes=100_000,  # small parts so the demo shows the split
    )
    return result, sink


def run_demo(rows: int = 5000, hour: str = "2026-03-08T02:00:00Z") -> int:
    import logging

    from workmagic_provider.sandbox.launcher import Sandbox

    logging.getLogger().setLevel(logging.WARNING)  # the demo prints its own table
    for name in ("airflow", "botocore", "werkzeug", "workmagic_provider"):
        logging.getLogger(name).setLevel(logging.WARNING)
    print(f"WorkMagic provider demo: {rows:,} custom-site orders for hour {hour}")
    with tempfile.TemporaryDirectory(prefix="workmagic-demo-") as work:
        source = Path(work) / "orders.jsonl"
        write_json_lines(source, custom_site_orders(rows, parse_hour(hour)))
        print(f"generated {source.stat().st_size:,} bytes of JSON Lines")
        with Sandbox(account_id=DEMO_ACCOUNT, data_category=DEMO_CATEGORY) as sandbox:
            print(f"sandbox S3+STS at {sandbox.s3_endpoint}, GCS at {sandbox.gcs_endpoint}")
            failures = 0
            for cloud in ("s3", "gcs"):
                os.environ.update(sandbox.env(cloud=cloud))
                result, sink = _upload(source, cloud, hour)
                print(f"\n{cloud.upper()}: {len(result.parts)} parts, {result.rows_written:,} rows")
                width = max(len(p.location) for p in result.parts)
                print(f"  {'part':<{width}} {'rows':>7} {'bytes':>9}")
                for part in result.parts:
                    print(f"  {part.location:<{width}} {part.rows:>7,} {part.bytes:>9,}")
                again, _ = _upload(source, cloud, hour)
                same = [p.name for p in again.parts] == [p.name for p in result.parts]
                listed = sink.names()
                print(
                    f"  re-run of the same hour: {'same' if same else 'DIFFERENT'} part names, "
                    f"{len(listed)} objects in the folder, {len(again.removed)} stale removed"
                )
                if not same or len(listed) != len(result.parts) or result.rows_written != rows:
                    failures += 1
    print("\ndemo finished" + (" with problems" if failures else ": every part landed once"))
    return 1 if failures else 0
