"""``make demo`` runs ``workmagic-provider demo``: it must work end to end on a fresh machine."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def test_demo_uploads_every_part_once(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")}
    env["AIRFLOW_HOME"] = str(tmp_path / "airflow")
    script = Path(sys.executable).with_name("workmagic-provider")
    done = subprocess.run(
        [str(script), "demo", "--rows", "1500"],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "every part landed once" in out
    for scheme in ("s3", "gs"):
        assert f"{scheme}://workmagic-inbound-data/account-121226/orders/2026/03/08/02/" in out
    assert out.count("re-run of the same hour: same part names") == 2
