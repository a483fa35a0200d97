"""Helpers for tests that run DAGs with ``dag.test()`` (import: ``from dag_helpers import ...``).

Kept out of ``conftest.py`` so that test packages with their own ``conftest.py`` can import
them without shadowing the root conftest module.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]


def run_hour(dag: Any, hour: Any, **kwargs: Any) -> Any:
    """``dag.test()`` for the data interval that starts at ``hour`` (UTC); returns the run."""
    from datetime import timedelta

    run = dag.test(logical_date=hour + timedelta(hours=1), **kwargs)
    assert run.data_interval_start == hour, (run.data_interval_start, hour)
    assert run.data_interval_end - run.data_interval_start == timedelta(hours=1)
    return run


def xcom_return(run: Any, task_id: str) -> Any:
    """The return value a task of ``run`` pushed to XCom."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        query = XComModel.get_many(
            run_id=run.run_id, key="return_value", task_ids=task_id, dag_ids=run.dag_id
        )
        row = session.scalars(query).first()
        return None if row is None else XComModel.deserialize_value(row)


def ti_state(dag_id: str) -> str | None:
    """State of the (first) task instance of ``dag_id``, read from the metadata DB."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        ti = session.query(TaskInstance).filter(TaskInstance.dag_id == dag_id).first()
        return None if ti is None else str(ti.state)


def processes_using(folder: Path) -> list[int]:
    """Live pids with a file open under ``folder`` (an Airflow's components log there, and
    every process they start inherits that stdout). ``/proc/*/environ`` would not do: Airflow
    sets process titles, which overwrite it."""
    prefix = str(folder.resolve())
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if "zombie" in (entry / "status").read_text():
                continue
            links = [os.readlink(fd) for fd in (entry / "fd").iterdir()]
        except OSError:
            continue
        if any(link.startswith(prefix) for link in links):
            found.append(int(entry.name))
    return found


def single_part(stamp: str, flow: str) -> Any:
    """A regex of the one part a run of ``stamp`` (``YYYY-MM-DD-HH``) writes for ``flow``."""
    import re

    from workmagic_provider.generations import GENERATION_PATTERN

    return re.compile(rf"{re.escape(stamp)}-{flow}-{GENERATION_PATTERN}-0001of0001\.json\.gz")


def only_part(names: Any, stamp: str, flow: str) -> str:
    """The one name in ``names`` (asserted), which must be ``flow``'s single part of ``stamp``."""
    [name] = list(names)
    assert single_part(stamp, flow).fullmatch(name.rsplit("/", 1)[-1]), name
    return str(name)


#: One valid imported (aggregated) sales row; tests vary its key or measures with ``{**ROW, ...}``.
IMPORTED_ROW: dict[str, Any] = {
    "date_type": "DAILY",
    "date_code": "2026-03-07",
    "geo_type": "ZIP",
    "geo_code": "10001",
    "sales_platform": "Target",
    "sales_platform_type": "SECONDARY",
    "country_code": "US",
    "orders": 3,
    "sales": 30.0,
}
