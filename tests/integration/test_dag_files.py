"""Example DAG files import nothing heavy at top level (Airflow best practice), so they parse fast.

What is measured is what a file imports beyond ``airflow.sdk`` (deterministic), not seconds:
the parse time itself belongs in a benchmark, not in a test that a loaded machine can fail.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from dag_helpers import REPO_ROOT

pytestmark = pytest.mark.integration

DAG_FILES = sorted((REPO_ROOT / "dags").glob("*.py"))
#: the delivery DAGs (``example_*`` files show what runs after a delivery)
HOURLY_FILES = [f for f in DAG_FILES if not f.stem.startswith("example_")]
HEAVY = (
    "boto3",
    "botocore",
    "google.cloud.storage",
    "google.cloud.bigquery",
    "snowflake.connector",
)

#: modules a DAG file may add to what ``airflow.sdk`` loaded: our operators' modules and
#: Airflow's timetable machinery (about 25 today); a provider client would add hundreds
MAX_NEW_MODULES = 60

PROBE = """
import json, runpy, sys
import airflow.sdk  # what the DAG processor has loaded before it parses a file
empty, dag_file = sys.argv[1], sys.argv[2]
runpy.run_path(empty); before = set(sys.modules)
runpy.run_path(dag_file); new = sorted(set(sys.modules) - before)
heavy = [m for m in {heavy!r} if m in sys.modules]
print(json.dumps({{"new": new, "heavy": heavy}}))
"""


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.stem)
def test_dag_file_imports_nothing_heavy(dag_file: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty_dag.py"
    empty.write_text("from airflow.sdk import DAG\n")
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY), str(empty), str(dag_file)],
        capture_output=True,
        text=True,
        check=True,
    )
    timing = json.loads(done.stdout.strip().splitlines()[-1])
    assert timing["heavy"] == [], f"{dag_file.name} imports {timing['heavy']} at parse time"
    assert len(timing["new"]) <= MAX_NEW_MODULES, timing["new"]


def test_every_example_dag_is_hourly_with_one_hour_intervals(example_dag) -> None:  # type: ignore[no-untyped-def]
    from airflow.sdk import CronDataIntervalTimetable
    from airflow.timetables.interval import CronDataIntervalTimetable as CoreTimetable

    assert HOURLY_FILES
    for dag_file in HOURLY_FILES:
        dag = example_dag(dag_file.stem)
        assert isinstance(dag.timetable, (CronDataIntervalTimetable, CoreTimetable)), dag.dag_id
        # missed hours run by themselves, from a start date the user sets when copying
        assert dag.catchup is True and dag.start_date is not None, dag.dag_id
        assert dag.max_active_runs <= 4
        assert dag.doc_md and "workmagic_conn_id" in dag.params
        assert dag.default_args["retries"] > 0  # transient errors retry (the fixture zeroes tasks')
        # the run ends with the missed-hours check, after everything that delivers
        check = dag.get_task("check_missed_hours")
        assert check.upstream_task_ids == {t.task_id for t in dag.tasks if t is not check}
        # every param's default is valid: the Trigger and Backfill dialogs open enabled
        dag.params.validate()


def _airflow_cli(home: Path, dags: Path, *args: str, expect: int = 0) -> str:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__")}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(dags),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
    )
    done = subprocess.run(
        [sys.executable, "-m", "airflow", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    assert done.returncode == expect, (
        f"airflow {' '.join(args)}: {done.stdout[-2000:]}{done.stderr[-3000:]}"
    )
    return done.stdout


def _import_errors(home: Path, dags: Path, expect: int = 0) -> list[dict[str, str]]:
    """The import errors Airflow records for ``dags`` (the command exits 1 when any exist)."""
    _airflow_cli(home, dags, "dags", "reserialize")
    out = _airflow_cli(home, dags, "dags", "list-import-errors", "-o", "json", expect=expect)
    return list(json.loads(out.strip().splitlines()[-1]))


def test_airflow_lists_no_import_errors_for_the_example_dags(tmp_path: Path) -> None:
    """``airflow dags list-import-errors`` on a fresh Airflow with a copy of ``dags/``."""
    import shutil

    dags = tmp_path / "dags"
    shutil.copytree(REPO_ROOT / "dags", dags, ignore=shutil.ignore_patterns("__pycache__"))
    home = tmp_path / "airflow"
    _airflow_cli(home, dags, "db", "migrate")
    assert _import_errors(home, dags) == []
    # the same check sees a broken file (so an empty list above means something)
    (dags / "broken_example.py").write_text("from airflow.sdk import DAG\nimport no_such_mod\n")
    errors = _import_errors(home, dags, expect=1)
    assert [e["filepath"] for e in errors] == ["broken_example.py"]
    assert "no_such_mod" in errors[0]["error"]
