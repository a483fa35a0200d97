"""The provider's wheel ships only what a user's Airflow imports, and that is enough to import it.

The wheel is built from this checkout with uv (hatchling, as a release builds it). Its files
must hold no sandbox, demo or local-Airflow module and nothing of the ``workmagic_sandbox``
package (the stand-ins are their own distribution in ``sandbox/``). Then a clean venv with that
wheel and ``[all]`` (the lock as constraints; cached like the single-extra venvs) imports every
module and class ``get_provider_info`` names and every ``workmagic_provider.operators`` module.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path, PurePosixPath

import pytest
from dag_helpers import REPO_ROOT

from .test_extras_alone import _extra_venv, _installed, _run, _uv

pytestmark = pytest.mark.integration

SMOKE = Path(__file__).with_name("smoke_wheel.py")
#: words no module of the provider's wheel may carry in its path
NOT_SHIPPED = ("sandbox", "demo", "local_airflow")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    _run([_uv(), "build", "--wheel", "--quiet", "--out-dir", str(out), str(REPO_ROOT)])
    (built,) = out.glob("airflow_provider_workmagic-*.whl")
    return built


def test_the_wheel_holds_no_sandbox_or_demo_module(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    modules = [n for n in names if n.endswith(".py")]
    assert "workmagic_provider/operators/sync.py" in modules  # the listing is the package's
    assert [m for m in modules if any(word in m for word in NOT_SHIPPED)] == []
    assert {PurePosixPath(n).parts[0] for n in names} == {
        "workmagic_provider",
        wheel.name.removesuffix("-py3-none-any.whl") + ".dist-info",
    }
    (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    scripts = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "workmagic-provider = workmagic_provider.cli:main" in scripts
    assert "workmagic-sandbox" not in scripts and "sandbox" not in scripts


def test_the_wheel_with_all_alone_imports_every_operator(wheel: Path, tmp_path: Path) -> None:
    venv = _extra_venv("all", source=wheel)
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path)}
    env |= {"AIRFLOW_HOME": str(tmp_path / "airflow"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    done = _run([str(venv / "bin" / "python"), "-I", str(SMOKE)], env=env, cwd=tmp_path)
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert "workmagic_provider.operators.s3" in seen["listed"]
    assert "workmagic_provider.hooks.workmagic.WorkMagicHook" in seen["listed"]
    assert {"workmagic_provider.operators.base", "workmagic_provider.operators.sync"} <= set(
        seen["walked"]
    )
    site = str(venv / "lib")
    assert all(path.startswith(site) for path in seen["files"].values()), seen["files"]
    assert seen["commands"] == ["audit", "convert", "path", "setup-sql", "validate"]
    assert seen["importable"] == {
        "workmagic_sandbox": False,
        "moto": False,
        "gcp_storage_emulator": False,
    }
    assert "workmagic-sandbox" not in _installed("all")
