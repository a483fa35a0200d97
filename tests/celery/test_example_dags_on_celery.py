"""Every example DAG on CeleryExecutor + PostgreSQL + Redis, wired as docker-compose.yaml wires it.

What ``docker compose --profile sandbox up`` runs, without Docker: each Airflow component is
its own process with the command of its compose service (api-server, scheduler, dag-processor,
triggerer, and a Celery worker in its own working and temporary folders; the worker and the
triggerer with ``--skip-serve-logs``, as the log server would bind every interface), the
metadata DB and Celery result backend on PostgreSQL, the broker on Redis, and the sandbox
service's own command (its servers, the seeded customer bucket and shop database). The
connections and Variables are the compose file's common environment with its hostnames pointed
at those loopback servers. One hour of each DAG is backfilled through the REST API (the params
the compose file's header names: the imported channel's connection, ``render_sql`` for the two
warehouses) and must succeed, and WorkMagic's folders must then hold that hour, valid.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

import compose_env
import pytest
import servers

# The one place the sandbox is imported from (the workmagic_sandbox distribution):
# its launcher, and the REST client and process supervision of its local Airflow.
from workmagic_sandbox import serve as sandbox_serve
from workmagic_sandbox.local_airflow import LocalAirflow, LocalAirflowError
from workmagic_sandbox.sample_data import last_complete_hours

pytestmark = [pytest.mark.celery, pytest.mark.timeout(900)]

ACCOUNT = "121226"
#: DAG id -> (its delivering task, the params a compose user sets when triggering it)
FLOWS: dict[str, tuple[str, dict[str, Any]]] = {
    "workmagic_s3_sync_hourly": ("sync_hour", {}),
    "workmagic_gcs_sync_hourly": ("sync_hour", {}),
    "workmagic_s3_upload_hourly": ("upload_hour", {}),
    "workmagic_file_import": ("import_files", {"workmagic_conn_id": "workmagic_imported"}),
    "workmagic_imported_sheet": ("refresh_sheet", {}),
    "workmagic_enrich_orders_hourly": ("enrich_orders", {}),
    "workmagic_snowflake_hourly": ("unload_hour", {"render_sql": True}),
    "workmagic_bigquery_hourly": ("export_hour", {"render_sql": True}),
}
#: hours the sandbox seeds here (compose seeds 24; the run needs its hour and the one before)
SEED_HOURS = 2
WORKER = "celery-worker"
HARD_LIMIT = 1_500_000


class CeleryAirflow(LocalAirflow):
    """:class:`LocalAirflow` with the compose services' commands, each its own process; the
    Celery worker works in its own folders (nothing shared with the scheduler but the DB, the
    broker, the mounted DAGs and the task-log folder compose mounts in every container)."""

    def __init__(self, *args: Any, commands: Mapping[str, list[str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands = dict(commands)

    def environment(self) -> dict[str, str]:
        env = super().environment()
        env.pop("AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS")  # SQLite's, not psycopg2's
        env["AIRFLOW__CELERY__WORKER_CONCURRENCY"] = "4"  # compose's default 16 on 2 cores
        return env

    def request(self, method: str, path: str, body: Any = None) -> Any:
        """Reads are asked again after a timeout: on a loaded 2-core machine the single
        api-server worker can take longer than the client's 30 s to answer a poll."""
        for attempt in range(4):
            try:
                return super().request(method, path, body)
            except LocalAirflowError as err:
                if method != "GET" or "timed out" not in str(err) or attempt == 3:
                    raise
        raise AssertionError("unreachable")

    def _spawn(self, component: str, env: Mapping[str, str]) -> None:
        cwd, env = None, dict(env)
        if component == WORKER:
            cwd = self.home.parent / "worker"
            (cwd / "tmp").mkdir(parents=True, exist_ok=True)
            env["TMPDIR"] = str(cwd / "tmp")
        with self.log_path(component).open("ab") as log:
            self.processes[component] = subprocess.Popen(
                [sys.executable, "-m", "airflow", *self.commands[component]],
                env=env,
                cwd=cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )


def service_commands(compose: Mapping[str, Any]) -> dict[str, list[str]]:
    """Component -> its compose service's command, plus ``--skip-serve-logs`` where it serves."""
    services = compose["services"]
    commands = {
        "api-server": services["airflow-apiserver"]["command"].split(),
        "scheduler": services["airflow-scheduler"]["command"].split(),
        "dag-processor": services["airflow-dag-processor"]["command"].split(),
        "triggerer": [*services["airflow-triggerer"]["command"].split(), "--skip-serve-logs"],
        WORKER: [*services["airflow-worker"]["command"].split(), "--skip-serve-logs"],
    }
    assert commands[WORKER][:2] == ["celery", "worker"], commands[WORKER]
    return commands


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """PostgreSQL, Redis, the sandbox and Airflow's five components, wired by the compose file."""
    compose = compose_env.load()
    work = tmp_path_factory.mktemp("celery")
    hour = last_complete_hours(1)[0]  # before seeding: the seeded window then holds it
    with servers.postgres() as pg_port, servers.redis() as redis_port:
        sandbox_ports = {name: servers.free_port() for name in compose_env.sandbox_ports(compose)}
        airflow = CeleryAirflow(
            work / "airflow",
            compose_env.REPO_ROOT / "dags",
            commands=service_commands(compose),
            quick_retries=True,
        )
        loopback = {("postgres", 5432): pg_port, ("redis", 6379): redis_port}
        loopback[("airflow-apiserver", 8080)] = airflow.port
        for name, port in compose_env.sandbox_ports(compose).items():
            loopback[(compose_env.SANDBOX, port)] = sandbox_ports[name]
        rewriter = compose_env.Rewriter(loopback, airflow.home)
        airflow.extra_env = compose_env.airflow_environment(compose, rewriter)
        options = compose_env.sandbox_command(compose)
        with sandbox_serve.running(
            host="127.0.0.1",
            s3_port=sandbox_ports["s3"],
            gcs_port=sandbox_ports["gcs"],
            api_port=sandbox_ports["api"],
            sheets_port=sandbox_ports["sheets"],
            source_bucket=options["source_bucket"],
            seed_hours=min(int(options["seed_hours"]), SEED_HOURS),
            orders_db=rewriter.text(options["orders_db"]),
        ) as served:
            (airflow.home / "config").mkdir(parents=True, exist_ok=True)
            components = ("api-server", "dag-processor", "triggerer", WORKER)
            with airflow.start(timeout=240, components=components):
                yield {"airflow": airflow, "served": served, "hour": hour, "env": airflow.extra_env}


@pytest.fixture(scope="module")
def runs(stack: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """One backfilled hour of every example DAG, finished: DAG id -> its run."""
    airflow: CeleryAirflow = stack["airflow"]
    hour: datetime = stack["hour"]
    airflow.wait_for_dags(FLOWS, timeout=180)
    stamp = hour.strftime("%Y-%m-%dT%H:%M:%SZ")
    for dag_id, (_, conf) in FLOWS.items():
        airflow.request("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})
        airflow.create_backfill(dag_id, stamp, stamp, conf=conf)
    airflow.start_component("scheduler", timeout=180)
    found = airflow.wait_for_runs(dict.fromkeys(FLOWS, 1), timeout=480)
    return {dag_id: found[dag_id][0] if found[dag_id] else {} for dag_id in FLOWS}


def failed_task_logs(airflow: CeleryAirflow, dag_id: str, run: Mapping[str, Any]) -> str:
    folder = airflow.home / "logs" / f"dag_id={dag_id}" / f"run_id={run.get('dag_run_id')}"
    return "\n".join(
        f"--- {log}\n{log.read_text(errors='replace')[-3000:]}" for log in folder.rglob("*.log")
    )


def test_every_example_dag_succeeds_for_its_hour(
    stack: dict[str, Any], runs: dict[str, dict[str, Any]]
) -> None:
    airflow, hour = stack["airflow"], stack["hour"]
    for dag_id, run in runs.items():
        assert run.get("state") == "success", (
            f"{dag_id}: run {run.get('state')}\n{failed_task_logs(airflow, dag_id, run)}"
        )
        start = datetime.fromisoformat(str(run["data_interval_start"]).replace("Z", "+00:00"))
        assert start == hour, (dag_id, start)
    assert not airflow.restarts, f"components exited: {airflow.restarts}"


def folder_of(category: str, hour: datetime) -> str:
    return f"account-{ACCOUNT}/{category}/{hour:%Y/%m/%d/%H}/"


def readable_rows(name: str, body: bytes, schema: str) -> list[dict[str, Any]]:
    """The rows of one delivered object, asserted readable by WorkMagic and valid."""
    from workmagic_provider.schemas import ValidationReport, validate_json_lines

    assert name.endswith(".json.gz"), name
    assert len(body) < HARD_LIMIT, (name, len(body))
    lines = gzip.decompress(body).decode().splitlines()
    report = ValidationReport(schema)
    valid = list(validate_json_lines(enumerate(lines, 1), schema, report=report))
    assert not report.errors, (name, report.errors[:3])
    assert len(valid) == len(lines) > 0, name
    return [json.loads(line) for line in lines]


def assert_each_key_once(rows: list[dict[str, Any]], fields: tuple[str, ...], what: str) -> None:
    keys = Counter(tuple(row[f] for f in fields) for row in rows)
    repeated = [key for key, n in keys.items() if n > 1]
    assert not repeated, f"{what}: keys delivered more than once: {repeated[:3]}"


def s3_objects(served: Any, prefix: str, bucket: str | None = None) -> dict[str, bytes]:
    client, bucket = served.sandbox.aws.admin_client(), bucket or served.sandbox.bucket
    listed = client.list_objects_v2(Bucket=bucket, Prefix=prefix)
    return {
        item["Key"]: client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
        for item in listed.get("Contents", [])
    }


def test_hour_folders_hold_valid_output_of_each_flow(
    stack: dict[str, Any], runs: dict[str, dict[str, Any]]
) -> None:
    from workmagic_provider.schemas import IMPORTED_PRIMARY_KEY

    served, hour = stack["served"], stack["hour"]
    stamp = f"{hour:%Y-%m-%d-%H}"
    orders = s3_objects(served, folder_of("order-geo-date-data", hour))
    synced = {k: v for k, v in orders.items() if k.rsplit("/", 1)[1].startswith("orders-")}
    uploaded = {k: v for k, v in orders.items() if f"{stamp}-upload-" in k}
    assert synced and uploaded, sorted(orders)
    assert set(orders) == set(synced) | set(uploaded), sorted(orders)
    for flow in (synced, uploaded):
        rows = [r for key, body in flow.items() for r in readable_rows(key, body, "custom-site")]
        assert_each_key_once(rows, ("id",), "S3 order-geo-date-data")

    gcs = served.sandbox.gcs.client().bucket(served.sandbox.bucket)
    blobs = list(gcs.list_blobs(prefix=folder_of("order-geo-date-data", hour)))
    assert blobs, "the GCS sync delivered nothing"
    rows = [r for b in blobs for r in readable_rows(b.name, b.download_as_bytes(), "custom-site")]
    assert_each_key_once(rows, ("id",), "GCS order-geo-date-data")

    imported = s3_objects(served, folder_of("imported-walmart", hour))
    assert imported and all(f"{stamp}-files-" in key for key in imported), sorted(imported)
    rows = [r for key, body in imported.items() for r in readable_rows(key, body, "imported")]
    assert_each_key_once(rows, IMPORTED_PRIMARY_KEY, "imported-walmart")


def test_sheet_enrich_and_warehouse_runs_delivered_their_hour(
    stack: dict[str, Any], runs: dict[str, dict[str, Any]]
) -> None:
    served, hour, env = stack["served"], stack["hour"], stack["env"]
    sheet = served.sheets.sheets[env["AIRFLOW_VAR_WORKMAGIC_SHEET_ID"]]
    source_bucket = env["AIRFLOW_VAR_WORKMAGIC_SOURCE_BUCKET"]
    sales = s3_objects(served, f"sales/{hour:%Y-%m-%d}.csv", source_bucket)
    [day_file] = [body.decode().splitlines() for body in sales.values()]
    assert len(sheet.values) == len(day_file) > 1, (sheet.values[:2], day_file[:2])

    # the Enrich window is [hour - 1 h, hour + 1 h): both seeded hours' orders, each sent once
    window = {f"ord_{h:%Y%m%d%H}_" for h in (hour - timedelta(hours=1), hour)}
    counts = served.sandbox.api.delivery_counts("enrich")
    sent = {order for order in counts if order[:15] in window}
    assert sent and all(counts[order] == 1 for order in sent), counts
    assert set(served.sandbox.api.enriched()) >= sent

    airflow = stack["airflow"]
    folder = folder_of("order-geo-date-data", hour)
    for dag_id in ("workmagic_snowflake_hourly", "workmagic_bigquery_hourly"):
        task_id = FLOWS[dag_id][0]
        summary = airflow.xcom(dag_id, runs[dag_id]["dag_run_id"], task_id) or {}
        # render_sql: the statements of this hour, for this hour's folder, nothing submitted
        assert summary.get("mode") == "render_only", (dag_id, summary)
        assert str(summary.get("destination", "")).endswith(f"/{folder}"), (dag_id, summary)
        assert all(s.get("sql") for s in summary.get("statements") or [{}]), (dag_id, summary)


def test_the_celery_worker_ran_the_tasks(
    stack: dict[str, Any], runs: dict[str, dict[str, Any]]
) -> None:
    """The tasks went through the broker to the worker, not to an executor in the scheduler."""
    log = stack["airflow"].log_path(WORKER).read_text(errors="replace")
    received = log.count("execute_workload")
    assert received >= 2 * len(FLOWS), log[-2000:]  # each DAG: its task and the check
