"""What Airflow's REST API (and so the connection edit form, which reads it) shows of a connection.

The External ID must come back as ``***`` and the registered service account readable; saving
the form back (PATCH with the ``***`` it was shown) must keep the stored External ID.
"""

from __future__ import annotations

import json

import pytest

pytestmark = [pytest.mark.integration]

CONN_ID = "workmagic_redaction_check"
#: External IDs no hook has parsed in this process: our hook registers every External ID it
#: reads with the masker, which would then hide the value whatever its key (a false pass).
STORED_EXTERNAL_ID = "ext_id_only_stored_7431"
DEPRECATED_EXTERNAL_ID = "ext_id_deprecated_key_2718"


@pytest.fixture(scope="module")
def api_client(airflow_db):
    """Airflow's API server app (simple auth manager, every user admin) over HTTP."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "True")
        patch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", "wm-test-jwt-secret-" + "1" * 64)
        from airflow.api_fastapi.app import create_app
        from fastapi.testclient import TestClient

        yield TestClient(create_app())


@pytest.fixture
def stored(api_client, sandbox):
    """The sandbox's WorkMagic connection, created in the metadata DB through the REST API."""
    conn = sandbox.connection_dicts(external_id_secret=STORED_EXTERNAL_ID)["workmagic_default"]
    api_client.delete(f"/api/v2/connections/{CONN_ID}")
    body = {
        "connection_id": CONN_ID,
        "conn_type": "workmagic",
        "password": conn["password"],
        "extra": json.dumps(conn["extra"]),
    }
    response = api_client.post("/api/v2/connections", json=body)
    assert response.status_code == 201, response.text
    yield conn
    api_client.delete(f"/api/v2/connections/{CONN_ID}")


def _shown(api_client) -> dict:
    response = api_client.get(f"/api/v2/connections/{CONN_ID}")
    assert response.status_code == 200, response.text
    return response.json()


def test_the_rest_api_hides_the_external_id_and_shows_the_service_account(
    api_client, sandbox, stored
):
    shown = _shown(api_client)
    extra = json.loads(shown["extra"])
    assert extra["external_id_secret"] == "***"
    assert extra["orders_api_key"] == "***"
    assert shown["password"] == "***"
    assert extra["gcs_account_email"] == stored["extra"]["gcs_account_email"]
    assert extra["role_arn"] == sandbox.role_arn
    text = json.dumps(shown)
    for secret in (STORED_EXTERNAL_ID, stored["password"], stored["extra"]["orders_api_key"]):
        assert secret not in text


def test_saving_the_form_back_keeps_the_stored_external_id(api_client, sandbox, stored):
    shown = _shown(api_client)
    shown["description"] = "edited in the form"
    response = api_client.patch(f"/api/v2/connections/{CONN_ID}", json=shown)
    assert response.status_code == 200, response.text

    from airflow.models.connection import Connection

    saved = Connection.get_connection_from_secrets(CONN_ID)
    assert saved.extra_dejson["external_id_secret"] == STORED_EXTERNAL_ID
    assert saved.password == stored["password"]
    assert saved.description == "edited in the form"


def test_a_connection_with_the_deprecated_key_is_shown_in_clear(api_client, sandbox, stored):
    """Why the key was renamed: Airflow shows ``external_id`` as it is (users must rename it)."""
    extra = {**stored["extra"], "external_id": DEPRECATED_EXTERNAL_ID}
    del extra["external_id_secret"]
    response = api_client.patch(
        f"/api/v2/connections/{CONN_ID}",
        json={"connection_id": CONN_ID, "conn_type": "workmagic", "extra": json.dumps(extra)},
        params={"update_mask": "extra"},
    )
    assert response.status_code == 200, response.text
    assert json.loads(_shown(api_client)["extra"])["external_id"] == DEPRECATED_EXTERNAL_ID


@pytest.fixture
def stored_issued(api_client, clean_sandbox, airflow_connections):
    """The sandbox's connection with the External ID the sandbox issued, stored in the DB."""
    conn = clean_sandbox.connection_dicts()["workmagic_default"]
    api_client.delete(f"/api/v2/connections/{CONN_ID}")
    body = {
        "connection_id": CONN_ID,
        "conn_type": "workmagic",
        "password": conn["password"],
        "extra": json.dumps(conn["extra"]),
    }
    assert api_client.post("/api/v2/connections", json=body).status_code == 201
    yield conn
    api_client.delete(f"/api/v2/connections/{CONN_ID}")


@pytest.mark.filterwarnings("ignore:ProvidersManager.hooks is deprecated")
def test_the_test_button_of_a_saved_connection_works_with_the_hidden_external_id(
    api_client, clean_sandbox, stored_issued
):
    """The edit form sends back the ``***`` it shows; Airflow restores the stored value."""
    shown = _shown(api_client)
    assert json.loads(shown["extra"])["external_id_secret"] == "***"
    body = {k: shown[k] for k in ("connection_id", "conn_type", "password", "extra")}
    response = api_client.post("/api/v2/connections/test", json=body)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["status"] is True, result
    assert clean_sandbox.external_id not in result["message"]
