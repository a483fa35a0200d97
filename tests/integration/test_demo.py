"""``make demo`` runs ``workmagic-sandbox demo``: a real Airflow backfills every example DAG.

This is the CI smoke run of the demo with a short window (2 hours): the api-server, scheduler
and dag-processor start on SQLite, backfills are created through the REST API, and the printed
table must show a successful run that moved something for every DAG and hour. Afterwards no
process of that Airflow may be left.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from dag_helpers import REPO_ROOT, processes_using

pytestmark = pytest.mark.integration

DAG_IDS = [
    "s3_sync_hourly",
    "gcs_sync_hourly",
    "s3_upload_hourly",
    "file_import",
    "imported_sheet",
    "enrich_orders_hourly",
    "snowflake_hourly",
    "bigquery_hourly",
]


@pytest.mark.timeout(360)
def test_demo_backfills_every_example_dag(tmp_path: Path) -> None:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_CONN_", "AIRFLOW_VAR"))
    }
    work = tmp_path / "demo"
    script = Path(sys.executable).with_name("workmagic-sandbox")
    done = subprocess.run(
        [str(script), "demo", "--hours", "2", "--rows", "40", "--workdir", str(work)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=330,
        check=False,
    )
    out = done.stdout
    assert done.returncode == 0, out[-6000:] + done.stderr[-4000:]
    assert "every flow ran every hour" in out
    lines = out.splitlines()
    for dag_id in DAG_IDS:
        rows = [line for line in lines if line.startswith(dag_id + " ")]
        again = 2 if dag_id in ("s3_sync_hourly", "s3_upload_hourly") else 0  # the re-run
        assert len(rows) == 2 + again, (dag_id, rows)
        assert all(" success " in row for row in rows), rows
    # what moved, per flow: parts and objects in WorkMagic's folders, rows on the sheet and API
    table = {line.split()[0]: line for line in lines if line.split()[:1]}
    assert (
        "s3://workmagic-inbound-data/account-121226/order-geo-date-data/" in table["s3_sync_hourly"]
    )
    assert "gs://workmagic-inbound-data/account-121226/" in table["gcs_sync_hourly"]
    assert "/imported-walmart/" in table["file_import"]
    assert "sheet demo-imported-channel" in table["imported_sheet"]
    assert "/enrich/orders" in table["enrich_orders_hourly"]
    # session, columns, checks, sample, unload, list
    assert "rendered 6 statements, submitted none" in table["snowflake_hourly"]
    assert "COPY INTO 's3://workmagic-inbound-data/account-121226/" in out
    assert "EXPORT DATA OPTIONS (uri = 'gs://customer-orders/workmagic-staging/" in out
    assert "POST /api/v2/backfills" not in out  # no API error surfaced
    # the second backfill of the same hours: the same bytes in every hour folder (an upload
    # re-run replaces its parts by its own generation's), the sync wrote nothing
    (state,) = [line for line in lines if line.startswith("WorkMagic's S3 folder:")]
    before, after = re.findall(r"(\d+) objects before, (\d+) after", state)[0]
    assert before == after and int(before) > 0 and "(same bytes: True)" in state
    sync_again = [line.split() for line in lines if line.startswith("s3_sync_hourly ")][2:]
    assert [cells[6] for cells in sync_again] == ["0", "0"]  # the bytes column
    assert processes_using(work / "airflow") == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--hours", "0"], "--hours and --rows must be at least 1"),
        (["--dags-folder", "/nonexistent"], "no example DAGs in /nonexistent"),
        (["--workdir", "NONEMPTY"], "is not empty"),
    ],
)
def test_demo_refuses_unusable_arguments_before_starting_anything(
    tmp_path: Path, args: list[str], message: str
) -> None:
    from workmagic_sandbox.cli import main

    (tmp_path / "old.txt").write_text("a previous run")
    args = [str(tmp_path) if a == "NONEMPTY" else a for a in args]
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["demo", *args])
    assert code == 2 and message in out.getvalue()
