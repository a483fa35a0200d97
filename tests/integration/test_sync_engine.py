"""The sync engine against real loopback servers: copy, skip, split, prune, delete_extra."""

from __future__ import annotations

import gzip
import json
import random
from typing import Any

import pytest
from dag_helpers import IMPORTED_ROW

from workmagic_provider.standards import HARD_LIMIT_BYTES
from workmagic_provider.stores import S3Store
from workmagic_provider.sync import HourSync, SyncSettings
from workmagic_sandbox.sample_data import custom_site_orders

pytestmark = pytest.mark.integration

SRC = "exports/2026/03/08/02/"
DEST = "account-121226/order-geo-date-data/2026/03/08/02/"


def _gz_lines(count: int, seed: int = 1, pad: int = 0) -> bytes:
    rng = random.Random(seed)
    rows = []
    for order in custom_site_orders(count, seed=seed):
        if pad:
            order["note"] = rng.randbytes(pad).hex()
        rows.append(json.dumps(order, separators=(",", ":")))
    return gzip.compress(("\n".join(rows) + "\n").encode(), mtime=0)


def _stores(customer: Any) -> tuple[S3Store, S3Store]:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    from workmagic_provider.hooks.workmagic import WorkMagicHook

    source = S3Store(S3Hook(aws_conn_id="customer_source_aws"), customer.bucket)
    destination = S3Store(WorkMagicHook().get_s3_hook(), "workmagic-inbound-data")
    return source, destination


def _sync(customer: Any, **kwargs: Any) -> dict[str, Any]:
    source, destination = _stores(customer)
    settings = SyncSettings(sync_id="test.sync", **kwargs.pop("settings", {}))
    return (
        HourSync(source, SRC, destination, DEST, settings, max_workers=4, **kwargs).run().summary()
    )


def _dest(sandbox: Any) -> dict[str, bytes]:
    client = sandbox.aws.admin_client()
    return {
        key[len(DEST) :]: client.get_object(Bucket=sandbox.bucket, Key=key)["Body"].read()
        for key in sandbox.aws.list_keys(DEST)
    }


class WatchedSource(S3Store):
    """A source whose reads report the bytes read so far to ``watch`` (which may raise)."""

    def __init__(self, hook: Any, bucket: str, watch: Any) -> None:
        super().__init__(hook, bucket)
        self.watch = watch

    def open_read(self, key: str) -> Any:
        body = super().open_read(key)
        watch = self.watch

        class Watched:
            read_so_far = 0

            def read(self, size: int = -1) -> bytes:
                data = body.read(size)
                self.read_so_far += len(data)
                watch(self.read_so_far)
                return data

            def close(self) -> None:
                body.close()

            def __enter__(self) -> Any:
                return self

            def __exit__(self, *exc: object) -> None:
                body.close()

        return Watched()


def test_copy_skip_change_and_delete_extra(customer: Any, sandbox: Any) -> None:
    s3 = customer.s3_client()
    files = {f"orders-{n}.json.gz": _gz_lines(30, seed=n) for n in range(5)}
    for name, data in files.items():
        s3.put_object(Bucket=customer.bucket, Key=SRC + name, Body=data)
    s3.put_object(Bucket=customer.bucket, Key=SRC + "nested/not-gzip.json.gz", Body=b"x")

    first = _sync(customer)
    assert first["copied"] == 5 and first["skipped"] == 0
    assert first["bytes_written"] == sum(len(d) for d in files.values())
    assert _dest(sandbox) == files  # byte-identical, names kept, the unreadable file left out
    assert list(first["skipped_files"]) == ["nested/not-gzip.json.gz"]
    writes = sandbox.writes
    assert writes and all(w.account_id == "121226" for w in writes)  # written as the role

    again = _sync(customer)
    assert again["copied"] == 0 and again["skipped"] == 5 and again["bytes_written"] == 0

    changed = _gz_lines(31, seed=99)
    s3.put_object(Bucket=customer.bucket, Key=SRC + "orders-2.json.gz", Body=changed)
    s3.delete_object(Bucket=customer.bucket, Key=SRC + "orders-4.json.gz")
    third = _sync(customer)
    assert third["copied"] == 1 and third["skipped"] == 3 and third["deleted"] == 0
    assert _dest(sandbox)["orders-2.json.gz"] == changed
    assert "orders-4.json.gz" in _dest(sandbox)  # delete_extra is off by default

    # a customer's own object in the folder (not written by this sync) is never touched
    sandbox.aws.admin_client().put_object(
        Bucket=sandbox.bucket, Key=DEST + "manual.json.gz", Body=b"m"
    )
    fourth = _sync(customer, delete_extra=True)
    assert fourth["deleted"] == 1
    assert sorted(_dest(sandbox)) == [
        "manual.json.gz",
        "orders-0.json.gz",
        "orders-1.json.gz",
        "orders-2.json.gz",
        "orders-3.json.gz",
    ]


def test_oversized_file_is_split_into_parts_with_the_same_lines(
    customer: Any, sandbox: Any
) -> None:
    big = _gz_lines(2500, seed=7, pad=700)  # random padding: compresses poorly
    assert len(big) > HARD_LIMIT_BYTES
    customer.s3_client().put_object(Bucket=customer.bucket, Key=SRC + "big.json.gz", Body=big)

    summary = _sync(customer)
    parts = _dest(sandbox)
    assert summary["split"] == 1 and summary["rows_written"] == 2500
    assert sorted(parts) == [f"big-part-{i:04d}.json.gz" for i in range(len(parts))]
    assert len(parts) >= 3
    assert all(len(data) < 1_000_000 for data in parts.values())
    lines = [line for name in sorted(parts) for line in gzip.decompress(parts[name]).splitlines()]
    assert lines == gzip.decompress(big).splitlines()

    assert _sync(customer)["bytes_written"] == 0  # unchanged: skipped, parts kept
    smaller = _gz_lines(1200, seed=7, pad=700)
    customer.s3_client().put_object(Bucket=customer.bucket, Key=SRC + "big.json.gz", Body=smaller)
    resplit = _sync(customer)
    after = _dest(sandbox)
    assert resplit["deleted"] == len(parts) - len(after)  # stale parts of the same file removed
    lines = [line for name in sorted(after) for line in gzip.decompress(after[name]).splitlines()]
    assert lines == gzip.decompress(smaller).splitlines()


def test_without_a_schema_parts_are_written_while_the_file_is_read(
    customer: Any, sandbox: Any
) -> None:
    """A re-split without validation streams: parts land before the source is fully read."""
    big = _gz_lines(2500, seed=8, pad=700)
    customer.s3_client().put_object(Bucket=customer.bucket, Key=SRC + "big.json.gz", Body=big)
    source, destination = _stores(customer)
    progress = {"read": 0}
    read_when_written: list[int] = []

    def count(read_so_far: int) -> None:
        progress["read"] = read_so_far

    class RecordingDestination(S3Store):
        def write_bytes(self, key: str, data: bytes, metadata: Any) -> None:
            read_when_written.append(progress["read"])
            super().write_bytes(key, data, metadata)

    sync = HourSync(
        WatchedSource(source.hook, source.bucket, count),
        SRC,
        RecordingDestination(destination.hook, destination.bucket),
        DEST,
        SyncSettings(sync_id="test.sync"),
        max_workers=1,
    )
    summary = sync.run().summary()
    parts = _dest(sandbox)
    assert summary["split"] == 1 and len(parts) == len(read_when_written) >= 3
    assert read_when_written[0] < len(big)  # the first part was written mid-file
    lines = [line for name in sorted(parts) for line in gzip.decompress(parts[name]).splitlines()]
    assert lines == gzip.decompress(big).splitlines()


def test_a_file_cut_off_mid_read_is_redone_by_the_retry(customer: Any, sandbox: Any) -> None:
    """Parts written before a read failure do not make the file look done to the next run."""
    from workmagic_provider.exceptions import WorkMagicError

    big = _gz_lines(2500, seed=9, pad=700)
    customer.s3_client().put_object(Bucket=customer.bucket, Key=SRC + "big.json.gz", Body=big)
    source, destination = _stores(customer)

    def cut(read_so_far: int) -> None:
        if read_so_far > len(big) * 0.95:
            raise ConnectionResetError("connection reset by peer")

    settings = SyncSettings(sync_id="test.sync")
    broken = HourSync(
        WatchedSource(source.hook, source.bucket, cut), SRC, destination, DEST, settings
    )
    with pytest.raises(WorkMagicError, match="connection reset"):
        broken.run()
    left = _dest(sandbox)
    assert left, "the streaming writer had written parts before the failure"

    retry = _sync(customer)
    assert retry["split"] == 1 and retry["skipped"] == 0 and retry["rows_written"] == 2500
    parts = _dest(sandbox)
    lines = [line for name in sorted(parts) for line in gzip.decompress(parts[name]).splitlines()]
    assert lines == gzip.decompress(big).splitlines()
    assert _sync(customer)["skipped"] == 1  # now complete: the next run skips it


def test_schema_validation_on_the_way(customer: Any, sandbox: Any) -> None:
    rows = [json.dumps(o) for o in custom_site_orders(10)]
    bad = json.loads(rows[3])
    bad["total_price"] = "n/a"
    rows[3] = json.dumps(bad)
    data = gzip.compress(("\n".join(rows) + "\n").encode())
    customer.s3_client().put_object(Bucket=customer.bucket, Key=SRC + "mixed.json.gz", Body=data)

    from workmagic_provider.exceptions import WorkMagicValidationError

    with pytest.raises(WorkMagicValidationError, match="row 4, field 'total_price'"):
        _sync(customer, settings={"schema": "custom-site"})
    assert _dest(sandbox) == {}  # nothing written for a failing file

    summary = _sync(customer, settings={"schema": "custom-site", "on_invalid": "skip"})
    assert summary["rows_written"] == 9 and summary["rows_rejected"] == 1
    written = gzip.decompress(_dest(sandbox)["mixed.json.gz"]).splitlines()
    assert [json.loads(line)["id"] for line in written] == [
        json.loads(r)["id"] for n, r in enumerate(rows) if n != 3
    ]


def test_an_imported_key_is_written_once_across_the_files_of_an_hour(
    customer: Any, sandbox: Any
) -> None:
    row = IMPORTED_ROW
    files = {
        "a.json.gz": [row, {**row, "geo_code": "10002"}, {**row, "orders": 4}],  # repeat inside
        "b.json.gz": [{**row, "geo_code": "10002", "orders": 9}],  # repeat across files
    }
    for name, rows in files.items():
        body = gzip.compress("".join(json.dumps(r) + "\n" for r in rows).encode())
        customer.s3_client().put_object(Bucket=customer.bucket, Key=SRC + name, Body=body)
    summary = _sync(customer, settings={"schema": "imported", "on_invalid": "skip"})
    assert (summary["rows_written"], summary["rows_rejected"]) == (2, 2)
    written = [
        json.loads(line)
        for data in _dest(sandbox).values()
        for line in gzip.decompress(data).splitlines()
    ]
    # each key once (which file's 10002 row came first depends on the order files finish)
    assert sorted(r["geo_code"] for r in written) == ["10001", "10002"]
    assert [r["orders"] for r in written if r["geo_code"] == "10001"] == [3]
