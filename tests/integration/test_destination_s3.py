"""S3 destination against the sandbox: AssumeRole with the External ID, writes as the role only."""

from __future__ import annotations

import gzip
import io
from datetime import datetime, timezone

import pytest

from workmagic_provider.exceptions import WorkMagicConfigError
from workmagic_provider.hooks.workmagic import WorkMagicHook
from workmagic_sandbox.launcher import (
    AWS_CONN_ID,
    CUSTOMER_ACCESS_KEY_ID,
    CUSTOMER_SECRET_ACCESS_KEY,
)

pytestmark = pytest.mark.integration

HOUR = datetime(2026, 3, 8, 2, 0, tzinfo=timezone.utc)
BODY = gzip.compress(b'{"order_id": "1001", "total_price": 12.5}\n')
WRONG_EXTERNAL_ID = "ext_id_account_121226_WRONG"


@pytest.fixture
def s3_env(clean_sandbox, airflow_connections):
    return clean_sandbox


def test_upload_lands_in_the_hour_folder_as_the_assumed_role(s3_env):
    sandbox = s3_env
    hook = WorkMagicHook()
    folder = hook.hour_folder(HOUR)
    key = folder.part_key("upload", 0)
    assert key == (
        "account-121226/order-geo-date-data/2026/03/08/02/2026-03-08-02-upload-0000.json.gz"
    )

    s3 = hook.get_s3_hook()
    s3.load_bytes(BODY, key=key, bucket_name=hook.settings.bucket, replace=True)

    # The object is there (admin view) and reads back through the role.
    assert sandbox.aws.list_keys(folder.prefix) == [key]
    assert s3.get_key(key, hook.settings.bucket).get()["Body"].read() == BODY

    # Written with a key that an allowed AssumeRole of WorkMagic's role returned...
    (write,) = [w for w in sandbox.writes if w.key == key]
    assert write.action == "PutObject" and write.account_id == "121226"
    assert write.access_key_id != CUSTOMER_ACCESS_KEY_ID
    granted = {r.access_key_id: r for r in sandbox.assumed_roles if r.allowed}
    assumed = granted[write.access_key_id]
    assert assumed.role_arn == sandbox.role_arn
    assert assumed.session_name == "airflow-workmagic-121226"
    # ...which the customer's base key asked for.
    assert assumed.caller_access_key_id == CUSTOMER_ACCESS_KEY_ID

    # moto itself received the ExternalId with that AssumeRole.
    (moto_role,) = [
        r for r in sandbox.aws.moto_assumed_roles() if r.access_key_id == write.access_key_id
    ]
    assert moto_role.external_id == sandbox.external_id
    assert moto_role.role_arn == sandbox.role_arn


def test_multipart_upload_parts_are_all_written_by_the_role(s3_env, tmp_path):
    sandbox = s3_env
    hook = WorkMagicHook()
    key = hook.hour_folder(HOUR).part_key("files", 0)
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * (9 * 1024 * 1024))  # above boto3's 8 MiB multipart threshold

    hook.get_s3_hook().load_file(big, key=key, bucket_name=hook.settings.bucket, replace=True)

    actions = [w.action for w in sandbox.writes if w.key == key]
    assert actions[0] == "CreateMultipartUpload" and actions[-1] == "CompleteMultipartUpload"
    assert actions.count("UploadPart") == 2
    keys_used = {w.access_key_id for w in sandbox.writes}
    assert CUSTOMER_ACCESS_KEY_ID not in keys_used
    assert keys_used <= {r.access_key_id for r in sandbox.assumed_roles if r.allowed}


def test_test_connection_succeeds(s3_env):
    ok, message = WorkMagicHook().test_connection()
    assert ok, message
    assert s3_env.role_arn in message
    assert "s3://workmagic-inbound-data/account-121226/" in message
    assert s3_env.external_id not in message


def test_wrong_external_id_is_refused_with_a_message_that_names_the_role(
    s3_env, airflow_connections
):
    sandbox = s3_env
    airflow_connections(external_id_secret=WRONG_EXTERNAL_ID)
    hook = WorkMagicHook()

    ok, message = hook.test_connection()

    assert not ok
    assert sandbox.role_arn in message
    assert "External ID" in message
    for secret in (
        WRONG_EXTERNAL_ID,
        sandbox.external_id,
        CUSTOMER_ACCESS_KEY_ID,
        CUSTOMER_SECRET_ACCESS_KEY,
    ):
        assert secret not in message
    assert [d.reason for d in sandbox.denials] == ["ExternalId does not match"]

    with pytest.raises(WorkMagicConfigError) as info:
        hook.get_s3_hook().load_bytes(
            BODY, key=hook.hour_folder(HOUR).part_key("upload", 0), bucket_name=sandbox.bucket
        )
    assert "check role assumption + External ID" in str(info.value)
    assert WRONG_EXTERNAL_ID not in str(info.value)
    assert sandbox.aws.list_keys() == []
    assert sandbox.writes == []


def test_unknown_workmagic_role_is_refused(s3_env, airflow_connections):
    other = "arn:aws:iam::588759585297:role/AmazonS3FolderAccess999999"
    airflow_connections(role_arn=other)
    ok, message = WorkMagicHook().test_connection()
    assert not ok
    assert other in message and "External ID" in message


def test_base_credentials_alone_cannot_write(s3_env):
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook
    from botocore.exceptions import ClientError

    sandbox = s3_env
    base = S3Hook(aws_conn_id=AWS_CONN_ID)
    key = "account-121226/order-geo-date-data/2026/03/08/02/base.json.gz"
    with pytest.raises(ClientError) as info:
        base.load_bytes(BODY, key=key, bucket_name=sandbox.bucket, replace=True)
    assert info.value.response["Error"]["Code"] == "AccessDenied"
    assert sandbox.aws.list_keys() == []
    assert sandbox.writes == []
    (denial,) = sandbox.denials
    assert denial.access_key_id == CUSTOMER_ACCESS_KEY_ID and denial.action == "PutObject"


def test_the_role_cannot_write_or_list_outside_its_account_folder(s3_env):
    from botocore.exceptions import ClientError

    sandbox = s3_env
    hook = WorkMagicHook()
    client = hook.get_s3_hook().get_conn()
    with pytest.raises(ClientError, match="AccessDenied"):
        client.put_object(Bucket=sandbox.bucket, Key="account-999999/x/y.json.gz", Body=BODY)
    with pytest.raises(ClientError, match="AccessDenied"):
        client.list_objects_v2(Bucket=sandbox.bucket)
    with pytest.raises(ClientError, match="AccessDenied"):
        client.upload_fileobj(io.BytesIO(BODY), sandbox.bucket, "stray.json.gz")
    assert sandbox.aws.list_keys() == []


def test_reset_empties_the_bucket_but_keeps_it(s3_env):
    sandbox = s3_env
    hook = WorkMagicHook()
    key = hook.hour_folder(HOUR).part_key("upload", 1)
    hook.get_s3_hook().load_bytes(BODY, key=key, bucket_name=sandbox.bucket, replace=True)
    assert sandbox.aws.list_keys() == [key]
    sandbox.reset()
    assert sandbox.aws.list_keys() == []
    assert sandbox.writes == []


def test_region_verify_and_config_extras_of_the_customer_connection_reach_the_role_client(
    s3_env, monkeypatch
):
    """The role's client keeps the customer's botocore settings and WorkMagic's region.

    The hook reads them through the amazon provider's public ``conn_config`` only.
    """
    import json

    sandbox = s3_env
    aws = sandbox.connection_dicts()[AWS_CONN_ID]
    aws["extra"].update(
        region_name="eu-west-1",  # the customer's own region; WorkMagic's bucket is us-east-1
        verify=False,
        config_kwargs={"connect_timeout": 7, "read_timeout": 11},
    )
    monkeypatch.setenv(f"AIRFLOW_CONN_{AWS_CONN_ID.upper()}", json.dumps(aws))
    hook = WorkMagicHook()
    s3 = hook.get_s3_hook()
    client = s3.get_conn()
    assert client.meta.region_name == "us-east-1"
    assert client.meta.config.connect_timeout == 7
    assert client.meta.config.read_timeout == 11
    assert s3.verify is False and s3.caller.verify is False
    key = hook.hour_folder(HOUR).part_key("upload", 0)
    client.put_object(Bucket=hook.settings.bucket, Key=key, Body=BODY)
    (write,) = [w for w in sandbox.writes if w.key == key]
    assert write.access_key_id != CUSTOMER_ACCESS_KEY_ID  # the role's key, not the customer's
