"""WorkMagicHook / WorkMagicSettings: parsing, validation messages, secrets, destination hooks."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone

import pytest

from workmagic_provider.exceptions import MissingExtraError, WorkMagicConfigError
from workmagic_provider.hooks import s3_access
from workmagic_provider.hooks.workmagic import WorkMagicHook, WorkMagicSettings

EXTERNAL_ID = "ext_id_account_121226_s3cr3t"
ENRICH_KEY = "enrich-key-0123456789"
ORDERS_KEY = "orders-key-9876543210"
SECRETS = (EXTERNAL_ID, ENRICH_KEY, ORDERS_KEY)
ROLE_ARN = "arn:aws:iam::588759585297:role/AmazonS3FolderAccess121226"

FULL_EXTRA = {
    "account_id": "121226",
    "data_category": "order-geo-date-data",
    "cloud": "s3",
    "bucket": "workmagic-inbound-data",
    "region": "us-east-1",
    "role_arn": ROLE_ARN,
    "external_id_secret": EXTERNAL_ID,
    "aws_conn_id": "customer_aws",
    "gcp_conn_id": "customer_gcp",
    "gcs_account_email": "uploader@my-project.iam.gserviceaccount.com",
    "enrich_api_url": "https://api.workmagic.io/",
    "orders_api_key": ORDERS_KEY,
    "orders_api_url": "https://store-api.workmagic.io",
}


def set_conn(monkeypatch, conn_id="workmagic_default", *, password=ENRICH_KEY, **extra):
    body = {"conn_type": "workmagic", "extra": extra}
    if password is not None:
        body["password"] = password
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(body))


def settings_of(extra, password=ENRICH_KEY):
    return WorkMagicSettings.from_fields("workmagic_default", extra, password=password)


def assert_no_secret(text):
    for secret in SECRETS:
        assert secret not in text


# --------------------------------------------------------------------------- parsing
def test_settings_from_airflow_conn_env_var(monkeypatch):
    set_conn(monkeypatch, **FULL_EXTRA)
    hook = WorkMagicHook()
    s = hook.settings
    assert s.conn_id == "workmagic_default"
    assert s.account_id == "121226"
    assert s.data_category == "order-geo-date-data"
    assert s.cloud == "s3"
    assert s.role_arn == ROLE_ARN
    assert s.external_id == EXTERNAL_ID
    assert s.aws_conn_id == "customer_aws"
    assert s.gcp_conn_id == "customer_gcp"
    assert s.enrich_api_key == ENRICH_KEY
    assert s.enrich_api_url == "https://api.workmagic.io"  # trailing slash dropped
    assert s.orders_api_key == ORDERS_KEY
    assert hook.get_conn() is s
    with pytest.raises(AttributeError):
        s.account_id = "1"  # type: ignore[misc]


def test_defaults_from_a_minimal_connection(monkeypatch):
    set_conn(monkeypatch, "wm_min", password=None, account_id=121226)
    s = WorkMagicHook(workmagic_conn_id="wm_min").settings
    assert (s.account_id, s.data_category, s.cloud) == ("121226", None, None)
    assert s.bucket == "workmagic-inbound-data"
    assert s.region == "us-east-1"
    assert s.aws_conn_id == "aws_default"
    assert s.gcp_conn_id == "google_cloud_default"
    assert s.enrich_api_url == "https://api.workmagic.io"
    assert s.orders_api_url == "https://store-api.workmagic.io"
    assert (s.role_arn, s.external_id, s.enrich_api_key, s.orders_api_key) == (None,) * 4


def test_legacy_prefixed_extras_are_accepted_and_plain_keys_win():
    s = settings_of(
        {
            "extra__workmagic__account_id": "42",
            "extra__workmagic__data_category": "legacy-cat",
            "data_category": "plain-cat",
            "extra__workmagic__external_id_secret": EXTERNAL_ID,
        }
    )
    assert (s.account_id, s.data_category, s.external_id) == ("42", "plain-cat", EXTERNAL_ID)


def test_empty_strings_count_as_unset():
    s = settings_of({"account_id": "1", "bucket": "", "role_arn": "  ", "cloud": None})
    assert s.bucket == "workmagic-inbound-data"
    assert s.role_arn is None and s.cloud is None


def test_cloud_is_case_insensitive():
    assert settings_of({"account_id": "1", "cloud": " GCS "}).cloud == "gcs"


BAD_VALUES = [
    ("account_id", "abc"),
    ("account_id", "12 34"),
    ("data_category", "orders/2026"),
    ("data_category", ".."),
    ("cloud", "azure"),
    ("bucket", "s3://workmagic-inbound-data"),
    ("region", "mars"),
    ("role_arn", "arn:aws:iam::588759585297:user/someone"),
    ("role_arn", "AmazonS3FolderAccess121226"),
    ("external_id_secret", "x"),
    ("external_id_secret", "has spaces in it"),
    ("aws_conn_id", "not a conn id!"),
    ("gcp_conn_id", "a/b"),
    ("gcs_account_email", "someone@gmail.com"),
    ("gcs_account_email", "not-an-email"),
    ("test_object", "a/b"),
    ("test_object", ".."),
    ("enrich_api_url", "ftp://api.workmagic.io"),
    ("orders_api_url", "store-api.workmagic.io"),
    ("account_id", ["121226"]),
]


@pytest.mark.parametrize(("field", "value"), BAD_VALUES)
def test_every_validation_error_names_its_field_and_no_secret(field, value):
    extra = {**FULL_EXTRA, field: value}
    with pytest.raises(WorkMagicConfigError) as info:
        settings_of(extra)
    message = str(info.value)
    assert f"field {field}" in message
    assert "workmagic_default" in message
    assert_no_secret(message)
    if field == "external_id_secret":
        assert repr(value) not in message


def test_missing_account_id_is_named():
    with pytest.raises(WorkMagicConfigError, match="field account_id: is required"):
        settings_of({"data_category": "x"})


def test_role_arn_error_shows_the_expected_shape():
    with pytest.raises(WorkMagicConfigError) as info:
        settings_of({**FULL_EXTRA, "role_arn": "arn:aws:iam::123:role/x"})
    assert (
        "role_arn must look like arn:aws:iam::588759585297:role/AmazonS3FolderAccess121226, "
        "got 'arn:aws:iam::123:role/x'" in str(info.value)
    )


def test_a_secret_pasted_into_another_field_is_not_echoed():
    with pytest.raises(WorkMagicConfigError) as info:
        settings_of({**FULL_EXTRA, "role_arn": EXTERNAL_ID})
    assert "field role_arn" in str(info.value)
    assert_no_secret(str(info.value))


def test_malformed_extra_is_not_echoed(monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_WM_BROKEN",
        json.dumps({"conn_type": "workmagic", "extra": '{"external_id_secret": "' + EXTERNAL_ID}),
    )
    with pytest.raises(WorkMagicConfigError) as info:
        _ = WorkMagicHook("wm_broken").settings
    assert "extra must be a JSON object" in str(info.value)
    assert_no_secret(str(info.value))


def test_repr_and_describe_never_show_secrets():
    s = settings_of(FULL_EXTRA)
    for text in (repr(s), str(s), json.dumps(s.describe())):
        assert_no_secret(text)
        assert ROLE_ARN in text
    described = s.describe()
    assert described["external_id"] == described["enrich_api_key"] == "***"
    assert settings_of({"account_id": "1"}, password=None).describe()["external_id"] is None
    assert set(s.secrets) == set(SECRETS)


def test_secrets_are_registered_with_the_masker():
    from airflow.sdk._shared.secrets_masker.secrets_masker import redact

    settings_of(FULL_EXTRA)
    for secret in SECRETS:
        masked = redact(f"value {secret} here")
        assert secret not in masked and "***" in masked


def test_unknown_extra_keys_are_reported_by_name(caplog):
    settings_of({"account_id": "1", "acount_id": "2"})
    assert "acount_id" in caplog.text


# --------------------------------------------------------------------------- helpers
def test_hour_folder_uses_the_connection_category_or_an_override(monkeypatch):
    set_conn(monkeypatch, **FULL_EXTRA)
    hook = WorkMagicHook()
    start = datetime(2026, 3, 8, 2, 0, tzinfo=timezone.utc)
    assert hook.hour_folder(start).prefix == "account-121226/order-geo-date-data/2026/03/08/02/"
    assert hook.hour_folder(start, data_category="orders").prefix.startswith(
        "account-121226/orders/2026/03/08/02/"
    )


def test_hour_folder_without_category_names_the_field(monkeypatch):
    set_conn(monkeypatch, account_id="121226")
    with pytest.raises(WorkMagicConfigError, match="field data_category"):
        WorkMagicHook().hour_folder(datetime(2026, 3, 8, 2, tzinfo=timezone.utc))


def test_destination_cloud(monkeypatch):
    set_conn(monkeypatch, **FULL_EXTRA)
    hook = WorkMagicHook()
    assert hook.destination_cloud() == "s3"
    assert hook.destination_cloud("gcs") == "gcs"
    with pytest.raises(WorkMagicConfigError, match="'s3' or 'gcs'"):
        hook.destination_cloud("azure")


def test_destination_cloud_inferred_when_not_set(monkeypatch):
    set_conn(monkeypatch, "wm_a", account_id="1", role_arn=ROLE_ARN, external_id_secret=EXTERNAL_ID)
    assert WorkMagicHook("wm_a").destination_cloud() == "s3"
    set_conn(monkeypatch, "wm_b", account_id="1", gcs_account_email="a@b.iam.gserviceaccount.com")
    assert WorkMagicHook("wm_b").destination_cloud() == "gcs"
    set_conn(monkeypatch, "wm_c", account_id="1")
    with pytest.raises(WorkMagicConfigError, match="field cloud"):
        WorkMagicHook("wm_c").destination_cloud()


def test_s3_destination_without_role_settings_fails_clearly(monkeypatch):
    set_conn(monkeypatch, account_id="121226", cloud="s3")
    hook = WorkMagicHook()
    expected = (
        "S3 destination needs role_arn and external_id_secret on connection 'workmagic_default'"
    )
    with pytest.raises(WorkMagicConfigError, match=expected):
        hook.destination_cloud()
    with pytest.raises(WorkMagicConfigError, match=expected):
        hook.get_s3_hook()
    set_conn(monkeypatch, "wm_half", account_id="121226", role_arn=ROLE_ARN)
    with pytest.raises(WorkMagicConfigError, match="S3 destination needs external_id_secret on"):
        WorkMagicHook("wm_half").destination_cloud("s3")
    ok, message = hook.test_connection()
    assert not ok and "needs role_arn and external_id_secret" in message


def test_test_connection_reports_validation_errors_without_secrets(monkeypatch):
    set_conn(monkeypatch, **{**FULL_EXTRA, "role_arn": "nope"})
    ok, message = WorkMagicHook().test_connection()
    assert not ok
    assert "field role_arn" in message
    assert_no_secret(message)


def test_ui_field_behaviour_classmethod():
    behaviour = WorkMagicHook.get_ui_field_behaviour()
    assert set(behaviour["hidden_fields"]) == {"host", "schema", "port", "login"}
    assert behaviour["relabeling"] == {"password": "Enrich API key"}


# --------------------------------------------------------------------------- S3 hook wiring
def _base_aws(monkeypatch, conn_id="customer_aws", **extra):
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{conn_id.upper()}",
        json.dumps(
            {
                "conn_type": "aws",
                "login": "AKIABASEUSER0000",
                "password": "base-secret",
                "extra": {
                    "endpoint_url": "http://127.0.0.1:1",
                    "service_config": {"sts": {"endpoint_url": "http://127.0.0.1:2"}},
                    "region_name": "eu-west-1",
                    **extra,
                },
            }
        ),
    )


def test_s3_hook_assumes_the_workmagic_role_with_the_provider_machinery(monkeypatch):
    import airflow.providers.amazon  # noqa: F401  (dev dependency; fail loudly if missing)
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    _base_aws(monkeypatch)
    set_conn(monkeypatch, **FULL_EXTRA)
    s3 = WorkMagicHook().get_s3_hook()
    assert isinstance(s3, S3Hook)
    cfg = s3.conn_config
    assert cfg.role_arn == ROLE_ARN
    assert cfg.assume_role_method == "assume_role"
    assert cfg.assume_role_kwargs == {
        "ExternalId": EXTERNAL_ID,
        "RoleSessionName": "airflow-workmagic-121226",
    }
    assert cfg.region_name == "us-east-1"  # WorkMagic's bucket region, not the base connection's
    assert cfg.endpoint_url == "http://127.0.0.1:1"
    assert cfg.get_service_endpoint_url("sts", sts_connection_assume=True) == "http://127.0.0.1:2"
    assert cfg.aws_access_key_id == "AKIABASEUSER0000"
    assert cfg.aws_secret_access_key == "base-secret"
    assert cfg.conn_id == "customer_aws"


def test_s3_hook_arguments_win_over_the_connection(monkeypatch):
    import airflow.providers.amazon  # noqa: F401  (dev dependency; fail loudly if missing)

    _base_aws(monkeypatch)
    set_conn(monkeypatch, **FULL_EXTRA)
    s3 = WorkMagicHook().get_s3_hook(verify=False, config={"retries": {"max_attempts": 7}})
    assert s3.conn_config.verify is False
    assert s3.config.retries == {"max_attempts": 7}
    assert s3.conn_config.role_arn == ROLE_ARN


def test_s3_hook_refuses_a_base_connection_that_assumes_its_own_role(monkeypatch):
    import airflow.providers.amazon  # noqa: F401  (dev dependency; fail loudly if missing)

    _base_aws(monkeypatch, role_arn="arn:aws:iam::111122223333:role/Mine")
    set_conn(monkeypatch, **FULL_EXTRA)
    with pytest.raises(WorkMagicConfigError, match="IAM user ARN you registered"):
        _ = WorkMagicHook().get_s3_hook().conn_config


def test_missing_amazon_provider_names_the_extra(monkeypatch):
    set_conn(monkeypatch, **FULL_EXTRA)
    s3_access.workmagic_s3_hook_class.cache_clear()
    monkeypatch.setitem(sys.modules, "airflow.providers.amazon.aws.hooks.s3", None)
    try:
        with pytest.raises(MissingExtraError, match=r"airflow-provider-workmagic\[amazon\]"):
            WorkMagicHook().get_s3_hook()
    finally:
        s3_access.workmagic_s3_hook_class.cache_clear()


def test_missing_google_provider_names_the_extra(monkeypatch):
    set_conn(monkeypatch, **FULL_EXTRA)
    monkeypatch.setitem(sys.modules, "airflow.providers.google.cloud.hooks.gcs", None)
    with pytest.raises(MissingExtraError, match=r"airflow-provider-workmagic\[google\]"):
        WorkMagicHook().get_gcs_hook()


def test_gcs_hook_uses_the_customer_connection(monkeypatch):
    import airflow.providers.google  # noqa: F401  (dev dependency; fail loudly if missing)
    from airflow.providers.google.cloud.hooks.gcs import GCSHook

    set_conn(monkeypatch, **FULL_EXTRA)
    monkeypatch.setenv(
        "AIRFLOW_CONN_CUSTOMER_GCP",
        json.dumps({"conn_type": "google_cloud_platform", "extra": {"is_anonymous": True}}),
    )
    gcs = WorkMagicHook().get_gcs_hook()
    assert isinstance(gcs, GCSHook)
    assert gcs.gcp_conn_id == "customer_gcp"


def test_importing_the_hook_module_stays_light():
    code = (
        "import sys, workmagic_provider.hooks.workmagic\n"
        "heavy = [m for m in ('boto3', 'botocore', 'google.cloud.storage', 'moto',"
        " 'airflow.providers.amazon.aws.hooks.s3') if m in sys.modules]\n"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
