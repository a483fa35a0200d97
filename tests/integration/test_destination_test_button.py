"""The UI's Test button: Airflow 3.3's REST route runs WorkMagicHook.test_connection().

Each check is run against the sandbox (moto S3/STS behind WorkMagic's gate, the GCS emulator)
through the real hooks, and each is made to fail once: a wrong External ID (AssumeRole), a
proxy in front of the gate that refuses one S3 action (list, put or delete), a registered
service account that is not the connection's identity.
"""

from __future__ import annotations

import json
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pytest

pytestmark = [
    pytest.mark.integration,
    # Airflow's own ORM Connection.get_hook still calls ProvidersManager.hooks.
    pytest.mark.filterwarnings("ignore:ProvidersManager.hooks is deprecated"),
]

MARKER = "account-121226/.airflow-connection-test"


@pytest.fixture(scope="module")
def api_app(airflow_db):
    """Airflow's API server app (simple auth manager, every user admin), once per module."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "True")
        patch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", "wm-test-jwt-secret-" + "0" * 64)
        from airflow.api_fastapi.app import create_app

        yield create_app()


@pytest.fixture
def api_client(api_app, airflow_connections):
    from fastapi.testclient import TestClient

    return TestClient(api_app)


@pytest.fixture
def iam_user(clean_sandbox, monkeypatch) -> dict[str, str]:
    """A real IAM user in moto whose keys the customer's AWS connection holds."""
    iam = clean_sandbox.aws.admin_client("iam")
    arn = iam.create_user(UserName="airflow-uploader")["User"]["Arn"]
    key = iam.create_access_key(UserName="airflow-uploader")["AccessKey"]
    user = {"arn": arn, "key_id": key["AccessKeyId"], "secret": key["SecretAccessKey"]}
    _set_aws_connection(monkeypatch, clean_sandbox, clean_sandbox.s3_endpoint, user)
    return user


def _secrets(sandbox) -> list[str]:
    """Every secret of the sandbox's connections (keys, External ID, API keys)."""
    conns = sandbox.connection_dicts()
    workmagic = conns["workmagic_default"]
    aws = conns[workmagic["extra"]["aws_conn_id"]]
    return [
        sandbox.external_id,
        workmagic["password"],
        workmagic["extra"]["orders_api_key"],
        aws["password"],
    ]


def _conn_id(sandbox, field: str) -> str:
    return sandbox.connection_dicts()["workmagic_default"]["extra"][field]


def _set_aws_connection(monkeypatch, sandbox, endpoint: str, user: dict[str, str]) -> None:
    conn = {
        "conn_type": "aws",
        "login": user["key_id"],
        "password": user["secret"],
        "extra": {
            "region_name": "us-east-1",
            "endpoint_url": endpoint,
            "service_config": {"sts": {"endpoint_url": endpoint}},
        },
    }
    conn_id = _conn_id(sandbox, "aws_conn_id")
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))


def _body(sandbox, **extra):
    conn = sandbox.connection_dicts(**extra)["workmagic_default"]
    return {
        "connection_id": "workmagic_ui_form",
        "conn_type": "workmagic",
        "password": conn["password"],
        "extra": json.dumps(conn["extra"]),
    }


def _test(api_client, body) -> dict[str, Any]:
    response = api_client.post("/api/v2/connections/test", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def _assert_no_secret(message: str, sandbox, *more: str) -> None:
    for secret in (*_secrets(sandbox), *more):
        assert secret not in message


# --------------------------------------------------------------------------- S3
def test_test_button_shows_the_iam_user_and_checks_list_put_delete(
    clean_sandbox, api_client, iam_user
):
    result = _test(api_client, _body(clean_sandbox))
    assert result["status"] is True, result
    message = result["message"]
    assert (
        "Register this IAM user ARN with WorkMagic (Upload order data > Amazon S3): "
        f"{iam_user['arn']}." in message
    )
    assert clean_sandbox.role_arn in message
    assert f"Wrote and deleted s3://workmagic-inbound-data/{MARKER}." in message
    _assert_no_secret(message, clean_sandbox, iam_user["secret"])
    # the marker went through WorkMagic's gate as the assumed role, and is gone again
    actions = [(w.method, w.key) for w in clean_sandbox.writes]
    assert ("PUT", MARKER) in actions and ("DELETE", MARKER) in actions
    assert clean_sandbox.aws.list_keys("account-121226/") == []


def test_the_write_check_can_be_turned_off(clean_sandbox, api_client, iam_user):
    result = _test(api_client, _body(clean_sandbox, test_object="none"))
    assert result["status"] is True, result
    assert "Wrote and deleted" not in result["message"]
    assert clean_sandbox.writes == []


def test_test_button_explains_a_wrong_external_id(clean_sandbox, api_client, iam_user):
    wrong = "ext_id_from_another_account"
    result = _test(api_client, _body(clean_sandbox, external_id_secret=wrong))
    assert result["status"] is False
    message = result["message"]
    assert "check role assumption + External ID" in message
    assert iam_user["arn"] in message  # what to compare with WorkMagic's registered ARN
    _assert_no_secret(message, clean_sandbox, wrong, iam_user["secret"])


class _Refuse:
    """WSGI proxy in front of the sandbox's gate: refuses one S3 action on the inbound bucket."""

    def __init__(self, app: Any, bucket: str, action: str) -> None:
        self.app, self.bucket, self.action = app, bucket, action

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "")
        on_bucket = path.strip("/") == self.bucket
        on_object = path.startswith(f"/{self.bucket}/") and len(path) > len(self.bucket) + 2
        refused = {
            "list": method == "GET" and on_bucket,
            "put": method == "PUT" and on_object,
            "delete": method == "DELETE" and on_object,
        }[self.action]
        if not refused:
            return self.app(environ, start_response)
        root = ET.Element("Error")
        ET.SubElement(root, "Code").text = "AccessDenied"
        ET.SubElement(root, "Message").text = "Access Denied"
        body = ET.tostring(root)
        start_response(
            "403 Forbidden",
            [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))],
        )
        return [body]


@pytest.fixture
def refusing_endpoint(clean_sandbox, request) -> Iterator[str]:
    from werkzeug.serving import make_server

    server = make_server(
        "127.0.0.1",
        0,
        _Refuse(clean_sandbox.aws.gate, clean_sandbox.bucket, request.param),
        threaded=True,
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("refusing_endpoint", "expected"),
    [
        ("list", "Listing s3://workmagic-inbound-data/account-121226/ was denied"),
        ("put", f"Writing s3://workmagic-inbound-data/{MARKER} was denied"),
        ("delete", f"Deleting s3://workmagic-inbound-data/{MARKER} was denied"),
    ],
    indirect=["refusing_endpoint"],
)
def test_each_s3_right_is_checked(
    clean_sandbox, api_client, iam_user, monkeypatch, refusing_endpoint, expected
):
    _set_aws_connection(monkeypatch, clean_sandbox, refusing_endpoint, iam_user)
    result = _test(api_client, _body(clean_sandbox))
    assert result["status"] is False, result
    message = result["message"]
    assert message.startswith(f"FAILED: {expected}")
    assert iam_user["arn"] in message
    _assert_no_secret(message, clean_sandbox, iam_user["secret"])


# --------------------------------------------------------------------------- GCS
def test_test_button_for_gcs(clean_sandbox, api_client):
    result = _test(api_client, _body(clean_sandbox, cloud="gcs"))
    assert result["status"] is True, result
    message = result["message"]
    assert "Listed gs://workmagic-inbound-data/account-121226/: empty so far." in message
    assert f"Wrote and deleted gs://workmagic-inbound-data/{MARKER}." in message
    # anonymous emulator credentials carry no e-mail: said, not guessed
    assert "Could not tell which service account gcp_conn_id 'wm_sandbox_gcp' is" in message
    assert clean_sandbox.gcs.list_names("account-121226/") == []
    _assert_no_secret(message, clean_sandbox)


def _service_account_key(email: str, token_uri: str) -> dict[str, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return {
        "type": "service_account",
        "project_id": "test-project",
        "private_key_id": "0123456789abcdef",
        "private_key": pem,
        "client_email": email,
        "client_id": "100000000000000000001",
        "token_uri": token_uri,
    }


@pytest.fixture
def keyed_gcp_connection(clean_sandbox, monkeypatch, httpserver):
    """gcp_conn_id with a service-account key whose token endpoint is a loopback stand-in."""
    httpserver.expect_request("/token", method="POST").respond_with_json(
        {"access_token": "loopback-access-token", "expires_in": 3600, "token_type": "Bearer"}
    )
    email = "airflow-writer@test-project.iam.gserviceaccount.com"
    keyfile = _service_account_key(email, httpserver.url_for("/token"))
    conn = {
        "conn_type": "google_cloud_platform",
        "extra": {"keyfile_dict": json.dumps(keyfile), "project": "test-project"},
    }
    conn_id = _conn_id(clean_sandbox, "gcp_conn_id")
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
    return email, keyfile["private_key"]


def test_gcs_registered_service_account_matches_the_identity(
    clean_sandbox, api_client, keyed_gcp_connection
):
    email, _ = keyed_gcp_connection
    result = _test(api_client, _body(clean_sandbox, cloud="gcs", gcs_account_email=email))
    assert result["status"] is True, result
    assert f"Storage): {email}. It matches field gcs_account_email." in result["message"]
    assert f"Wrote and deleted gs://workmagic-inbound-data/{MARKER}." in result["message"]


def test_gcs_registered_service_account_mismatch_names_both(
    clean_sandbox, api_client, keyed_gcp_connection
):
    email, private_key = keyed_gcp_connection
    registered = "workmagic-upload@test-project.iam.gserviceaccount.com"
    result = _test(api_client, _body(clean_sandbox, cloud="gcs", gcs_account_email=registered))
    assert result["status"] is False, result
    message = result["message"]
    assert (
        f"authenticates as {email}, but field gcs_account_email registers {registered}" in message
    )
    assert "BEGIN PRIVATE KEY" not in message and "loopback-access-token" not in message
    assert private_key.splitlines()[1] not in message
    _assert_no_secret(message, clean_sandbox)


# --------------------------------------------------------------------------- form metadata
def test_connection_form_metadata_over_http(api_client):
    response = api_client.get("/ui/connections/hook_meta")
    assert response.status_code == 200
    (meta,) = [m for m in response.json() if m["connection_type"] == "workmagic"]
    assert meta["standard_fields"]["password"]["title"] == "Enrich API key"
    assert meta["extra_fields"]["cloud"]["schema"]["enum"] == ["s3", "gcs", None]
    assert meta["extra_fields"]["external_id_secret"]["schema"]["format"] == "password"
