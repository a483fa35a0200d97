"""Test harness shared by every test: a private Airflow home, the sandbox, connections, the DB.

The environment is set at import time, before anything imports Airflow (Airflow reads
``AIRFLOW_HOME`` and computes ``settings.DAGS_FOLDER`` once, on first import).

Fixtures:

* ``sandbox`` (session): one :class:`~workmagic_sandbox.launcher.Sandbox` (S3 + STS and GCS
  on loopback) for the whole run; ``clean_sandbox`` resets its stores for one test.
* ``airflow_connections``: puts the sandbox's ``AIRFLOW_CONN_*`` and ``STORAGE_EMULATOR_HOST``
  into ``os.environ`` for one test and returns a function to re-apply them with changes, e.g.
  ``airflow_connections(cloud="gcs")`` or ``airflow_connections(external_id="wrong")``.
* ``airflow_db`` (session): a migrated SQLite metadata DB in the private home (``dag.test()``).
* ``dags_folder``: a fresh DAGs folder that ``dag.test()`` syncs from; ``load_dag_file`` writes a
  DAG file into it and returns the DAG object.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import tempfile
import textwrap
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from dag_helpers import REPO_ROOT

# --------------------------------------------------------------------------- environment
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="wm-airflow-home-"))

# Hermetic: connections, variables and cloud credentials of the developer's shell never leak in.
for _name in list(os.environ):
    if _name.startswith(("AIRFLOW_CONN_", "AIRFLOW_VAR_")) or _name in (
        "STORAGE_EMULATOR_HOST",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    ):
        del os.environ[_name]

os.environ.update(
    {
        "AIRFLOW_HOME": str(_AIRFLOW_HOME),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_AIRFLOW_HOME / 'airflow.db'}",
        "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        # No instance-metadata probing and no ~/.aws files: boto3 only sees what a test gives it.
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": str(_AIRFLOW_HOME / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(_AIRFLOW_HOME / "no-aws-credentials"),
    }
)
# DAG runs use the repository's dags/ unless a test points elsewhere (see ``dags_folder``).
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(REPO_ROOT / "dags"))
# Deliberately not set: AIRFLOW__CORE__UNIT_TEST_MODE. It swaps in Airflow's own unit-test
# config (meant for Airflow's repository), which nothing here needs.


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(_AIRFLOW_HOME, ignore_errors=True)


# --------------------------------------------------------------------------- sandbox
@pytest.fixture(scope="session")
def sandbox() -> Iterator[Any]:
    """One sandbox (S3 + STS and GCS on loopback ports) for the whole session."""
    from workmagic_sandbox.launcher import Sandbox

    box = Sandbox(account_id="121226", data_category="order-geo-date-data")
    box.start()
    try:
        yield box
    finally:
        box.stop()


@pytest.fixture
def clean_sandbox(sandbox: Any) -> Any:
    """The session sandbox with empty stores and no recorded writes."""
    sandbox.reset()
    return sandbox


@pytest.fixture
def airflow_connections(
    sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., dict[str, str]]:
    """Sandbox connections in ``os.environ`` for this test; call the result to change them."""

    def apply(cloud: str = "s3", **overrides: Any) -> dict[str, str]:
        env = sandbox.env(cloud, **overrides)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return env

    apply()
    return apply


# --------------------------------------------------------------------------- Airflow
@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """Create the metadata DB (SQLite in the private AIRFLOW_HOME) once per session."""
    from airflow.utils import db

    db.initdb()
    return _AIRFLOW_HOME


@pytest.fixture
def dags_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty DAGs folder that ``dag.test()`` syncs to the DB (instead of the repo's dags/).

    Airflow 3.3's ``dag.test()`` re-parses the DAG bundle folder, so keeping it small keeps runs
    fast and independent of the example DAGs.
    """
    from airflow import settings

    folder = tmp_path / "dags"
    folder.mkdir()
    monkeypatch.setattr(settings, "DAGS_FOLDER", str(folder))
    monkeypatch.setenv("AIRFLOW__CORE__DAGS_FOLDER", str(folder))
    return folder


@pytest.fixture
def load_dag_file(dags_folder: Path) -> Iterator[Callable[[str, str], Any]]:
    """Write DAG source into ``dags_folder`` and return the DAG object with that id."""
    loaded: list[str] = []

    def load(source: str, dag_id: str) -> Any:
        path = dags_folder / f"{dag_id}.py"
        path.write_text(textwrap.dedent(source))
        module_name = f"wm_test_dag_{dag_id}"
        spec = importlib.util.spec_from_file_location(module_name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        loaded.append(module_name)
        spec.loader.exec_module(module)
        from airflow.sdk import DAG

        dags = [v for v in vars(module).values() if isinstance(v, DAG) and v.dag_id == dag_id]
        assert dags, f"{path} defines no DAG {dag_id!r}"
        return dags[0]

    yield load
    for name in loaded:
        sys.modules.pop(name, None)


# --------------------------------------------------------------------------- customer side
@pytest.fixture(scope="session")
def customer_storage(sandbox: Any) -> Iterator[Any]:
    """The customer's own buckets (sync sources): plain moto S3 + a bucket in the GCS emulator."""
    from workmagic_sandbox.customer import CustomerStorage

    storage = CustomerStorage(sandbox).start()
    try:
        yield storage
    finally:
        storage.stop()


@pytest.fixture
def customer(
    clean_sandbox: Any,
    customer_storage: Any,
    airflow_connections: Callable[..., dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> Any:
    """Empty customer buckets, empty WorkMagic buckets, and every connection in the env."""
    import json

    customer_storage.create_buckets()
    for conn_id, conn in customer_storage.connection_dicts().items():
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
    return customer_storage


# --------------------------------------------------------------------------- DAG runs
TEST_EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)


@pytest.fixture
def example_dag(airflow_db: Path) -> Callable[[str], Any]:
    """Load an example DAG from the repository's ``dags/`` by id (the folder ``dag.test`` syncs)."""

    def load(dag_id: str) -> Any:
        path = REPO_ROOT / "dags" / f"{dag_id}.py"
        spec = importlib.util.spec_from_file_location(f"wm_example_{dag_id}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        from airflow.sdk import DAG

        dag = next(v for v in vars(module).values() if isinstance(v, DAG) and v.dag_id == dag_id)
        for task in dag.tasks:  # a failure fails the run now instead of minutes of backoff
            task.retries = 0
            # tests run hours of early 2026; a manual run before a task's start date gets no
            # task instances (backfills do), and the examples start at the hour they go live
            task.start_date = min(task.start_date or TEST_EPOCH, TEST_EPOCH)
        return dag

    return load
