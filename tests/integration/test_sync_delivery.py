"""What the sync operators deliver, on moto (S3) and the GCS emulator alike.

Only gzip JSON Lines reach WorkMagic's hour folder: nested files flattened into it, plain JSON
Lines compressed on the way, everything else named in the log and XCom; an empty hour is
flagged, failed or skipped; a file that lands after its hour's run is delivered by the next run.
"""

from __future__ import annotations

import gzip
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from workmagic_provider.standards import HARD_LIMIT_BYTES
from workmagic_sandbox.sample_data import custom_site_orders

pytestmark = pytest.mark.integration

HOUR = datetime(2026, 3, 8, 2, tzinfo=timezone.utc)
CATEGORY_PREFIX = "account-121226/order-geo-date-data/"


def folder(hour: datetime) -> str:
    return f"{hour:%Y/%m/%d/%H}/"


def lines(count: int, seed: int) -> bytes:
    rows = custom_site_orders(count, hour=HOUR, seed=seed)
    return "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in rows).encode()


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


@dataclass
class Cloud:
    """One cloud's customer bucket, WorkMagic's bucket and the sync operator that joins them."""

    name: str
    customer: Any
    sandbox: Any

    def put(self, hour: datetime, path: str, data: bytes) -> None:
        key = f"exports/{folder(hour)}{path}"
        if self.name == "s3":
            self.customer.s3_client().put_object(Bucket=self.customer.bucket, Key=key, Body=data)
        else:
            self.customer.gcs_bucket().blob(key).upload_from_string(data)

    def landed(self, hour: datetime = HOUR) -> dict[str, bytes]:
        prefix = CATEGORY_PREFIX + folder(hour)
        if self.name == "s3":
            client = self.sandbox.aws.admin_client()
            return {
                key[len(prefix) :]: client.get_object(Bucket=self.sandbox.bucket, Key=key)[
                    "Body"
                ].read()
                for key in self.sandbox.aws.list_keys(prefix)
            }
        inbound = self.sandbox.gcs.client().bucket(self.sandbox.bucket)
        return {
            b.name[len(prefix) :]: b.download_as_bytes() for b in inbound.list_blobs(prefix=prefix)
        }

    def operator(self, **kwargs: Any) -> Any:
        if self.name == "s3":
            from workmagic_provider.operators.s3 import S3SyncToWorkMagicOperator

            return S3SyncToWorkMagicOperator(
                task_id="sync_hour",
                source_bucket=self.customer.bucket,
                source_prefix="exports/",
                source_conn_id="customer_source_aws",
                **kwargs,
            )
        from workmagic_provider.operators.gcs import GCSSyncToWorkMagicOperator

        return GCSSyncToWorkMagicOperator(
            task_id="sync_hour",
            source_bucket=self.customer.bucket,
            source_prefix="exports/",
            **kwargs,
        )

    def run(self, hour: datetime = HOUR, **kwargs: Any) -> dict[str, Any]:
        context = {"data_interval_start": hour, "data_interval_end": hour + timedelta(hours=1)}
        return self.operator(**kwargs).execute(context)  # type: ignore[no-any-return]


@pytest.fixture(params=["s3", "gcs"])
def cloud(request: Any, customer: Any, sandbox: Any, airflow_connections: Any) -> Cloud:
    if request.param == "gcs":
        airflow_connections(cloud="gcs")
    return Cloud(request.param, customer, sandbox)


def assert_readable_by_workmagic(data: bytes) -> list[bytes]:
    """gzip, under the size limit, one JSON object per line; returns the lines."""
    assert data[:2] == b"\x1f\x8b" and len(data) < HARD_LIMIT_BYTES
    rows = gzip.decompress(data).splitlines()
    assert rows and all(isinstance(json.loads(row), dict) for row in rows)
    return rows


def warnings_logged(caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> str:
    """WARNING lines, whether logging reached pytest or Airflow's console renderer took them."""
    records = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    console = [line for line in "".join(capfd.readouterr()).splitlines() if "[warning" in line]
    return "\n".join(records + console)


def put_mixed_hour(cloud: Cloud) -> dict[str, bytes]:
    files = {
        "orders.json.gz": gz(lines(6, seed=1)),
        "region=eu/orders.json.gz": gz(lines(5, seed=2)),  # same name as the top-level file
        "orders.csv": b"id,created_at,total_price\n1,2026-03-08T02:00:00Z,10\n",
        "plain.jsonl": lines(4, seed=3),
        "_SUCCESS": b"",
        "fake.json.gz": lines(3, seed=4),  # JSON Lines, but not gzip-compressed
    }
    for path, data in files.items():
        cloud.put(HOUR, path, data)
    return files


def test_only_gzip_json_lines_arrive_nested_flattened_plain_compressed(
    cloud: Cloud, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    files = put_mixed_hour(cloud)
    with caplog.at_level(logging.WARNING, logger="workmagic_provider"):
        summary = cloud.run()

    landed = cloud.landed()
    assert sorted(landed) == ["orders.json.gz", "plain.jsonl.gz", "region=eu__orders.json.gz"]
    assert landed["orders.json.gz"] == files["orders.json.gz"]
    assert landed["region=eu__orders.json.gz"] == files["region=eu/orders.json.gz"]
    for data in landed.values():
        assert_readable_by_workmagic(data)
    assert (
        gzip.decompress(landed["plain.jsonl.gz"]).splitlines() == files["plain.jsonl"].splitlines()
    )

    assert summary["delivered"] == {
        "orders.json.gz": "orders.json.gz",
        "plain.jsonl": "plain.jsonl.gz",
        "region=eu/orders.json.gz": "region=eu__orders.json.gz",
    }
    assert summary["not_delivered"] == 3
    reasons = summary["skipped_files"]
    assert sorted(reasons) == ["_SUCCESS", "fake.json.gz", "orders.csv"]
    assert "not gzip" in reasons["fake.json.gz"] and "CSV" in reasons["orders.csv"]
    assert summary["empty"] is False and summary["files_seen"] == 6
    warnings = warnings_logged(caplog, capfd).splitlines()
    assert any(all(n in w for n in ("_SUCCESS", "fake.json.gz", "orders.csv")) for w in warnings)

    again = cloud.run()
    assert again["bytes_written"] == 0 and again["skipped"] == 3 and again["deleted"] == 0
    assert cloud.landed() == landed


def test_on_foreign_file_fail_writes_nothing_and_names_the_files(cloud: Cloud) -> None:
    from workmagic_provider.exceptions import WorkMagicInputError

    put_mixed_hour(cloud)
    with pytest.raises(WorkMagicInputError) as raised:
        cloud.run(on_foreign_file="fail")
    for name in ("_SUCCESS", "fake.json.gz", "orders.csv"):
        assert name in str(raised.value)
    assert cloud.landed() == {}


def test_recursive_false_takes_only_the_hour_folder_itself(cloud: Cloud) -> None:
    put_mixed_hour(cloud)
    summary = cloud.run(recursive=False)
    assert sorted(cloud.landed()) == ["orders.json.gz", "plain.jsonl.gz"]
    assert summary["files_seen"] == 5


@pytest.mark.parametrize("content", ["nothing", "only foreign files"])
def test_empty_hour_warns_and_flags_or_fails_or_skips(
    cloud: Cloud,
    content: str,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    from airflow.sdk.exceptions import AirflowSkipException

    from workmagic_provider.exceptions import WorkMagicError

    if content != "nothing":
        cloud.put(HOUR, "_SUCCESS", b"")
        cloud.put(HOUR, "orders.csv", b"id\n1\n")
    with caplog.at_level(logging.WARNING, logger="workmagic_provider"):
        summary = cloud.run()
    assert summary["empty"] is True and summary["objects_written"] == 0
    assert "nothing to deliver" in warnings_logged(caplog, capfd)
    with pytest.raises(WorkMagicError, match="nothing to deliver"):
        cloud.run(on_empty="fail")
    with pytest.raises(AirflowSkipException):
        cloud.run(on_empty="skip")

    cloud.put(HOUR, "orders.json.gz", gz(lines(2, seed=5)))
    assert cloud.run(on_empty="fail")["empty"] is False


def test_a_file_added_after_its_hours_run_is_delivered_by_the_next_run(cloud: Cloud) -> None:
    following = HOUR + timedelta(hours=1)
    cloud.put(HOUR, "early.json.gz", gz(lines(3, seed=6)))
    first = cloud.run(HOUR)
    assert first["copied"] == 1

    late = gz(lines(4, seed=7))
    cloud.put(HOUR, "late.json.gz", late)  # lands after HOUR's run
    cloud.put(following, "next.json.gz", gz(lines(2, seed=8)))
    summary = cloud.run(following)

    assert summary["copied"] == 1 and sorted(cloud.landed(following)) == ["next.json.gz"]
    (recheck,) = summary["rechecked"]
    assert recheck["delivered"] == {"late.json.gz": "late.json.gz"}
    assert recheck["copied"] == 1 and recheck["skipped"] == 1
    assert cloud.landed(HOUR)["late.json.gz"] == late

    again = cloud.run(following)
    assert again["bytes_written"] == 0 and again["rechecked"][0]["bytes_written"] == 0

    nothing_late = cloud.run(following, recheck_hours=0)
    assert nothing_late["rechecked"] == []
