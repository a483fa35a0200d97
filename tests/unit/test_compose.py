"""docker-compose.yaml: valid against the Compose specification, every service health-checked.

The schema is the one Debian's docker-compose 1.29 ships (``tests/data/compose_spec.json``),
so the file also stays within what that older tool accepts (no top-level ``name:``, no
``healthcheck.start_interval``); no Docker engine is needed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft201909Validator

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yaml"
ONE_SHOT = {"airflow-init"}
AIRFLOW_SERVICES = {
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-worker",
    "airflow-triggerer",
    "airflow-init",
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def test_file_is_valid_against_the_compose_spec(compose: dict[str, Any]) -> None:
    schema = json.loads((ROOT / "tests" / "data" / "compose_spec.json").read_text())
    errors = sorted(Draft201909Validator(schema).iter_errors(compose), key=str)
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_every_long_running_service_has_a_health_check(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert AIRFLOW_SERVICES | {"postgres", "redis", "workmagic-sandbox"} <= set(services)
    for name, service in services.items():
        if name in ONE_SHOT:
            continue
        check = service.get("healthcheck")
        assert check and check.get("test"), f"{name} has no health check"
        assert "start_interval" not in check  # docker-compose 1.29 rejects it


def test_airflow_services_run_this_package_with_the_dags_mounted(compose: dict[str, Any]) -> None:
    assert "name" not in compose  # docker-compose 1.29 rejects a top-level name
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install" in dockerfile and "/opt/workmagic[all,sandbox]" in dockerfile
    for name in AIRFLOW_SERVICES:
        service = compose["services"][name]
        assert service.get("build") == "."
        assert any(v.endswith("/dags:/opt/airflow/dags") for v in service["volumes"]), name
        env = service["environment"]
        assert json.loads(env["AIRFLOW_CONN_WORKMAGIC_DEFAULT"])["conn_type"] == "workmagic"


def test_sandbox_service_creates_the_source_bucket_the_sync_dags_read(
    compose: dict[str, Any],
) -> None:
    """The sync DAGs' Variables name the bucket and prefix the sandbox service seeds."""
    from workmagic_sandbox.demo_inputs import SOURCE_PREFIX

    command = compose["services"]["workmagic-sandbox"]["command"].split()
    bucket = command[command.index("--source-bucket") + 1]
    assert int(command[command.index("--seed-hours") + 1]) > 0
    for name in AIRFLOW_SERVICES:
        env = compose["services"][name]["environment"]
        assert env["AIRFLOW_VAR_WORKMAGIC_SOURCE_BUCKET"] == bucket
        assert env["AIRFLOW_VAR_WORKMAGIC_SOURCE_PREFIX"] == SOURCE_PREFIX
