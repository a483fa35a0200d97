"""What the lowest supported Airflow must do: import every module and run an example DAG.

``make test-floor`` runs this file (with the DAG-file tests) in a venv built from
``requirements/floor.txt``; ``make test`` runs it on the locked Airflow too, so a module that
needs a newer Airflow than pyproject's floor fails one of the two jobs.
"""

from __future__ import annotations

import gzip
import importlib
import importlib.metadata
import json
import pkgutil
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from dag_helpers import REPO_ROOT, run_hour, xcom_return
from packaging.requirements import Requirement
from packaging.version import Version

DIST = "airflow-provider-workmagic"
#: the packages of this repository that a user installs (the sandbox may live in its own one)
PACKAGES = ("workmagic_provider", "workmagic_sandbox")


def _airflow_requirement() -> Requirement:
    requires = importlib.metadata.requires(DIST) or []
    [airflow] = [r for r in map(Requirement, requires) if r.name == "apache-airflow"]
    return airflow


def _module_names() -> list[str]:
    names = []
    for package_name in PACKAGES:
        try:
            package = importlib.import_module(package_name)
        except ModuleNotFoundError:
            continue
        names.append(package_name)
        walked = pkgutil.walk_packages(package.__path__, prefix=f"{package_name}.")
        names.extend(info.name for info in walked)
    return sorted(names)


def test_the_running_airflow_is_within_the_declared_range() -> None:
    import airflow

    assert Version(airflow.__version__) in _airflow_requirement().specifier


def test_the_floor_lock_pins_the_declared_floor() -> None:
    """The floor job installs exactly the lowest Airflow that pyproject admits."""
    [floor] = [s.version for s in _airflow_requirement().specifier if s.operator == ">="]
    lock = (REPO_ROOT / "requirements" / "floor.txt").read_text()
    pinned = re.search(r"^apache-airflow==(\S+)$", lock, re.MULTILINE)
    assert pinned, "requirements/floor.txt pins no apache-airflow"
    assert Version(pinned.group(1)) == Version(floor), (pinned.group(1), floor)


def _input_names(name: str) -> set[str]:
    text = (REPO_ROOT / "requirements" / name).read_text()
    lines = (line.split("#")[0].strip() for line in text.splitlines())
    return {Requirement(line).name for line in lines if line}


def test_the_floor_inputs_are_the_locks_inputs() -> None:
    """Only Airflow's version (and what it needs pinned) differs between the two jobs."""
    floor_only = {"fastapi"}
    assert _input_names("floor.in") - floor_only == _input_names("lock.in")


@pytest.mark.parametrize("name", _module_names())
def test_every_module_imports(name: str) -> None:
    importlib.import_module(name)


def _sample_orders(count: int, hour: datetime) -> list[dict[str, Any]]:
    try:  # the sandbox as its own distribution, or still inside the provider
        from workmagic_sandbox.sample_data import custom_site_orders
    except ModuleNotFoundError:
        from workmagic_provider.sandbox.sample_data import custom_site_orders
    return list(custom_site_orders(count, hour=hour, seed=hour.hour))


@pytest.mark.integration
def test_the_s3_upload_example_dag_delivers_an_hour(
    clean_sandbox: Any,
    airflow_connections: Any,
    example_dag: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hour = datetime(2026, 3, 8, 22, tzinfo=timezone.utc)
    orders = _sample_orders(20, hour)
    source = tmp_path / f"{hour:%Y/%m/%d/%H}.jsonl"
    source.parent.mkdir(parents=True)
    source.write_text("".join(json.dumps(o) + "\n" for o in orders))
    monkeypatch.setenv("AIRFLOW_VAR_WORKMAGIC_EXPORT_ROOT", str(tmp_path))

    run = run_hour(example_dag("workmagic_s3_upload_hourly"), hour)

    assert run.state == "success"
    assert xcom_return(run, "upload_hour")["rows_written"] == len(orders)
    folder = f"account-121226/order-geo-date-data/{hour:%Y/%m/%d/%H}/"
    [key] = clean_sandbox.aws.list_keys(folder)
    body = clean_sandbox.aws.admin_client().get_object(Bucket=clean_sandbox.bucket, Key=key)
    lines = gzip.decompress(body["Body"].read()).splitlines()
    assert [json.loads(line)["id"] for line in lines] == [o["id"] for o in orders]
