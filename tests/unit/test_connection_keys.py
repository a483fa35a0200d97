"""Which extra keys hold the External ID and the service account, and what Airflow shows.

Airflow hides an extra's value in its REST API and connection form when the key *name* looks
sensitive; these tests ask Airflow's own masker about our key names.
"""

from __future__ import annotations

import logging

import pytest

from workmagic_provider.get_provider_info import (
    CONN_FIELDS,
    DEPRECATED_KEYS,
    EXTERNAL_ID_KEY,
    SERVICE_ACCOUNT_KEY,
)
from workmagic_provider.hooks.settings import WorkMagicSettings

EXTERNAL_ID = "ext_id_account_121226_s3cr3t"
EMAIL = "uploader@my-project.iam.gserviceaccount.com"


def settings_of(extra):
    return WorkMagicSettings.from_fields("wm", {"account_id": "1", **extra})


def test_airflow_hides_the_external_id_key_and_shows_the_service_account_key():
    from airflow._shared.secrets_masker import should_hide_value_for_key

    assert should_hide_value_for_key(EXTERNAL_ID_KEY)
    assert not should_hide_value_for_key(SERVICE_ACCOUNT_KEY)
    # why the keys were renamed: Airflow showed the one and hid the other
    assert not should_hide_value_for_key("external_id")
    assert should_hide_value_for_key("service_account_email")


def test_every_secret_field_has_a_key_airflow_hides_and_no_other_field_does():
    from airflow._shared.secrets_masker import should_hide_value_for_key

    for key, spec in CONN_FIELDS.items():
        secret = spec["schema"].get("format") == "password"
        assert should_hide_value_for_key(key) == secret, key


@pytest.mark.parametrize(("old", "new"), sorted(DEPRECATED_KEYS.items()))
def test_deprecated_keys_still_work_and_the_warning_names_the_new_key(old, new, caplog):
    value = EXTERNAL_ID if new == EXTERNAL_ID_KEY else EMAIL
    with caplog.at_level(logging.WARNING):
        s = settings_of({old: value})
    assert (s.external_id if new == EXTERNAL_ID_KEY else s.service_account_email) == value
    warnings = [r.getMessage() for r in caplog.records if "deprecated" in r.getMessage()]
    assert len(warnings) == 1
    assert old in warnings[0] and new in warnings[0]
    assert value not in caplog.text


def test_the_legacy_prefixed_deprecated_key_works_too():
    s = settings_of({"extra__workmagic__external_id": EXTERNAL_ID})
    assert s.external_id == EXTERNAL_ID


def test_the_new_key_wins_over_the_deprecated_one(caplog):
    with caplog.at_level(logging.WARNING):
        s = settings_of({EXTERNAL_ID_KEY: EXTERNAL_ID, "external_id": "ext_id_old_value"})
    assert s.external_id == EXTERNAL_ID
    assert "using external_id_secret" in caplog.text
    assert EXTERNAL_ID not in caplog.text and "ext_id_old_value" not in caplog.text


def test_current_keys_log_no_warning(caplog):
    with caplog.at_level(logging.WARNING):
        settings_of({EXTERNAL_ID_KEY: EXTERNAL_ID, SERVICE_ACCOUNT_KEY: EMAIL})
    assert caplog.records == []


@pytest.mark.parametrize("off", ["none", "None", "off"])
def test_the_write_check_can_be_turned_off(off):
    assert settings_of({"test_object": off}).test_object is None
    assert settings_of({}).test_object == ".airflow-connection-test"
