"""``workmagic-sandbox demo``: every example DAG, backfilled by a real Airflow, offline.

1. The sandbox starts: WorkMagic's S3 + STS and GCS buckets, its Enrich API, a Google Sheets
   stand-in, and the customer's own S3 bucket, all on loopback.
2. Each flow's source data is written for the last ``hours`` complete UTC hours
   (:mod:`demo_inputs`).
3. Airflow's api-server and dag-processor start on SQLite with ``dags/``
   (:mod:`local_airflow`); one backfill per DAG is created through ``POST /api/v2/backfills``,
   the call the UI's backfill dialog makes; then the scheduler starts and runs them. The
   Snowflake and BigQuery DAGs get the conf ``render_sql``: they render and log the exact
   statements, as no warehouse is reachable here.
4. When every run has finished, one line per DAG and hour says what moved and where, read from
   the tasks' XCom through the REST API.
5. The S3 sync and upload DAGs are backfilled over the same hours again (reprocessing the
   completed runs, as the UI offers): WorkMagic's folder must hold the same objects with the
   same bytes, and the sync must write nothing. Every process is stopped on the way out.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from workmagic_sandbox.demo_report import Moved, RunLine, moved, render_table
from workmagic_sandbox.sample_data import last_complete_hours

DEMO_ACCOUNT = "121226"


@dataclass(frozen=True)
class Flow:
    """An example DAG in the demo: its task and the backfill's conf (the DAG's params)."""

    dag_id: str
    task_id: str
    conf: Mapping[str, Any] = field(default_factory=dict)


def demo_flows() -> list[Flow]:
    from workmagic_sandbox.demo_inputs import IMPORTED_CONN_ID
    from workmagic_sandbox.launcher import GCP_CONN_ID

    return [
        Flow("workmagic_s3_sync_hourly", "sync_hour"),
        Flow("workmagic_gcs_sync_hourly", "sync_hour", {"source_conn_id": GCP_CONN_ID}),
        Flow("workmagic_s3_upload_hourly", "upload_hour"),
        Flow("workmagic_file_import", "import_files", {"workmagic_conn_id": IMPORTED_CONN_ID}),
        Flow("workmagic_imported_sheet", "refresh_sheet"),
        Flow("workmagic_enrich_orders_hourly", "enrich_orders"),
        Flow("workmagic_snowflake_hourly", "unload_hour", {"render_sql": True}),
        Flow("workmagic_bigquery_hourly", "export_hour", {"render_sql": True}),
    ]


def default_dags_folder() -> Path:
    """``./dags`` when run from a checkout's root, else the checkout this package lives in."""
    here = Path.cwd() / "dags"
    if (here / "workmagic_s3_sync_hourly.py").exists():
        return here
    return Path(__file__).resolve().parents[2] / "dags"


def _say(text: str) -> None:
    print(text, flush=True)


def run_demo(
    hours: int = 6,
    rows: int = 200,
    *,
    dags_folder: Path | None = None,
    workdir: Path | None = None,
    keep: bool = False,
    timeout: float = 240.0,
    now: datetime | None = None,
) -> int:
    """Run the demo; 0 when every run succeeded and every flow moved something."""
    from workmagic_sandbox.customer import CustomerStorage
    from workmagic_sandbox.demo_inputs import prepare
    from workmagic_sandbox.launcher import Sandbox
    from workmagic_sandbox.local_airflow import LocalAirflow
    from workmagic_sandbox.sheets import SheetsSandboxServer

    started = time.monotonic()
    _quiet_logging()
    folder = (dags_folder or default_dags_folder()).resolve()
    if not (folder / "workmagic_s3_sync_hourly.py").exists():
        _say(f"error: no example DAGs in {folder}; pass --dags-folder (a checkout's dags/)")
        return 2
    if hours < 1 or rows < 1:
        _say(f"error: --hours and --rows must be at least 1, got {hours} and {rows}")
        return 2
    if workdir is not None and Path(workdir).exists() and any(Path(workdir).iterdir()):
        _say(f"error: the work folder {workdir} is not empty; give a new or empty one")
        return 2
    window = last_complete_hours(hours, now)
    work = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="workmagic-demo-"))
    work.mkdir(parents=True, exist_ok=True)
    flows = demo_flows()
    problems: list[str] = []
    finished = False  # an exception keeps the work folder: its logs say what went wrong
    _say(
        f"WorkMagic provider demo: {len(flows)} example DAGs, backfill of {hours} hours "
        f"{window[0]:%Y-%m-%d %H:00} .. {window[-1] + timedelta(hours=1):%H:00} UTC"
    )
    _say(f"work folder: {work}")
    try:
        with (
            Sandbox(account_id=DEMO_ACCOUNT) as sandbox,
            CustomerStorage(sandbox) as customer,
            SheetsSandboxServer() as sheets,
        ):
            _say(
                f"sandbox: S3+STS {sandbox.s3_endpoint}, GCS {sandbox.gcs_endpoint}, "
                f"API {sandbox.api_endpoint}, Sheets {sheets.endpoint}, "
                f"customer S3 {customer.s3_endpoint}"
            )
            inputs = prepare(work, window, sandbox, customer, rows=rows)
            inputs.variable("workmagic_sheets_api_endpoint", sheets.endpoint)
            _say("inputs: " + ", ".join(f"{n} {what}" for what, n in inputs.written.items()))
            # one quick retry: a failing task shows in the table now, not after minutes of backoff
            airflow = LocalAirflow(work / "airflow", folder, inputs.env, quick_retries=True)
            _say(f"starting Airflow (api-server :{airflow.port}, dag-processor) ...")
            with airflow.start(components=("api-server", "dag-processor")):
                airflow.wait_for_dags(f.dag_id for f in flows)
                _say(f"Airflow is up and parsed {len(flows)} DAGs; creating backfills ...")
                for flow in flows:
                    created = airflow.create_backfill(
                        flow.dag_id,
                        _iso(window[0]),
                        _iso(window[-1]),
                        conf=flow.conf,
                    )
                    extra = f" conf {dict(flow.conf)}" if flow.conf else ""
                    _say(f"  backfill {created['id']}: {flow.dag_id}{extra}")
                _say("starting the scheduler ...")
                airflow.start_component("scheduler")
                runs = _wait(airflow, flows, len(window), timeout)
                lines = _lines(airflow, flows, runs)
                _say("")
                _say(render_table(lines))
                _print_rendered_sql(airflow, flows, runs)
                _print_landed(sandbox, sheets)
                problems = _problems(flows, lines, len(window))
                if not problems:
                    problems = _rerun(airflow, sandbox, flows, len(window), window, timeout)
                for problem in problems:
                    _say(f"PROBLEM: {problem}")
                for component in sorted(set(airflow.restarts)):
                    _say(
                        f"note: airflow {component} exited and was restarted "
                        f"{airflow.restarts.count(component)} time(s), as a supervisor would "
                        "(SQLite write races; --keep keeps its log)"
                    )
                for failure in _task_failures(work / "airflow" / "logs", flows, runs):
                    _say(f"  {failure}")
                if problems:
                    _say(f"task logs (kept): {work / 'airflow' / 'logs'}")
            _say("stopped Airflow and the sandbox")
        finished = True
    finally:
        if not keep and workdir is None and finished and not problems:
            shutil.rmtree(work, ignore_errors=True)
        elif not finished:
            _say(f"the work folder with every log is kept: {work}")
    elapsed = time.monotonic() - started
    if problems:
        _say(f"demo finished with {len(problems)} problem(s) in {elapsed:.0f} s")
        return 1
    _say(f"demo finished in {elapsed:.0f} s: every flow ran every hour")
    return 0


def _quiet_logging() -> None:
    """The demo prints its own lines; the sandbox servers' request logs would drown them."""
    import logging

    logging.getLogger().setLevel(logging.WARNING)
    for name in ("werkzeug", "botocore", "moto", "gcp_storage_emulator", "airflow"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _wait(airflow: Any, flows: list[Flow], hours: int, timeout: float) -> dict[str, Any]:
    expected = {f.dag_id: hours for f in flows}
    deadline = time.monotonic() + timeout
    last = ""
    while True:
        runs = airflow.wait_for_runs(expected, timeout=min(10.0, timeout))
        finished = sum(1 for rs in runs.values() for r in rs if r["state"] in ("success", "failed"))
        total = len(flows) * hours
        status = f"  runs finished: {finished}/{total}"
        if status != last:
            _say(status)
            last = status
        if finished >= total or time.monotonic() > deadline:
            return runs


def _lines(airflow: Any, flows: list[Flow], runs: Mapping[str, Any]) -> list[RunLine]:
    lines = []
    for flow in flows:
        for run in runs[flow.dag_id]:
            summary = airflow.xcom(flow.dag_id, run["dag_run_id"], flow.task_id)
            what = moved(summary) if summary else Moved(None, None, None, None, "", "no XCom")
            hour = str(run["data_interval_start"])[:16].replace("T", " ")
            lines.append(RunLine(flow.dag_id, hour, str(run["state"]), what))
    return lines


def _print_rendered_sql(airflow: Any, flows: list[Flow], runs: Mapping[str, Any]) -> None:
    """The statements the warehouse DAGs would submit for their first hour, verbatim."""
    for flow in flows:
        if not flow.conf.get("render_sql") or not runs[flow.dag_id]:
            continue
        run = runs[flow.dag_id][0]
        summary = airflow.xcom(flow.dag_id, run["dag_run_id"], flow.task_id) or {}
        _say(f"\n{flow.dag_id}, hour {run['data_interval_start']}: the SQL it would submit")
        from workmagic_provider.operators.warehouse import format_statement

        for statement in summary.get("statements", []):
            _say(format_statement(statement))


def _print_landed(sandbox: Any, sheets: Any) -> None:
    """Where the files landed: WorkMagic's folders in both buckets, and the sheet."""
    prefix = sandbox.account_prefix
    for scheme, names in (
        ("s3", sandbox.aws.list_keys(prefix)),
        ("gs", sandbox.gcs.list_names(prefix)),
    ):
        folders = sorted({name.rsplit("/", 2)[0] for name in names})
        _say(f"\n{scheme}://{sandbox.bucket}/{prefix}: {len(names)} objects in these folders")
        for folder in folders:
            count = sum(1 for name in names if name.startswith(folder + "/"))
            _say(f"  {scheme}://{sandbox.bucket}/{folder}/HH/  {count} objects")
    for sheet_id, sheet in sheets.sheets.items():
        rows = max(0, len(sheet.values) - 1)
        _say(f"sheet {sheet_id}: the first tab holds {rows} rows and the header")


#: the DAGs the demo backfills a second time, to show that a re-run changes nothing
RERUN_DAGS = ("workmagic_s3_sync_hourly", "workmagic_s3_upload_hourly")


def _s3_state(sandbox: Any) -> dict[str, tuple[str, str]]:
    """Key -> (ETag, LastModified) of every object in WorkMagic's S3 account folder."""
    client = sandbox.aws.admin_client()
    state = {}
    pages = client.get_paginator("list_objects_v2").paginate(
        Bucket=sandbox.bucket, Prefix=sandbox.account_prefix
    )
    for page in pages:
        for item in page.get("Contents", []):
            state[item["Key"]] = (item["ETag"], str(item["LastModified"]))
    return state


def _contents(state: dict[str, tuple[str, str]]) -> dict[str, list[str]]:
    """Per hour folder, the sorted ETags (the bytes) of its objects, whatever their names."""
    folders: dict[str, list[str]] = {}
    for key, (etag, _) in state.items():
        folders.setdefault(key.rsplit("/", 1)[0], []).append(etag)
    return {folder: sorted(etags) for folder, etags in folders.items()}


def _rerun(
    airflow: Any,
    sandbox: Any,
    flows: list[Flow],
    hours: int,
    window: list[datetime],
    timeout: float,
) -> list[str]:
    """Backfill the same hours again (reprocessing completed runs, as the UI offers) for the
    S3 sync and upload DAGs; WorkMagic's folder must end up with the same objects, and the sync
    must write nothing."""
    again = [f for f in flows if f.dag_id in RERUN_DAGS]
    before = _s3_state(sandbox)
    _say(f"\nbackfilling the same {hours} hours again (reprocess completed runs): "
         + ", ".join(f.dag_id for f in again))  # fmt: skip
    for flow in again:
        airflow.create_backfill(flow.dag_id, _iso(window[0]), _iso(window[-1]), conf=flow.conf)
    runs = _wait(airflow, again, hours, timeout)
    lines = _lines(airflow, again, runs)
    _say(render_table(lines))
    after = _s3_state(sandbox)
    rewritten = sorted(k for k in before.keys() & after.keys() if before[k] != after[k])
    renamed = len(after.keys() - before.keys())  # an upload re-run writes its own generation
    _say(
        f"WorkMagic's S3 folder: {len(before)} objects before, {len(after)} after; "
        f"{len(rewritten)} rewritten, {renamed} replaced by a new run's parts (same bytes: "
        f"{_contents(before) == _contents(after)}), {len(before.keys() - after.keys())} gone"
    )
    problems = _problems(again, lines, hours, require_moved=False)
    if _contents(after) != _contents(before):
        problems.append("the re-run changed what an hour folder holds (objects or their bytes)")
    for line in lines:
        if line.dag_id == "workmagic_s3_sync_hourly" and line.moved.bytes:
            problems.append(f"the sync re-run of {line.hour} wrote {line.moved.bytes} bytes")
    return problems


def _task_failures(logs: Path, flows: list[Flow], runs: Mapping[str, Any]) -> list[str]:
    """The exception of each failed run's task, from its log (JSON lines), with the log path."""
    import json

    found = []
    for flow in flows:
        for run in runs.get(flow.dag_id, []):
            if run["state"] != "failed":
                continue
            folder = logs / f"dag_id={flow.dag_id}" / f"run_id={run['dag_run_id']}"
            for log in sorted(folder.glob(f"task_id={flow.task_id}/attempt=*.log")):
                error = ""
                for line in log.read_text(errors="replace").splitlines():
                    if '"error_detail"' in line:
                        with contextlib.suppress(ValueError, KeyError, IndexError, TypeError):
                            detail = json.loads(line)["error_detail"][0]
                            error = f"{detail['exc_type']}: {detail['exc_value']}"
                found.append(f"{log}: {error or 'see the log'}")
    return found


def _problems(
    flows: list[Flow], lines: list[RunLine], hours: int, *, require_moved: bool = True
) -> list[str]:
    problems = []
    for flow in flows:
        mine = [line for line in lines if line.dag_id == flow.dag_id]
        if len(mine) < hours:
            problems.append(f"{flow.dag_id}: {len(mine)} of {hours} runs were created")
        for line in mine:
            if line.state != "success":
                problems.append(f"{flow.dag_id} {line.hour}: run {line.state}")
        if require_moved and not any(line.moved.moved_something for line in mine):
            problems.append(f"{flow.dag_id}: no run moved anything")
    return problems
