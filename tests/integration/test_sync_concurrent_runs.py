"""Two overlapping syncs of one hour leave the folder equal to one run's output.

Run A (older generation) lists, then waits (a store wrapper whose listing blocks) while run B
(newer) sees a source file A never saw and delivers it completely. When A resumes, its prune
(``delete_extra``) finds B's file stale by A's listing, and must leave it: the folder ends as
B's output. Two interleavings: A paused after listing the source (B's file is in A's
destination listing, marked by B), and A paused after listing the destination too (A listed an
older object of that name, and only reading the marks again just before deleting shows that B
rewrote it). On moto (S3) and the GCS emulator.
"""

from __future__ import annotations

import gzip
import json
import threading
from dataclasses import replace
from typing import Any

import pytest

from workmagic_provider.stores import GCSStore, S3Store
from workmagic_provider.sync import HourSync, SyncSettings
from workmagic_sandbox.launcher import GCP_CONN_ID
from workmagic_sandbox.sample_data import custom_site_orders

pytestmark = pytest.mark.integration

SRC = "exports/2026/03/08/02/"
DEST = "account-121226/order-geo-date-data/2026/03/08/02/"
GEN_OLD, GEN_A, GEN_B = (f"20260308T0300000000{n:02d}abcd" for n in (1, 2, 3))


def gz_lines(count: int, seed: int) -> bytes:
    rows = custom_site_orders(count, seed=seed)
    return gzip.compress("".join(json.dumps(r) + "\n" for r in rows).encode(), mtime=0)


class Pausing:
    """Mixin: the listing of ``pause_prefix`` returns its result only after ``resume`` is set."""

    pause_prefix = ""
    listed: threading.Event
    resume: threading.Event

    def list(self, prefix: str, *, recursive: bool = False) -> Any:
        found = super().list(prefix, recursive=recursive)  # type: ignore[misc]
        if prefix == self.pause_prefix:
            self.listed.set()
            assert self.resume.wait(120), "run B never finished"
        return found


class PausingS3(Pausing, S3Store):
    """S3 listings carry no metadata: read it with the listing, so A's marks predate B."""

    def list(self, prefix: str, *, recursive: bool = False) -> Any:
        if prefix != self.pause_prefix:
            return super().list(prefix, recursive=recursive)
        found = S3Store.list(self, prefix, recursive=recursive)
        found = [replace(o, metadata=self.metadata(o.key)) for o in found]
        self.listed.set()
        assert self.resume.wait(120), "run B never finished"
        return found


class PausingGCS(Pausing, GCSStore):
    pass


@pytest.fixture(params=["s3", "gcs"])
def stores(request: Any, customer: Any, sandbox: Any, airflow_connections: Any) -> Any:
    """(source, destination, pausing class, source writer) of one cloud."""
    from workmagic_provider.hooks.workmagic import WorkMagicHook

    if request.param == "s3":
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        source = S3Store(S3Hook(aws_conn_id="customer_source_aws"), customer.bucket)
        destination = S3Store(WorkMagicHook().get_s3_hook(), sandbox.bucket)
        return source, destination, PausingS3
    from airflow.providers.google.cloud.hooks.gcs import GCSHook

    airflow_connections(cloud="gcs")
    source = GCSStore(GCSHook(gcp_conn_id=GCP_CONN_ID), customer.bucket)
    destination = GCSStore(WorkMagicHook().get_gcs_hook(), sandbox.bucket)
    return source, destination, PausingGCS


def contents(destination: Any) -> dict[str, bytes]:
    out = {}
    for info in destination.list(DEST):
        with destination.open_read(info.key) as stream:
            out[info.key[len(DEST) :]] = stream.read()
    return out


@pytest.mark.parametrize("pause_after", ["source listing", "destination listing"])
def test_a_paused_older_run_never_deletes_what_a_newer_run_delivered(
    stores: Any, pause_after: str
) -> None:
    source, destination, pausing = stores
    settings = SyncSettings(sync_id="test.sync")
    f1, f2_old, f2_new = gz_lines(3, 1), gz_lines(4, 2), gz_lines(5, 3)

    def hour_sync(src: Any, generation: str) -> HourSync:
        return HourSync(
            src, SRC, destination, DEST, settings, delete_extra=True, generation=lambda: generation
        )

    source.write_bytes(SRC + "f1.json.gz", f1, {})
    if pause_after == "destination listing":
        # an earlier run delivered f2, whose source was then removed
        source.write_bytes(SRC + "f2.json.gz", f2_old, {})
        hour_sync(source, GEN_OLD).run()
        source.delete([SRC + "f2.json.gz"])

    paused = pausing(source.hook, source.bucket)
    if pause_after == "destination listing":
        paused = pausing(destination.hook, destination.bucket)
    paused.pause_prefix = SRC if pause_after == "source listing" else DEST
    paused.listed, paused.resume = threading.Event(), threading.Event()
    if pause_after == "source listing":
        run_a = hour_sync(paused, GEN_A)
    else:
        run_a = HourSync(
            source, SRC, paused, DEST, settings, delete_extra=True, generation=lambda: GEN_A
        )
    outcome: dict[str, Any] = {}

    def a() -> None:
        try:
            outcome["a"] = run_a.run().summary()
        except BaseException as err:  # reported by the main thread
            outcome["error"] = err
            paused.listed.set()

    thread = threading.Thread(target=a)
    thread.start()
    assert paused.listed.wait(120)
    source.write_bytes(SRC + "f2.json.gz", f2_new, {})  # a file only run B sees
    b = hour_sync(source, GEN_B).run().summary()
    paused.resume.set()
    thread.join(120)
    assert "error" not in outcome, outcome.get("error")

    expected = {"f1.json.gz": f1, "f2.json.gz": f2_new}  # run B's complete output
    assert contents(destination) == expected
    assert sorted(b["delivered"]) == sorted(expected)
    assert outcome["a"]["deleted"] == 0 and outcome["a"]["kept_newer"] == 1
