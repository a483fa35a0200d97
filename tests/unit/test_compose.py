"""docker-compose.yaml: valid, shaped like Airflow's official file, the sandbox optional.

The schema is the one Debian's docker-compose 1.29 ships (``tests/data/compose_spec.json``),
so the file also stays within what that older tool accepts (no top-level ``name:``, no
``healthcheck.start_interval``); no Docker engine is needed. Where the ``docker-compose``
binary is installed (``.ci/run`` installs it), the tool itself checks the file too.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft201909Validator

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yaml"
SANDBOX = "workmagic-sandbox"
ONE_SHOT = {"airflow-init"}
AIRFLOW_SERVICES = {
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-worker",
    "airflow-triggerer",
    "airflow-init",
}
MOUNTED = ("logs", "dags", "plugins", "config")
#: Variables the example DAGs read whose absence means "the default": not needed in compose.
OPTIONAL_VARIABLES = {
    "workmagic_bigquery_location": "the dataset's location",
    "workmagic_snowflake_updated_at_column": "updated_at",
    "workmagic_source_conn_id": "the workmagic connection's aws_conn_id / gcp_conn_id",
    "workmagic_single_machine": "false: Celery workers are separate machines",
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def spec_errors(document: dict[str, Any]) -> list[str]:
    schema = json.loads((ROOT / "tests" / "data" / "compose_spec.json").read_text())
    errors = sorted(Draft201909Validator(schema).iter_errors(document), key=str)
    return [f"{list(e.path)}: {e.message}" for e in errors]


def dockerfile_stages() -> dict[str, str]:
    """Stage name -> its instructions (``FROM ... AS name`` up to the next ``FROM``)."""
    text = (ROOT / "Dockerfile").read_text()
    parts = re.split(r"^FROM\s+", text, flags=re.MULTILINE)[1:]
    stages = {}
    for part in parts:
        header, _, body = part.partition("\n")
        match = re.search(r"\bAS\s+(\S+)", header, flags=re.IGNORECASE)
        assert match, f"unnamed Dockerfile stage: FROM {header}"
        stages[match.group(1)] = header + "\n" + body
    return stages


def test_file_is_valid_against_the_compose_spec(compose: dict[str, Any]) -> None:
    assert not spec_errors(compose), "\n".join(spec_errors(compose))


def test_every_long_running_service_has_a_health_check(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert AIRFLOW_SERVICES | {"postgres", "redis", SANDBOX} <= set(services)
    for name, service in services.items():
        if name in ONE_SHOT:
            continue
        check = service.get("healthcheck")
        assert check and check.get("test"), f"{name} has no health check"
        assert "start_interval" not in check  # docker-compose 1.29 rejects it


def test_sandbox_is_an_optional_profile_nothing_depends_on(compose: dict[str, Any]) -> None:
    """Not enabling the profile, or deleting the service as the README says, leaves a file
    whose every service starts: no Airflow service waits for the sandbox."""
    assert compose["services"][SANDBOX]["profiles"] == ["sandbox"]
    for name, service in compose["services"].items():
        if name != SANDBOX:
            assert "profiles" not in service, f"{name} must start without a profile"
            assert SANDBOX not in (service.get("depends_on") or {}), name
            assert SANDBOX not in (service.get("links") or []), name
    without = copy.deepcopy(compose)
    del without["services"][SANDBOX]
    assert not spec_errors(without), "\n".join(spec_errors(without))


def test_airflow_image_installs_only_the_provider_the_sandbox_its_own(
    compose: dict[str, Any],
) -> None:
    stages = dockerfile_stages()
    installs = re.findall(r"pip install[^\n]*", stages["airflow"])
    assert installs == ['pip install --no-cache-dir "/opt/workmagic[all]"']
    assert "sandbox" not in stages["airflow"].split("\n", 1)[1].lower()
    assert "/opt/workmagic-sandbox" in stages["sandbox"]
    assert "COPY --chown=airflow:root sandbox " in stages["sandbox"]
    assert compose["services"][SANDBOX]["build"] == {"context": ".", "target": "sandbox"}
    assert compose["services"][SANDBOX]["command"].split()[:2] == ["workmagic-sandbox", "serve"]
    for name in AIRFLOW_SERVICES:
        service = compose["services"][name]
        assert service["build"] == {"context": ".", "target": "airflow"}, name
        assert service["image"] != compose["services"][SANDBOX]["image"], name


def test_containers_share_one_jwt_secret_and_config_file(compose: dict[str, Any]) -> None:
    """Celery workers' task tokens must verify at the api-server ("Invalid auth token")."""
    envs = [compose["services"][name]["environment"] for name in AIRFLOW_SERVICES]
    secrets = {env.get("AIRFLOW__API_AUTH__JWT_SECRET") for env in envs}
    assert len(secrets) == 1 and None not in secrets and "" not in secrets
    (secret,) = secrets
    assert re.fullmatch(r"\$\{AIRFLOW_JWT_SECRET:-[^}]+\}", secret), secret
    configs = {env.get("AIRFLOW_CONFIG") for env in envs}
    assert configs == {"/opt/airflow/config/airflow.cfg"}


def test_init_creates_and_hands_over_the_mounted_folders(compose: dict[str, Any]) -> None:
    """As in the official file: mkdir, the config file written, chown of every mount."""
    init = compose["services"]["airflow-init"]
    assert init["user"] == "0:0"
    script = "\n".join(init["command"])
    chowns = [line for line in script.splitlines() if line.strip().startswith("chown")]
    for folder in MOUNTED:
        path = f"/opt/airflow/{folder}"
        assert any(path in line for line in chowns), f"init never chowns {path}"
        assert re.search(rf"mkdir[^\n]*{path}", script), f"init never creates {path}"
    assert "airflow config list" in script
    assert init["environment"]["_AIRFLOW_DB_MIGRATE"] == "true"
    for name in AIRFLOW_SERVICES:
        mounts = compose["services"][name]["volumes"]
        for folder in MOUNTED:
            assert any(v.endswith(f"/{folder}:/opt/airflow/{folder}") for v in mounts), name


def dag_variables() -> set[str]:
    """Every Airflow Variable the example DAGs read."""
    text = "\n".join(p.read_text() for p in (ROOT / "dags").glob("*.py"))
    found = set(re.findall(r"param_or_variable\(\s*\"\w+\",\s*\"(\w+)\"", text))
    found |= set(re.findall(r"var\.value\.get\('(\w+)'", text))
    assert len(found) > 10, found  # the patterns still match how the DAGs are written
    return found


def test_every_variable_the_dags_need_is_in_the_common_env(compose: dict[str, Any]) -> None:
    env = compose["x-airflow-common"]["environment"]
    have = {k.removeprefix("AIRFLOW_VAR_").lower() for k in env if k.startswith("AIRFLOW_VAR_")}
    missing = dag_variables() - set(OPTIONAL_VARIABLES) - have
    assert not missing, f"the example DAGs read Variables compose never sets: {sorted(missing)}"
    assert "workmagic_single_machine" not in have  # the manifest must live in shared storage


def test_api_keys_are_the_ones_the_sandbox_accepts(compose: dict[str, Any]) -> None:
    from workmagic_sandbox.launcher import ENRICH_API_KEY, ORDERS_API_KEY

    env = compose["x-airflow-common"]["environment"]
    for conn_id in ("WORKMAGIC_DEFAULT", "WORKMAGIC_IMPORTED"):
        conn = json.loads(env[f"AIRFLOW_CONN_{conn_id}"])
        assert conn["conn_type"] == "workmagic"
        assert conn["password"] == ENRICH_API_KEY, conn_id
        assert conn["extra"]["orders_api_key"] == ORDERS_API_KEY, conn_id
    assert json.loads(env["AIRFLOW_CONN_WORKMAGIC_ORDERS_DB"])["conn_type"] == "postgres"


def test_sandbox_seeds_the_source_bucket_the_dags_read(compose: dict[str, Any]) -> None:
    from workmagic_sandbox.demo_inputs import SOURCE_PREFIX

    command = compose["services"][SANDBOX]["command"].split()
    bucket = command[command.index("--source-bucket") + 1]
    assert int(command[command.index("--seed-hours") + 1]) > 0
    env = compose["x-airflow-common"]["environment"]
    assert env["AIRFLOW_VAR_WORKMAGIC_SOURCE_BUCKET"] == bucket
    assert env["AIRFLOW_VAR_WORKMAGIC_SOURCE_PREFIX"] == SOURCE_PREFIX
    for name, value in env.items():
        if name.startswith("AIRFLOW_VAR_") and value.startswith("s3://"):
            assert value.startswith(f"s3://{bucket}/"), name


@pytest.mark.parametrize("variant", ["default", "profile sandbox", "sandbox removed"])
def test_docker_compose_1_29_accepts_the_file(
    compose: dict[str, Any], variant: str, tmp_path: Path
) -> None:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("docker-compose is not installed (.ci/run installs Debian's package)")
    path = COMPOSE
    args = ["--profile", "sandbox"] if variant == "profile sandbox" else []
    if variant == "sandbox removed":
        without = copy.deepcopy(compose)
        del without["services"][SANDBOX]
        path = tmp_path / "docker-compose.yaml"
        path.write_text(yaml.safe_dump(without))
    done = subprocess.run(
        [binary, "-f", str(path), "--project-directory", str(ROOT), *args, "config", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
