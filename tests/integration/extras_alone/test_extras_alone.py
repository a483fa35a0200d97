"""Each extra installed alone, as a user installs it, runs its flow's smoke.

The project's own venv has every extra (``.[dev]``), which hides a runtime dependency declared
only in another extra. So each of ``[amazon]``, ``[google]`` and ``[snowflake]`` gets a clean
venv built with uv from the committed lock (as constraints) and the wheel of this checkout,
then ``smoke_extra.py`` imports the flow, runs its CLI and renders its operator's statements.

The venvs are cached as ``.venv-{extra}-{hash of lock and pyproject}``: a run after the first
only reinstalls this package (no dependencies), so the test stays cheap inside ``make test``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from dag_helpers import REPO_ROOT

pytestmark = pytest.mark.integration

LOCK = REPO_ROOT / "requirements" / "lock.txt"
SMOKE = Path(__file__).with_name("smoke_extra.py")
PACKAGE = "airflow-provider-workmagic"


def _uv() -> str:
    found = Path(sys.executable).with_name("uv")
    if found.exists():
        return str(found)
    which = shutil.which("uv")
    if which is None:
        pytest.fail("uv is not installed (make venv installs it into .venv)")
    return which


def _run(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]
    if done.returncode != 0:
        pytest.fail(f"{' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done  # type: ignore[no-any-return]


def _extra_venv(extra: str, source: Path = REPO_ROOT) -> Path:
    """A venv with ``PACKAGE[extra]`` only, built once per lock/pyproject version.

    ``source`` is this checkout, or a wheel built from it.
    """
    digest = hashlib.sha256(LOCK.read_bytes() + (REPO_ROOT / "pyproject.toml").read_bytes())
    venv = REPO_ROOT / f".venv-{extra}-{digest.hexdigest()[:12]}"
    python = venv / "bin" / "python"
    uv = _uv()
    for old in REPO_ROOT.glob(f".venv-{extra}-*"):
        if old != venv:
            shutil.rmtree(old, ignore_errors=True)
    if not (venv / ".ready").exists():
        shutil.rmtree(venv, ignore_errors=True)
        _run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)])
        _run([uv, "pip", "install", "--quiet", "--python", str(python), "-c", str(LOCK),
              f"{source}[{extra}]"])  # fmt: skip
        (venv / ".ready").touch()
    else:  # this checkout's code may have changed since: rebuild the package alone
        _run([uv, "pip", "install", "--quiet", "--python", str(python), "--no-deps",
              "--reinstall-package", PACKAGE, str(source)])  # fmt: skip
    return venv


def _smoke(extra: str, tmp_path: Path) -> dict[str, object]:
    venv = _extra_venv(extra)
    connection = {
        "conn_type": "workmagic",
        "extra": {
            "account_id": "121226",
            "data_category": "order-geo-date-data",
            "cloud": "gcs" if extra == "google" else "s3",
            "role_arn": "arn:aws:iam::588759585297:role/AmazonS3FolderAccess121226",
            "external_id_secret": "ext-id-not-a-secret",
        },
    }
    env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW_CONN_WORKMAGIC_DEFAULT": json.dumps(connection),
        "AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT": json.dumps(
            {"conn_type": "google_cloud_platform", "extra": {"project": "proj"}}
        ),
    }
    done = _run([str(venv / "bin" / "python"), str(SMOKE), extra], env=env, cwd=tmp_path)
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _installed(extra: str) -> set[str]:
    python = next(REPO_ROOT.glob(f".venv-{extra}-*")) / "bin" / "python"
    listing = _run([_uv(), "pip", "list", "--python", str(python), "--format", "json"])
    return {p["name"].lower() for p in json.loads(listing.stdout)}


def test_amazon_alone(tmp_path: Path) -> None:
    result = _smoke("amazon", tmp_path)
    assert result["path"] == "account-121226/orders/2026/03/08/02/"
    installed = _installed("amazon")
    assert "apache-airflow-providers-google" not in installed
    assert "apache-airflow-providers-snowflake" not in installed


def test_google_alone(tmp_path: Path) -> None:
    result = _smoke("google", tmp_path)
    assert result["mode"] == "render_only"
    steps = [s["step"] for s in result["statements"]]  # type: ignore[union-attr, index]
    assert "export" in steps
    installed = _installed("google")
    assert "apache-airflow-providers-snowflake" not in installed
    assert "sqlglot" in installed


def test_snowflake_alone(tmp_path: Path) -> None:
    result = _smoke("snowflake", tmp_path)
    assert (
        'GRANT USAGE ON INTEGRATION "S3_ORDER_EXPORT_TO_WORKMAGIC" TO ROLE "AIRFLOW_ROLE"'
        in str(result["setup_sql"])
    )
    assert result["mode"] == "render_only"
    assert any(s["step"] == "unload" for s in result["statements"])  # type: ignore[union-attr, index]
    installed = _installed("snowflake")
    assert "apache-airflow-providers-google" not in installed
    assert "apache-airflow-providers-amazon" not in installed
