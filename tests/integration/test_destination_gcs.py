"""GCS destination against the sandbox's emulator through the google provider's GCSHook."""

from __future__ import annotations

import gzip
from datetime import datetime, timezone

import pytest

from workmagic_provider.hooks.workmagic import WorkMagicHook

pytestmark = pytest.mark.integration

HOUR = datetime(2026, 3, 8, 2, 0, tzinfo=timezone.utc)
BODY = gzip.compress(b'{"order_id": "1001", "total_price": 12.5}\n')


@pytest.fixture
def gcs_env(clean_sandbox, airflow_connections):
    airflow_connections(cloud="gcs")
    return clean_sandbox


def test_upload_lands_in_the_emulator_bucket(gcs_env):
    sandbox = gcs_env
    hook = WorkMagicHook()
    assert hook.destination_cloud() == "gcs"
    folder = hook.hour_folder(HOUR)
    key = folder.part_key("upload", 0)

    gcs = hook.get_gcs_hook()
    gcs.upload(bucket_name=hook.settings.bucket, object_name=key, data=BODY)

    assert sandbox.gcs.list_names(folder.prefix) == [key]
    assert gcs.download(bucket_name=hook.settings.bucket, object_name=key) == BODY
    assert sandbox.writes == []  # nothing went to S3


def test_test_connection_lists_the_account_folder(gcs_env):
    hook = WorkMagicHook()
    ok, message = hook.test_connection()
    assert ok, message
    assert "gs://workmagic-inbound-data/account-121226/" in message
    assert "empty so far" in message
    hook.get_gcs_hook().upload(
        bucket_name=hook.settings.bucket,
        object_name=hook.hour_folder(HOUR).part_key("upload", 0),
        data=BODY,
    )
    ok, message = WorkMagicHook().test_connection()
    assert ok and "not empty" in message
    assert "workmagic-upload@test-project.iam.gserviceaccount.com" in message


def test_test_connection_names_a_missing_bucket(gcs_env, airflow_connections):
    airflow_connections(cloud="gcs", bucket="no-such-inbound-bucket")
    ok, message = WorkMagicHook().test_connection()
    assert not ok
    assert "no-such-inbound-bucket" in message


def test_gcs_cloud_needs_no_s3_settings(gcs_env, airflow_connections):
    airflow_connections(cloud="gcs", role_arn=None, external_id_secret=None)
    hook = WorkMagicHook()
    assert hook.settings.role_arn is None
    assert hook.destination_cloud() == "gcs"
    ok, message = hook.test_connection()
    assert ok, message
