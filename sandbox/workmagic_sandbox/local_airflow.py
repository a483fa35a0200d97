"""A throwaway Airflow on SQLite: api-server, scheduler and dag-processor as real processes.

The demo runs the example DAGs the way a user's Airflow does: the dag-processor parses
``dags/``, a backfill is created through the public REST API (``POST /api/v2/backfills``, what
the UI's backfill button calls), the scheduler queues the runs and LocalExecutor workers run the
tasks against the execution API. Everything lives in one private ``AIRFLOW_HOME``; :meth:`stop`
ends every process group it started.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

COMPONENTS = ("api-server", "scheduler", "dag-processor")
#: SQLite connect arguments for every component (``[database] sql_alchemy_connect_args`` is an
#: import path): wait up to 30 s for a lock instead of pysqlite's 5 s before "database is locked".
SQLITE_CONNECT_ARGS: dict[str, Any] = {"timeout": 30}
#: A cluster policy (Airflow's own mechanism, ``$AIRFLOW_HOME/config/airflow_local_settings.py``)
#: that caps retries at one, a few seconds later: a failing task fails its run within seconds
#: instead of after minutes of backoff, and a passing hiccup (a locked SQLite) still recovers.
QUICK_RETRY_POLICY = """\"\"\"Written by workmagic-provider's LocalAirflow: one quick retry.\"\"\"
from datetime import timedelta


def task_policy(task):
    task.retries = min(task.retries or 0, 1)
    task.retry_delay = timedelta(seconds=3)
    task.retry_exponential_backoff = False
"""
FINISHED = ("success", "failed")


class LocalAirflowError(RuntimeError):
    """A component did not start or a REST call failed; names the log to read."""


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now (for servers that need their port before they start)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class LocalAirflow:
    """Airflow's components in a private home, with a small client of its REST API.

    :param home: the ``AIRFLOW_HOME`` (created; holds the SQLite DB and every log).
    :param dags_folder: the folder the dag-processor parses.
    :param env: extra environment of every component (connections, Variables, endpoints).
    :param parallelism: LocalExecutor workers (4 suits a 2-core machine).
    :param quick_retries: install a cluster policy that caps every task at one retry after 3 s.
    :param max_restarts: how often a component that exited is started again.
    """

    def __init__(
        self,
        home: Path,
        dags_folder: Path,
        env: Mapping[str, str] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        parallelism: int = 4,
        quick_retries: bool = False,
        max_restarts: int = 3,
    ) -> None:
        self.home = Path(home)
        self.dags_folder = Path(dags_folder)
        self.host = host
        self.port = port or free_port(host)
        self.parallelism = parallelism
        self.quick_retries = quick_retries
        self.extra_env = dict(env or {})
        self._jwt_secret = secrets.token_urlsafe(32)  # one for every component
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        #: components restarted after they exited, in order (see :meth:`_check_alive`)
        self.restarts: list[str] = []
        self.max_restarts = max_restarts
        #: tries of one GET that times out or loses its connection (other methods: one)
        self.get_attempts = 3
        self._token: str | None = None
        self._session: Any = None

    # -- environment ----------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def environment(self) -> dict[str, str]:
        """The environment of every component: a private, offline, backfill-only Airflow.

        Nothing of the caller's Airflow leaks in: no ``AIRFLOW__*`` settings, no
        ``AIRFLOW_CONFIG`` (it could name a production airflow.cfg and its metadata DB), no
        ``AIRFLOW_CONN_*`` / ``AIRFLOW_VAR_*``; only ``env`` given to the constructor.
        """
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_"))
            and k not in ("AIRFLOW_CONFIG", "AIRFLOW_HOME")
        }
        env.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW_CONFIG": str(self.home / "airflow.cfg"),
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.home / 'airflow.db'}",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS": (
                    "workmagic_sandbox.local_airflow.SQLITE_CONNECT_ARGS"
                ),
                "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                "AIRFLOW__CORE__PARALLELISM": str(self.parallelism),
                # runs come only from the backfill: no scheduled run of "now" slips in
                "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
                "AIRFLOW__API__HOST": self.host,
                "AIRFLOW__API__PORT": str(self.port),
                "AIRFLOW__API__WORKERS": "1",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base_url}/execution/",
                "AIRFLOW__API_AUTH__JWT_SECRET": self._jwt_secret,
                "AIRFLOW__SCHEDULER__STANDALONE_DAG_PROCESSOR": "True",
                "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            }
        )
        env.update(self.extra_env)
        return env

    def log_path(self, component: str) -> Path:
        return self.home / "components" / f"{component}.log"

    # -- lifecycle ------------------------------------------------------------------------
    def start(self, timeout: float = 120.0, components: Iterable[str] = COMPONENTS) -> LocalAirflow:
        """Migrate the DB, start ``components``, wait until the REST API and they are healthy.

        Without the scheduler nothing runs yet: backfills created then are queued, and
        :meth:`start_component` ("scheduler") starts working on them without racing their
        creation (on SQLite such a race can kill the scheduler).
        """
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "components").mkdir(parents=True, exist_ok=True)
        if self.quick_retries:
            (self.home / "config").mkdir(exist_ok=True)
            (self.home / "config" / "airflow_local_settings.py").write_text(QUICK_RETRY_POLICY)
        env = self.environment()
        airflow = [sys.executable, "-m", "airflow"]
        with self.log_path("db-migrate").open("wb") as log:
            try:
                migrate = subprocess.run(
                    [*airflow, "db", "migrate"],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    check=False,
                    timeout=timeout,
                )
            except subprocess.TimeoutExpired as err:
                raise LocalAirflowError(
                    f"airflow db migrate took over {timeout:.0f} s; see "
                    f"{self.log_path('db-migrate')}"
                ) from err
        if migrate.returncode != 0:
            raise LocalAirflowError(f"airflow db migrate failed; see {self.log_path('db-migrate')}")
        try:
            for component in components:
                self._spawn(component, env)
            self._wait_healthy(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def start_component(self, component: str, timeout: float = 120.0) -> None:
        """Start one more component (e.g. the scheduler after the backfills were created)."""
        if component not in self.processes:
            self._spawn(component, self.environment())
        self._wait_healthy(timeout)

    def _wait_healthy(self, timeout: float) -> None:
        """Wait until the metadata DB and every started job component report healthy."""
        jobs = {"scheduler": "scheduler", "dag-processor": "dag_processor"}
        parts = ["metadatabase", *(jobs[c] for c in self.processes if c in jobs)]
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                last = self.get("/api/v2/monitor/health")
                if all((last.get(part) or {}).get("status") == "healthy" for part in parts):
                    return
            except (OSError, LocalAirflowError) as err:
                last = err
            time.sleep(1.0)
        raise LocalAirflowError(
            f"Airflow was not healthy after {timeout:.0f} s (last answer: {last}); see the logs "
            f"in {self.home / 'components'}"
        )

    def _spawn(self, component: str, env: Mapping[str, str]) -> None:
        with self.log_path(component).open("ab") as log:  # the child keeps its own copy
            self.processes[component] = subprocess.Popen(
                [sys.executable, "-m", "airflow", component],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def _check_alive(self) -> None:
        """Restart a component that exited, as a process supervisor would, up to
        ``max_restarts`` times; then fail naming its log.

        On SQLite the scheduler can die of a write race (``StaleDataError`` while a backfill
        is being created); a restarted scheduler picks up where it stopped.
        """
        for component, process in list(self.processes.items()):
            if process.poll() is None:
                continue
            if self.restarts.count(component) >= self.max_restarts:
                raise LocalAirflowError(
                    f"airflow {component} exited with code {process.returncode} "
                    f"{self.restarts.count(component) + 1} times; see {self.log_path(component)}"
                )
            _signal_group(process.pid, signal.SIGKILL)  # its executor workers, serve-logs
            self.restarts.append(component)
            self._spawn(component, self.environment())

    def stop(self, grace: float = 15.0) -> None:
        """SIGTERM every component and every process below it, SIGKILL what is left.

        Task runners are not in their component's process group (the task supervisor gives
        each its own), so the descendants are collected first and signalled one by one.
        """
        import psutil

        family: list[psutil.Process] = self._holding_component_logs()
        for process in self.processes.values():
            with contextlib.suppress(psutil.Error):
                family.extend(psutil.Process(process.pid).children(recursive=True))
        components = {p.pid for p in self.processes.values()}
        family = list({p.pid: p for p in family if p.pid not in components}.values())
        for process in self.processes.values():
            if process.poll() is None:
                _signal_group(process.pid, signal.SIGTERM)
        for child in family:
            with contextlib.suppress(psutil.Error):
                child.terminate()
        deadline = time.monotonic() + grace
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(max(0.1, deadline - time.monotonic()))
            _signal_group(process.pid, signal.SIGKILL)  # also workers that outlived their parent
            process.wait()
        _, alive = psutil.wait_procs(family, timeout=max(0.1, deadline - time.monotonic()))
        for child in alive:
            with contextlib.suppress(psutil.Error):
                child.kill()
        psutil.wait_procs(alive, timeout=5)
        self.processes.clear()
        if self._session is not None:
            self._session.close()
            self._session = None

    def _holding_component_logs(self) -> list[Any]:
        """Processes writing to the components' logs: every process a component started
        inherits that stdout, so this also finds what a restarted component left behind."""
        import psutil

        folder = str((self.home / "components").resolve())
        found = []
        for proc in psutil.process_iter():
            with contextlib.suppress(psutil.Error):
                if proc.pid != os.getpid() and any(
                    f.path.startswith(folder) for f in proc.open_files()
                ):
                    found.append(proc)
        return found

    def __enter__(self) -> LocalAirflow:
        return self if self.processes else self.start()  # ``with airflow.start(...):`` works

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- REST API -------------------------------------------------------------------------
    def request(self, method: str, path: str, body: Any = None) -> Any:
        import requests

        if self._session is None:
            self._session = requests.Session()
        headers = {}
        if not path.startswith("/api/v2/monitor") and not path.startswith("/auth"):
            headers["Authorization"] = f"Bearer {self._bearer()}"
        # a GET only reads: on a loaded machine the api-server may not answer one in time, and
        # the demo's polling should ask again rather than abort every run
        attempts = self.get_attempts if method == "GET" else 1
        for attempt in range(1, attempts + 1):
            try:
                answer = self._session.request(
                    method, self.base_url + path, json=body, headers=headers, timeout=30
                )
                break
            except (requests.Timeout, requests.ConnectionError) as err:
                if attempt == attempts:
                    raise LocalAirflowError(f"{method} {path}: {err}") from err
            except requests.RequestException as err:
                raise LocalAirflowError(f"{method} {path}: {err}") from err
        if answer.status_code >= 400:
            raise LocalAirflowError(
                f"{method} {path} answered {answer.status_code}: {answer.text[:500]}"
            )
        return answer.json() if answer.content else None

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def _bearer(self) -> str:
        if self._token is None:
            # simple auth manager with all_admins: GET /auth/token issues an admin token
            self._token = str(self.request("GET", "/auth/token")["access_token"])
        return self._token

    def wait_for_dags(self, dag_ids: Iterable[str], timeout: float = 90.0) -> None:
        """Wait until the dag-processor has parsed every DAG; fail naming import errors."""
        wanted = set(dag_ids)
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive()
            found = {d["dag_id"] for d in self.get("/api/v2/dags?limit=100")["dags"]}
            errors = self.get("/api/v2/importErrors")["import_errors"]
            if errors:
                text = "; ".join(f"{e['filename']}: {e['stack_trace'][-300:]}" for e in errors)
                raise LocalAirflowError(f"DAG import errors: {text}")
            if wanted <= found:
                return
            if time.monotonic() > deadline:
                raise LocalAirflowError(
                    f"DAGs not parsed after {timeout:.0f} s: {sorted(wanted - found)}; see "
                    f"{self.log_path('dag-processor')}"
                )
            time.sleep(1.0)

    def create_backfill(
        self,
        dag_id: str,
        from_date: str,
        to_date: str,
        *,
        conf: Mapping[str, Any] | None = None,
        max_active_runs: int = 3,
        retry_for: float = 60.0,
    ) -> dict[str, Any]:
        """``POST /api/v2/backfills``: the request the UI's backfill dialog sends.

        On SQLite the API refuses (503 "Database is locked", or 500 "Database error" when
        the lock hits its audit-log write after the backfill was saved) while the scheduler
        writes, and a DAG's previous backfill counts as running (409) until the scheduler marks
        it complete a moment after its last run. The request is repeated for up to
        ``retry_for`` seconds, and a backfill of this DAG created since the first attempt is
        taken as this request's own, so a retry never backfills the range twice.
        """
        from datetime import datetime, timedelta, timezone

        body = {
            "dag_id": dag_id,
            "from_date": from_date,
            "to_date": to_date,
            "dag_run_conf": dict(conf or {}),
            "max_active_runs": max_active_runs,
            "reprocess_behavior": "completed",
        }
        since = datetime.now(timezone.utc) - timedelta(seconds=1)
        deadline = time.monotonic() + retry_for
        while True:
            try:
                return dict(self.request("POST", "/api/v2/backfills", body))
            except LocalAirflowError as err:
                text = str(err)
                retryable = any(
                    sign in text
                    for sign in (" 503:", "already a running backfill", "Database error")
                )
                if not retryable or time.monotonic() > deadline:
                    raise
            mine = self._backfill_created_since(dag_id, since)
            if mine is not None:
                return mine
            time.sleep(0.5)

    def _backfill_created_since(self, dag_id: str, since: Any) -> dict[str, Any] | None:
        from datetime import datetime

        with contextlib.suppress(LocalAirflowError):
            for backfill in self.get(f"/api/v2/backfills?dag_id={quote(dag_id)}")["backfills"]:
                created = datetime.fromisoformat(str(backfill["created_at"]).replace("Z", "+00:00"))
                if created >= since:
                    return dict(backfill)
        return None

    def dag_runs(self, dag_id: str) -> list[dict[str, Any]]:
        """Every run of the DAG, oldest interval first (the API pages by at most 100)."""
        runs: list[dict[str, Any]] = []
        while True:
            page = self.get(f"/api/v2/dags/{quote(dag_id)}/dagRuns?limit=100&offset={len(runs)}")
            runs.extend(page["dag_runs"])
            if not page["dag_runs"] or len(runs) >= int(page["total_entries"]):
                break
        return sorted(runs, key=lambda r: str(r["data_interval_start"]))

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        path = f"/api/v2/dags/{quote(dag_id)}/dagRuns/{quote(run_id, safe='')}/taskInstances"
        return list(self.get(path)["task_instances"])

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
        path = (
            f"/api/v2/dags/{quote(dag_id)}/dagRuns/{quote(run_id, safe='')}/taskInstances/"
            f"{quote(task_id)}/xcomEntries/{quote(key)}?deserialize=true"
        )
        try:
            return self.get(path).get("value")
        except LocalAirflowError as err:
            if " 404:" in str(err):
                return None
            raise

    def wait_for_runs(
        self, expected: Mapping[str, int], timeout: float, poll: float = 2.0
    ) -> dict[str, list[dict[str, Any]]]:
        """Wait until each DAG has ``expected[dag_id]`` runs, all finished (or the deadline)."""
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive()
            runs = {dag_id: self.dag_runs(dag_id) for dag_id in expected}
            done = all(
                len(runs[d]) >= n and all(r["state"] in FINISHED for r in runs[d])
                for d, n in expected.items()
            )
            if done or time.monotonic() > deadline:
                return runs
            time.sleep(poll)


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)
