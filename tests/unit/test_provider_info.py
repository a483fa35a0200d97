"""The provider registers with Airflow: package, ``workmagic`` connection type, form fields."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from workmagic_provider import __version__
from workmagic_provider.get_provider_info import get_provider_info

FIELDS = {
    "account_id": None,
    "data_category": None,
    "cloud": "s3",
    "bucket": "workmagic-inbound-data",
    "region": "us-east-1",
    "role_arn": None,
    "external_id_secret": None,
    "aws_conn_id": "aws_default",
    "gcp_conn_id": "google_cloud_default",
    "gcs_account_email": None,
    "enrich_api_url": "https://api.workmagic.io",
    "orders_api_key": None,
    "orders_api_url": "https://store-api.workmagic.io",
    "test_object": ".airflow-connection-test",
}
SECRET_FIELDS = {"external_id_secret", "orders_api_key"}
AIRFLOW = str(Path(sys.executable).with_name("airflow"))


def _conn_type() -> dict:
    (conn_type,) = get_provider_info()["connection-types"]
    return conn_type


def test_provider_info_validates_against_airflow_schema():
    import jsonschema
    from airflow.providers_manager import _create_provider_info_schema_validator

    info = get_provider_info()
    _create_provider_info_schema_validator().validate(info)
    assert info["package-name"] == "airflow-provider-workmagic"
    assert info["versions"] == [__version__]
    assert "workmagic_provider.hooks.workmagic" in info["hooks"][0]["python-modules"]
    # every module the provider info names can be imported (Airflow imports them for listings)
    import importlib

    for section in ("hooks", "operators"):
        for entry in info[section]:
            for module in entry["python-modules"]:
                importlib.import_module(module)
    with pytest.raises(jsonschema.ValidationError):
        _create_provider_info_schema_validator().validate({"name": "x"})


def test_connection_type_declares_every_field_with_label_and_description():
    conn_type = _conn_type()
    assert conn_type["hook-class-name"] == "workmagic_provider.hooks.workmagic.WorkMagicHook"
    assert conn_type["connection-type"] == "workmagic"
    assert conn_type["hook-name"] == "WorkMagic"
    fields = conn_type["conn-fields"]
    assert list(fields) == list(FIELDS)
    for name, default in FIELDS.items():
        field = fields[name]
        assert field["label"] and field["description"], name
        assert field["schema"].get("default") == default, name
        assert (field["schema"].get("format") == "password") == (name in SECRET_FIELDS), name
    assert fields["cloud"]["schema"]["enum"] == ["s3", "gcs", None]
    behaviour = conn_type["ui-field-behaviour"]
    assert set(behaviour["hidden-fields"]) == {"host", "schema", "port", "login"}
    assert behaviour["relabeling"] == {"password": "Enrich API key"}
    assert set(behaviour["placeholders"]) - {"password"} <= set(FIELDS)


def test_provider_info_is_a_fresh_copy_each_call():
    first = get_provider_info()
    first["connection-types"][0]["conn-fields"]["cloud"]["schema"]["default"] = "gcs"
    assert (
        get_provider_info()["connection-types"][0]["conn-fields"]["cloud"]["schema"]["default"]
        == "s3"
    )


def test_providers_manager_registers_hook_widgets_and_behaviour(caplog):
    from airflow.providers_manager import ProvidersManager
    from airflow.sdk import Connection
    from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

    from workmagic_provider.hooks.workmagic import WorkMagicHook

    caplog.set_level(logging.WARNING)
    runtime = ProvidersManagerTaskRuntime()
    assert "airflow-provider-workmagic" in runtime.providers
    hook = runtime.hooks["workmagic"]
    assert hook is not None
    assert hook.hook_class_name == "workmagic_provider.hooks.workmagic.WorkMagicHook"
    assert hook.connection_id_attribute_name == "workmagic_conn_id"
    assert hook.hook_name == "WorkMagic"
    made = Connection(conn_id="wm_made", conn_type="workmagic").get_hook()
    assert isinstance(made, WorkMagicHook) and made.workmagic_conn_id == "wm_made"

    manager = ProvidersManager()
    assert "airflow-provider-workmagic" in manager.providers
    widgets = manager.connection_form_widgets
    for name in FIELDS:
        widget = widgets[f"extra__workmagic__{name}"]
        assert widget.field_name == name
        assert widget.is_sensitive == (name in SECRET_FIELDS), name
    behaviour = manager.field_behaviours["workmagic"]
    assert behaviour["relabeling"] == {"password": "Enrich API key"}
    assert "extra__workmagic__role_arn" in behaviour["placeholders"]
    assert not [r for r in caplog.records if "workmagic" in r.getMessage().lower()]


def test_ui_connection_form_metadata():
    """What the Airflow 3 UI's connection form is built from (``/ui/connections/hook_meta``)."""
    from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService

    (meta,) = [m for m in HookMetaService.hook_meta_data() if m.connection_type == "workmagic"]
    assert meta.hook_name == "WorkMagic"
    standard = meta.standard_fields
    assert standard.host.hidden and standard.login.hidden and standard.port.hidden
    assert standard.url_schema.hidden
    assert standard.password.title == "Enrich API key"
    extra = meta.extra_fields
    assert set(extra) == set(FIELDS)
    assert extra["external_id_secret"]["schema"]["format"] == "password"
    assert extra["bucket"]["value"] == "workmagic-inbound-data"
    assert extra["role_arn"]["schema"]["title"] == "WorkMagic IAM role ARN (S3)"


def test_airflow_cli_lists_the_provider_and_its_hook(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AIRFLOW__DATABASE__")  # the CLI gets its own throwaway home
    }
    env["AIRFLOW_HOME"] = str(tmp_path)
    commands = {
        "list": [AIRFLOW, "providers", "list", "-o", "json"],
        "hooks": [AIRFLOW, "providers", "hooks", "-o", "json"],
    }
    procs = {
        name: subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for name, cmd in commands.items()
    }
    out = {}
    for name, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, stderr.decode()
        err = stderr.decode()
        assert "workmagic" not in err.lower(), err
        assert "Traceback" not in err, err
        out[name] = json.loads(stdout)

    (provider,) = [p for p in out["list"] if p["package_name"] == "airflow-provider-workmagic"]
    assert provider["version"] == __version__
    (hook,) = [h for h in out["hooks"] if h["connection_type"] == "workmagic"]
    assert hook == {
        "connection_type": "workmagic",
        "class": "workmagic_provider.hooks.workmagic.WorkMagicHook",
        "conn_id_attribute_name": "workmagic_conn_id",
        "package_name": "airflow-provider-workmagic",
        "hook_name": "WorkMagic",
    }
