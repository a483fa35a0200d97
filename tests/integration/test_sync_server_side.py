"""Server-side copies: when WorkMagic's identity may read the customer's bucket, no byte of a
copied file passes through the worker; when it may not, the first copy finds out and the sync
streams as before. On moto behind the sandbox's gate (which enforces the read grant) and on the
GCS emulator (rewrite)."""

from __future__ import annotations

import gzip
import json
import random
from typing import Any

import pytest

from workmagic_provider.generations import GENERATION_MARK
from workmagic_provider.stores import GCSStore, ObjectInfo, S3Store
from workmagic_provider.sync import HourSync, SyncSettings
from workmagic_provider.sync_files import HEAD_BYTES
from workmagic_provider.sync_marks import FINGERPRINT_MARK
from workmagic_sandbox.launcher import AWS_CONN_ID, GCP_CONN_ID
from workmagic_sandbox.sample_data import custom_site_orders

pytestmark = pytest.mark.integration

SRC = "exports/2026/03/08/02/"
DEST = "account-121226/order-geo-date-data/2026/03/08/02/"
SAME_ACCOUNT_BUCKET = "customer-same-endpoint"


def gz_lines(count: int, seed: int, pad: int = 0) -> bytes:
    rng = random.Random(seed)
    rows = []
    for order in custom_site_orders(count, seed=seed):
        if pad:
            order["note"] = rng.randbytes(pad).hex()
        rows.append(json.dumps(order, separators=(",", ":")))
    return gzip.compress(("\n".join(rows) + "\n").encode(), mtime=0, compresslevel=1)


class Counted:
    """Mixin: count the source reads (whole streams and content-check heads)."""

    streamed: int
    heads: int

    def open_read(self, key: str) -> Any:
        self.streamed += 1
        return super().open_read(key)  # type: ignore[misc]

    def read_head(self, key: str, size: int) -> bytes:
        self.heads += 1
        return super().read_head(key, size)  # type: ignore[misc,no-any-return]


class CountedS3(Counted, S3Store):
    streamed = heads = 0


class CountedGCS(Counted, GCSStore):
    streamed = heads = 0


@pytest.fixture
def same_endpoint_s3(clean_sandbox: Any, airflow_connections: Any) -> tuple[CountedS3, S3Store]:
    """A customer bucket on WorkMagic's S3 endpoint (as on AWS), read with the customer's keys."""
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    from workmagic_provider.hooks.workmagic import WorkMagicHook

    hook = S3Hook(aws_conn_id=AWS_CONN_ID)
    hook.get_conn().create_bucket(Bucket=SAME_ACCOUNT_BUCKET)
    source = CountedS3(hook, SAME_ACCOUNT_BUCKET)
    return source, S3Store(WorkMagicHook().get_s3_hook(), clean_sandbox.bucket)


def put(store: Any, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        store.write_bytes(SRC + name, data, {})


def sync(source: Any, destination: Any, **settings: Any) -> dict[str, Any]:
    return (
        HourSync(source, SRC, destination, DEST, SyncSettings(sync_id="test.sync", **settings))
        .run()
        .summary()
    )


def test_s3_with_a_read_grant_copies_server_side(
    same_endpoint_s3: tuple[CountedS3, S3Store], sandbox: Any
) -> None:
    source, role = same_endpoint_s3
    # S3's smallest part size as the multipart threshold, so one big file copies in parts
    destination = S3Store(role.hook, role.bucket, multipart_chunk_bytes=5 * 1024**2)
    files = {f"orders-{n}.json.gz": gz_lines(20, seed=n) for n in range(6)}
    files["big.json.gz"] = gz_lines(4700, seed=9, pad=900)
    assert len(files["big.json.gz"]) > destination._transfer.multipart_threshold
    files["mid.json.gz"] = gz_lines(300, seed=8, pad=300)  # over the 64 KiB content check
    assert len(files["mid.json.gz"]) > HEAD_BYTES
    put(source, files)
    sandbox.aws.grant_read(SAME_ACCOUNT_BUCKET)

    summary = sync(source, destination, split_oversized=False)
    # small files were read whole by the content check: written from those bytes (one PUT);
    # larger ones are copied inside S3 and never pass through the worker
    assert summary["copied"] == 8 and summary["copied_server_side"] == 2
    small = sum(len(d) for n, d in files.items() if n.startswith("orders-"))
    assert summary["bytes_through_worker"] == small and source.streamed == 0
    assert summary["bytes_written"] == sum(len(d) for d in files.values())
    actions = {w.key[len(DEST) :]: w.action for w in sandbox.writes}
    assert actions["orders-0.json.gz"] == "PutObject"
    assert actions["mid.json.gz"] == "CopyObject"
    assert actions["big.json.gz"] == "CompleteMultipartUpload"  # UploadPartCopy parts
    client = sandbox.aws.admin_client()
    for name, data in files.items():
        obj = client.get_object(Bucket=sandbox.bucket, Key=DEST + name)
        assert obj["Body"].read() == data
        assert obj["Metadata"][GENERATION_MARK] == summary["generation"]
        assert obj["Metadata"][FINGERPRINT_MARK].startswith(f"{len(data)}:")

    heads = source.heads
    again = sync(source, destination, split_oversized=False)
    assert again["bytes_written"] == 0 and again["skipped"] == 8
    assert source.heads == heads and source.streamed == 0  # unchanged: the listing sufficed


def test_s3_without_a_grant_the_first_copy_finds_out_and_the_rest_stream(
    same_endpoint_s3: tuple[CountedS3, S3Store], sandbox: Any
) -> None:
    source, destination = same_endpoint_s3
    files = {f"orders-{n}.json.gz": gz_lines(20, seed=n) for n in range(5)}
    files.update({f"mid-{n}.json.gz": gz_lines(300, seed=n, pad=300) for n in range(3)})
    put(source, files)

    summary = sync(source, destination)
    assert summary["copied"] == 8 and summary["copied_server_side"] == 0
    assert summary["bytes_through_worker"] == summary["bytes_written"] > 0
    assert source.heads == 8 and source.streamed == 3  # small files: read once, whole
    copy_denials = [d for d in sandbox.denials if d.action == "CopyObject"]
    assert len(copy_denials) == 1  # found out once per run, not once per file
    client = sandbox.aws.admin_client()
    for name, data in files.items():
        assert client.get_object(Bucket=sandbox.bucket, Key=DEST + name)["Body"].read() == data


def test_gcs_copies_by_rewrite_with_our_marks(
    customer: Any, sandbox: Any, airflow_connections: Any
) -> None:
    from airflow.providers.google.cloud.hooks.gcs import GCSHook

    from workmagic_provider.hooks.workmagic import WorkMagicHook

    airflow_connections(cloud="gcs")
    source = CountedGCS(GCSHook(gcp_conn_id=GCP_CONN_ID), customer.bucket)
    destination = GCSStore(WorkMagicHook().get_gcs_hook(), sandbox.bucket)
    # over the 64 KiB the content check reads: a smaller file is written from those bytes
    files = {f"orders-{n}.json.gz": gz_lines(300, seed=n, pad=300) for n in range(4)}
    assert min(len(d) for d in files.values()) > HEAD_BYTES
    for name, data in files.items():  # the source carries metadata of its own
        blob = customer.gcs_bucket().blob(SRC + name)
        blob.metadata = {"exporter": "nightly"}
        blob.upload_from_string(data)

    summary = sync(source, destination)
    assert summary["copied_server_side"] == 4 and summary["bytes_through_worker"] == 0
    assert source.streamed == 0
    listed: list[ObjectInfo] = destination.list(DEST)
    assert {o.key[len(DEST) :] for o in listed} == set(files)
    for info in listed:
        assert info.metadata is not None
        assert info.metadata[GENERATION_MARK] == summary["generation"]
        assert (
            destination._bucket.blob(info.key).download_as_bytes() == files[info.key[len(DEST) :]]
        )
    assert sync(source, destination)["bytes_written"] == 0


def test_trusting_names_copies_server_side_without_reading_a_byte(
    same_endpoint_s3: tuple[CountedS3, S3Store], sandbox: Any
) -> None:
    source, destination = same_endpoint_s3
    files = {f"orders-{n}.json.gz": gz_lines(10, seed=n) for n in range(3)}
    put(source, files)
    sandbox.aws.grant_read(SAME_ACCOUNT_BUCKET)

    summary = sync(source, destination, check_content=False)
    assert summary["copied_server_side"] == 3
    assert source.heads == 0 and source.streamed == 0
