"""The sandbox enforces WorkMagic's rules that moto alone does not; ``serve`` prints its use."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from workmagic_sandbox import launcher
from workmagic_sandbox.launcher import CUSTOMER_ACCESS_KEY_ID, CUSTOMER_SECRET_ACCESS_KEY
from workmagic_sandbox.serve import serve

pytestmark = pytest.mark.integration

BODY = b'{"order_id": "1"}\n'


def _base_client(sandbox, service="s3"):
    return boto3.client(
        service,
        endpoint_url=sandbox.s3_endpoint,
        region_name=sandbox.region,
        aws_access_key_id=CUSTOMER_ACCESS_KEY_ID,
        aws_secret_access_key=CUSTOMER_SECRET_ACCESS_KEY,
    )


def _role_client(sandbox, role_arn=None, external_id=None):
    creds = _base_client(sandbox, "sts").assume_role(
        RoleArn=role_arn or sandbox.role_arn,
        RoleSessionName="sandbox-test",
        ExternalId=external_id or sandbox.external_id,
    )["Credentials"]
    return boto3.client(
        "s3",
        endpoint_url=sandbox.s3_endpoint,
        region_name=sandbox.region,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )


def test_connections_point_at_the_sandbox(sandbox):
    conns = {k: json.loads(v) for k, v in sandbox.connections().items()}
    assert set(conns) == {"wm_sandbox_aws", "wm_sandbox_gcp", "workmagic_default"}
    aws = conns["wm_sandbox_aws"]
    assert aws["conn_type"] == "aws"
    assert aws["extra"]["endpoint_url"] == sandbox.s3_endpoint
    assert aws["extra"]["service_config"] == {"sts": {"endpoint_url": sandbox.s3_endpoint}}
    assert conns["wm_sandbox_gcp"]["extra"] == {"is_anonymous": True, "project": "test-project"}
    wm = conns["workmagic_default"]
    assert wm["conn_type"] == "workmagic"
    assert wm["extra"]["role_arn"] == ("arn:aws:iam::588759585297:role/AmazonS3FolderAccess121226")
    assert wm["extra"]["external_id_secret"] == "ext_id_account_121226"
    assert wm["extra"]["aws_conn_id"] == "wm_sandbox_aws"
    assert wm["extra"]["gcp_conn_id"] == "wm_sandbox_gcp"
    # Never the real WorkMagic API from a sandbox run.
    assert wm["extra"]["enrich_api_url"].startswith("http://127.0.0.1:")
    env = sandbox.env("gcs", external_id_secret=None)
    assert env["STORAGE_EMULATOR_HOST"] == sandbox.gcs_endpoint
    assert "external_id_secret" not in json.loads(env["AIRFLOW_CONN_WORKMAGIC_DEFAULT"])["extra"]
    assert json.loads(env["AIRFLOW_CONN_WORKMAGIC_DEFAULT"])["extra"]["cloud"] == "gcs"


def test_presigned_urls_follow_the_same_rules(clean_sandbox):
    sandbox = clean_sandbox
    key = "account-121226/order-geo-date-data/2026/03/08/02/p.json.gz"
    role = _role_client(sandbox)
    role.put_object(Bucket=sandbox.bucket, Key=key, Body=BODY)

    url = role.generate_presigned_url("get_object", Params={"Bucket": sandbox.bucket, "Key": key})
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == BODY
    base_url = _base_client(sandbox).generate_presigned_url(
        "get_object", Params={"Bucket": sandbox.bucket, "Key": key}
    )
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(base_url, timeout=10)
    assert info.value.code == 403
    assert b"<Code>AccessDenied</Code>" in info.value.read()


def test_batch_delete_and_copy_stay_inside_the_account_folder(clean_sandbox):
    sandbox = clean_sandbox
    mine = "account-121226/c/2026/03/08/02/a.json.gz"
    other = "account-555/c/2026/03/08/02/a.json.gz"
    admin = sandbox.aws.admin_client()
    admin.put_object(Bucket=sandbox.bucket, Key=other, Body=BODY)
    role = _role_client(sandbox)
    role.put_object(Bucket=sandbox.bucket, Key=mine, Body=BODY)

    with pytest.raises(ClientError, match="AccessDenied"):
        role.delete_objects(
            Bucket=sandbox.bucket, Delete={"Objects": [{"Key": mine}, {"Key": other}]}
        )
    with pytest.raises(ClientError, match="AccessDenied"):
        role.copy_object(
            Bucket=sandbox.bucket,
            Key="account-121226/c/copied.json.gz",
            CopySource={"Bucket": sandbox.bucket, "Key": other},
        )
    role.delete_objects(Bucket=sandbox.bucket, Delete={"Objects": [{"Key": mine}]})
    assert sandbox.aws.list_keys() == [other]
    assert [(w.action, w.key) for w in sandbox.writes] == [
        ("PutObject", mine),
        ("DeleteObjects", mine),
    ]


def test_roles_of_two_accounts_are_isolated(clean_sandbox):
    sandbox = clean_sandbox
    second = sandbox.aws.issue_role("555", external_id="ext_id_account_555")
    role_555 = _role_client(sandbox, second.role_arn, second.external_id)
    role_555.put_object(Bucket=sandbox.bucket, Key="account-555/x/a.json.gz", Body=BODY)
    with pytest.raises(ClientError, match="AccessDenied"):
        role_555.put_object(Bucket=sandbox.bucket, Key="account-121226/x/a.json.gz", Body=BODY)
    with pytest.raises(ClientError, match="AccessDenied"):  # the other account's External ID
        _role_client(sandbox, second.role_arn, sandbox.external_id)


def test_customer_side_roles_and_buckets_are_plain_moto(clean_sandbox):
    sandbox = clean_sandbox
    sts = _base_client(sandbox, "sts")
    own = sts.assume_role(
        RoleArn="arn:aws:iam::123456789012:role/CustomerExporter",
        RoleSessionName="own-role",
        ExternalId="anything",
    )
    assert own["Credentials"]["AccessKeyId"]
    base = _base_client(sandbox)
    base.create_bucket(Bucket="customer-orders")
    base.put_object(Bucket="customer-orders", Key="2026/03/08/02/a.json.gz", Body=BODY)
    assert (
        base.get_object(Bucket="customer-orders", Key="2026/03/08/02/a.json.gz")["Body"].read()
        == BODY
    )
    assert sandbox.writes == [] and sandbox.denials == []


def test_serve_prints_endpoints_and_exports_and_stops(monkeypatch):
    lines: list[str] = []
    stop = threading.Event()
    ready = threading.Event()

    def record(line: str) -> None:
        lines.append(line)
        if line.startswith("Press Ctrl+C"):
            ready.set()

    thread = threading.Thread(
        target=serve,
        kwargs={
            "account_id": "424242",
            "print_fn": record,
            "stop_event": stop,
            "source_bucket": "customer-seeded",
            "seed_hours": 2,
        },
        daemon=True,
    )
    thread.start()
    assert ready.wait(180), lines  # seeding imports Airflow (sheet labels): slow when loaded
    exports = dict(
        line.removeprefix("export ").split("=", 1) for line in lines if line.startswith("export ")
    )
    assert {
        "AIRFLOW_CONN_WM_SANDBOX_AWS",
        "AIRFLOW_CONN_WM_SANDBOX_GCP",
        "AIRFLOW_CONN_WORKMAGIC_DEFAULT",
        "STORAGE_EMULATOR_HOST",
    } <= set(exports)
    assert any("AmazonS3FolderAccess424242" in line for line in lines)
    gcs_host = exports["STORAGE_EMULATOR_HOST"]
    with urllib.request.urlopen(f"{gcs_host}/storage/v1/b/workmagic-inbound-data", timeout=10):
        pass
    # the customer's source bucket, seeded for the last two complete hours in both clouds
    with urllib.request.urlopen(f"{gcs_host}/storage/v1/b/customer-seeded/o", timeout=10) as r:
        gcs_names = sorted(item["name"] for item in json.loads(r.read())["items"])
    aws = json.loads(exports["AIRFLOW_CONN_WM_SANDBOX_AWS"].strip("'"))
    s3 = boto3.client(
        "s3",
        endpoint_url=aws["extra"]["endpoint_url"],
        region_name="us-east-1",
        aws_access_key_id=aws["login"],
        aws_secret_access_key=aws["password"],
    )
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket="customer-seeded")["Contents"]]
    assert sorted(k for k in listed if k.startswith("exports/")) == gcs_names
    assert len(gcs_names) == 2
    # beside them in S3, the other example DAGs' inputs (what docker compose wires them to)
    for folder, count in (("uploads/", 2), ("landing/", 2), ("sales/", 2)):  # 1 file a day
        assert 0 < sum(k.startswith(folder) for k in listed) <= count, (folder, listed)
    assert all(
        re.fullmatch(r"exports/\d{4}/\d\d/\d\d/\d\d/orders-\d{10}\.json\.gz", n) for n in gcs_names
    )
    assert any(line.startswith("customer bucket customer-seeded") for line in lines)
    stop.set()
    thread.join(30)
    assert not thread.is_alive()
    assert lines[-1].startswith("Stopping")


def test_sandbox_overrides_and_idempotent_lifecycle():
    box = launcher.Sandbox(account_id="77", external_id="custom-ext-id", bucket="wm-test-bucket")
    with box:
        assert box.start() is box
        assert box.role_arn.endswith("AmazonS3FolderAccess77")
        client = _role_client(box)
        client.put_object(Bucket="wm-test-bucket", Key="account-77/c/a.json.gz", Body=BODY)
        assert box.aws.list_keys() == ["account-77/c/a.json.gz"]
        assert box.gcs.list_names() == []
    box.stop()


@pytest.mark.timeout(120)
def test_the_console_script_serves_until_sigterm(tmp_path):
    """``workmagic-sandbox serve`` (what compose runs) starts, prints its exports, stops cleanly."""
    script = Path(sys.executable).with_name("workmagic-sandbox")
    env = {"PATH": f"{script.parent}:/usr/bin:/bin", "HOME": str(tmp_path)}
    env["AIRFLOW_HOME"] = str(tmp_path / "airflow")
    process = subprocess.Popen(
        [str(script), "serve", "--account", "515151"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    lines: list[str] = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("Press Ctrl+C"):
                break
        process.send_signal(signal.SIGTERM)
        rest, errors = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, errors[-3000:]
    assert any("AmazonS3FolderAccess515151" in line for line in lines), lines
    assert any(line.startswith("export AIRFLOW_CONN_WORKMAGIC_DEFAULT=") for line in lines)
    assert rest.strip().endswith("Stopping the WorkMagic sandbox.")
