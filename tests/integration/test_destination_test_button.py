"""The UI's Test button: Airflow 3.3's REST route runs WorkMagicHook.test_connection()."""

from __future__ import annotations

import json

import pytest

pytestmark = [
    pytest.mark.integration,
    # Airflow's own ORM Connection.get_hook still calls ProvidersManager.hooks.
    pytest.mark.filterwarnings("ignore:ProvidersManager.hooks is deprecated"),
]


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


def _body(sandbox, **extra):
    conn = sandbox.connection_dicts(**extra)["workmagic_default"]
    return {
        "connection_id": "workmagic_ui_form",
        "conn_type": "workmagic",
        "password": conn["password"],
        "extra": json.dumps(conn["extra"]),
    }


def test_test_button_passes_for_the_issued_role(clean_sandbox, api_client):
    response = api_client.post("/api/v2/connections/test", json=_body(clean_sandbox))
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["status"] is True, result
    assert clean_sandbox.role_arn in result["message"]


def test_test_button_explains_a_wrong_external_id(clean_sandbox, api_client):
    wrong = "ext_id_from_another_account"
    response = api_client.post(
        "/api/v2/connections/test", json=_body(clean_sandbox, external_id=wrong)
    )
    result = response.json()
    assert result["status"] is False
    assert "check role assumption + External ID" in result["message"]
    assert wrong not in result["message"]
    assert clean_sandbox.external_id not in result["message"]


def test_test_button_for_gcs(clean_sandbox, api_client):
    response = api_client.post("/api/v2/connections/test", json=_body(clean_sandbox, cloud="gcs"))
    result = response.json()
    assert result["status"] is True, result
    assert "gs://workmagic-inbound-data/account-121226/" in result["message"]


def test_connection_form_metadata_over_http(api_client):
    response = api_client.get("/ui/connections/hook_meta")
    assert response.status_code == 200
    (meta,) = [m for m in response.json() if m["connection_type"] == "workmagic"]
    assert meta["standard_fields"]["password"]["title"] == "Enrich API key"
    assert meta["extra_fields"]["cloud"]["schema"]["enum"] == ["s3", "gcs", None]
    assert meta["extra_fields"]["external_id"]["schema"]["format"] == "password"
