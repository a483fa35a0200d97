"""An example DAG run by Airflow: its delivery task updates the account's asset with the hour,
the downstream example DAG is queued on it, and the openlineage provider's extractor finds the
run's datasets.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from dag_helpers import REPO_ROOT, run_hour

pytestmark = pytest.mark.integration

#: an hour of its own, and the example DAG under an id of its own: no other test's runs of the
#: example DAG come before or after these (its missed-hours check would see them)
HOUR = datetime(2026, 7, 20, 5, tzinfo=timezone.utc)
UPLOAD = "wm_asset_upload_hourly"
ASSET_URI = "x-workmagic://121226/order-geo-date-data"
FOLDER = "account-121226/order-geo-date-data/2026/07/20/05"
DOWNSTREAM = "example_workmagic_after_delivery"


def _asset_events(run: Any) -> list[Any]:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        query = (
            select(AssetEvent)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .where(AssetModel.uri == ASSET_URI, AssetEvent.source_run_id == run.run_id)
        )
        return [
            (event.source_dag_id, event.source_task_id, dict(event.extra))
            for event in session.scalars(query)
        ]


def _queued_for(dag_id: str) -> int:
    from airflow.models.asset import AssetDagRunQueue
    from airflow.utils.session import create_session
    from sqlalchemy import func, select

    with create_session() as session:
        query = select(func.count()).where(AssetDagRunQueue.target_dag_id == dag_id)
        return int(session.scalar(query) or 0)


def _task_instance(run: Any, task_id: str) -> Any:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        ti = (
            session.query(TaskInstance)
            .filter_by(dag_id=run.dag_id, run_id=run.run_id, task_id=task_id)
            .one()
        )
        session.expunge(ti)
        return ti


@pytest.fixture
def upload_dag(load_dag_file: Any, airflow_db: Any) -> Any:
    """The example upload DAG (own id) beside the downstream example DAG in one DAGs folder."""
    dags = REPO_ROOT / "dags"
    load_dag_file((dags / f"{DOWNSTREAM}.py").read_text(), DOWNSTREAM)
    source = (dags / "workmagic_s3_upload_hourly.py").read_text()
    dag = load_dag_file(source.replace('"workmagic_s3_upload_hourly"', f'"{UPLOAD}"'), UPLOAD)
    for task in dag.tasks:
        task.retries = 0
        task.start_date = min(task.start_date, HOUR)
    return dag


@pytest.fixture
def upload_hour(
    clean_sandbox: Any, airflow_connections: Any, tmp_path: Path, monkeypatch: Any
) -> Path:
    """One hour's export where the example upload DAG reads it."""
    monkeypatch.setenv("AIRFLOW_VAR_WORKMAGIC_EXPORT_ROOT", str(tmp_path))
    path = tmp_path / f"{HOUR:%Y/%m/%d/%H}.jsonl"
    path.parent.mkdir(parents=True)
    row = {
        "id": "1001",
        "created_at": "2026-07-20T05:10:00Z",
        "updated_at": "2026-07-20T05:10:00Z",
        "total_price": 12.5,
    }
    path.write_text(json.dumps(row) + "\n")
    return path


def test_delivery_updates_the_asset_with_its_hour_and_queues_the_downstream_dag(
    upload_hour: Path, upload_dag: Any
) -> None:
    dag = upload_dag
    queued_before = _queued_for(DOWNSTREAM)

    run = run_hour(dag, HOUR)

    assert run.state == "success"
    [(dag_id, task_id, extra)] = _asset_events(run)
    assert (dag_id, task_id) == (UPLOAD, "upload_hour")
    assert extra["hour"] == HOUR.isoformat()
    assert extra["destination"] == f"s3://workmagic-inbound-data/{FOLDER}/"
    # Airflow queued the DAG that is scheduled on the asset
    assert _queued_for(DOWNSTREAM) == queued_before + 1


def test_the_openlineage_extractor_reports_the_runs_datasets(
    upload_hour: Path, upload_dag: Any
) -> None:
    from airflow.providers.openlineage.extractors.manager import ExtractorManager
    from airflow.utils.state import TaskInstanceState

    dag = upload_dag
    run = run_hour(dag, HOUR)
    assert run.state == "success"
    task = dag.get_task("upload_hour")  # the DAG's own task object: it read the run's XCom
    ti = _task_instance(run, "upload_hour")

    lineage = ExtractorManager().extract_metadata(
        dagrun=run, task=task, task_instance_state=TaskInstanceState.SUCCESS, task_instance=ti
    )

    assert [(d.namespace, d.name) for d in lineage.inputs] == [("file", str(upload_hour))]
    assert [(d.namespace, d.name) for d in lineage.outputs] == [
        ("s3://workmagic-inbound-data", FOLDER)
    ]


def test_the_downstream_dag_is_scheduled_on_the_asset(example_dag: Any) -> None:
    dag = example_dag(DOWNSTREAM)

    condition = dag.timetable.asset_condition

    assert [asset.uri for asset in condition.objects] == [ASSET_URI]
