"""A configuration typo fails the task on its first try, naming the field; no back-off."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from dag_helpers import run_hour

pytestmark = pytest.mark.integration

HOUR = datetime(2026, 3, 8, 2, tzinfo=UTC)


def test_an_account_id_typo_fails_on_try_one(
    clean_sandbox: Any,
    airflow_connections: Any,
    example_dag: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
    capfd: pytest.CaptureFixture[str],
) -> None:
    airflow_connections(account_id="12l226")  # a letter l for a digit 1
    monkeypatch.setenv("AIRFLOW_VAR_WORKMAGIC_EXPORT_ROOT", str(tmp_path))
    dag = example_dag("workmagic_s3_upload_hourly")
    for task in dag.tasks:  # the example's own retry policy, shortened
        task.retries = 3
        task.retry_delay = timedelta(seconds=1)
    run = run_hour(dag, HOUR)
    ti = next(t for t in run.get_task_instances() if t.task_id == "upload_hour")
    assert (ti.state, ti.try_number) == ("failed", 1)
    captured = capfd.readouterr()
    logged = captured.out + captured.err
    assert "field account_id: account id must be digits, got '12l226'" in logged
