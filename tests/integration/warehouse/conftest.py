"""Stand-ins for the warehouses, as close to the real thing as runs here.

* ``fake_snowflake``: the real ``SnowflakeHook`` over ``fakesnow`` (DuckDB). Every statement the
  hook sends is recorded. fakesnow runs the SELECTs (the sample validation and the unload's
  inner query) for real; the statements it cannot run (``COPY INTO <location>``, ``LIST`` /
  ``REMOVE`` on an external stage, ``CREATE TEMPORARY STAGE``) are answered here the way
  Snowflake answers them, acting on the sandbox's S3 bucket (moto): the unload's inner SELECT
  is run on fakesnow and its rows written as gzip JSON files named as Snowflake names them,
  and the result rows are Snowflake's ``DETAILED_OUTPUT`` shape.
* ``fake_bigquery``: a loopback HTTP server speaking the BigQuery REST API the real
  ``google-cloud-bigquery`` client (through ``BigQueryHook``) uses. It records each
  ``jobs.insert``, answers a repeated job id with 409 Already Exists (so a retry must
  reattach), runs an ``EXPORT DATA`` by writing shards into the sandbox's GCS emulator, and
  answers sample queries with rows a test provides.
"""

from __future__ import annotations

import gzip
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import pytest

SNOWFLAKE_CONN = {
    "conn_type": "snowflake",
    "login": "airflow",
    "password": "not-a-secret",
    "schema": "PUBLIC",
    "extra": {"account": "test-account", "database": "SALES", "warehouse": "WH", "role": "R"},
}
GCP_PROJECT_ENV = "test-project"
STAGING_BUCKET = "customer-staging"

_COPY_RE = re.compile(
    r"^COPY INTO '(s3://([^/']+)/([^']+))' FROM \((.*)\) STORAGE_INTEGRATION", re.S
)
_ALTER_TZ_RE = re.compile(r"^ALTER SESSION SET TIMEZONE = '([^']+)'$")
_STAGE_RE = re.compile(r"^(LIST|REMOVE) @(\S+?)/(\S*) PATTERN = '(.*)'$", re.S)


# --------------------------------------------------------------------------- Snowflake
@dataclass
class FakeSnowflake:
    """Records what the hook sent; plays Snowflake for the statements fakesnow cannot run."""

    s3: Any  # boto3 client of the sandbox (admin)
    bucket: str
    account_prefix: str
    statements: list[str] = field(default_factory=list)
    rows_per_file: int = 1000
    stages: dict[str, str] = field(default_factory=dict)
    stage_urls: dict[str, str] = field(default_factory=dict)
    #: (connection number, session TIMEZONE, statement) of every statement, in order
    sessions: list[tuple[int, str, str]] = field(default_factory=list)
    #: the zone a new session starts in (an account whose default is not UTC)
    account_time_zone: str = "America/Los_Angeles"
    #: statements refused as a role without the right would be: prefix -> error message
    refuse: dict[str, str] = field(default_factory=dict)
    connections: int = 0

    def unloads(self) -> list[str]:
        return [s for s in self.statements if s.startswith("COPY INTO")]

    # called by the cursor proxy; returns (description, rows) or None to let fakesnow run it
    def answer(
        self, sql: str, fake_cursor: Any, session: _Connection | None = None
    ) -> tuple[list[str], list[tuple]] | None:
        import snowflake.connector

        text = sql.strip()
        for prefix, message in self.refuse.items():
            if text.startswith(prefix):
                raise snowflake.connector.errors.ProgrammingError(msg=message, errno=91002)
        match = _ALTER_TZ_RE.match(text)
        if match and session is not None:  # fakesnow has no ALTER SESSION: DuckDB's own SET
            session.set_time_zone(match.group(1))
            return ["status"], [("Statement executed successfully.",)]
        match = _COPY_RE.match(text)
        if match:
            return self._unload(match, fake_cursor)
        if text.startswith("CREATE TEMPORARY STAGE"):
            return ["status"], [("Stage area WORKMAGIC_TMP_STAGE successfully created.",)]
        match = _STAGE_RE.match(text)
        if match:
            return self._stage(match)
        return None

    def _unload(self, match: re.Match[str], fake_cursor: Any) -> tuple[list[str], list[tuple]]:
        _uri, bucket, key_prefix, inner = match.groups()
        assert bucket == self.bucket
        fake_cursor.execute(inner)  # the unload's SELECT, run for real on fakesnow
        rows = [
            next(iter(r.values())) if isinstance(r, dict) else r[0] for r in fake_cursor.fetchall()
        ]
        folder, prefix = key_prefix.rsplit("/", 1)
        out = []
        for index in range(0, len(rows), self.rows_per_file):
            chunk = rows[index : index + self.rows_per_file]
            body = gzip.compress("".join(r + "\n" for r in chunk).encode(), mtime=0)
            name = f"{prefix}_0_0_{index // self.rows_per_file}.json.gz"
            self.s3.put_object(Bucket=self.bucket, Key=f"{folder}/{name}", Body=body)
            out.append((name, len(body), len(chunk)))
        if not out:  # Snowflake's answer to an unload of no rows
            return ["rows_unloaded", "input_bytes", "output_bytes"], [(0, 0, 0)]
        return ["FILE_NAME", "FILE_SIZE", "ROW_COUNT"], out

    def _stage(self, match: re.Match[str]) -> tuple[list[str], list[tuple]]:
        verb, _stage, path, pattern = match.groups()
        regex = re.compile(pattern.replace("\\\\", "\\"))
        prefix = self.account_prefix + path
        listing = self.s3.list_objects_v2(Bucket=self.bucket, Prefix=prefix).get("Contents", [])
        hits = [o for o in listing if regex.fullmatch(f"s3://{self.bucket}/{o['Key']}")]
        if verb == "LIST":
            return ["name", "size", "md5", "last_modified"], [
                (f"s3://{self.bucket}/{o['Key']}", o["Size"], o["ETag"].strip('"'), "")
                for o in hits
            ]
        for o in hits:
            self.s3.delete_object(Bucket=self.bucket, Key=o["Key"])
        return ["name", "result"], [(f"s3://{self.bucket}/{o['Key']}", "removed") for o in hits]


class _Cursor:
    """Proxy of a fakesnow cursor: records, and answers what fakesnow cannot run."""

    def __init__(
        self, owner: FakeSnowflake, real: Any, dictionaries: bool, session: _Connection
    ) -> None:
        self._owner, self._real, self._dicts = owner, real, dictionaries
        self._session = session
        self._canned: tuple[list[str], list[tuple]] | None = None

    def execute(self, command: str, params: Any = None, **kwargs: Any) -> Any:
        self._owner.statements.append(command)
        self._owner.sessions.append((self._session.number, self._session.time_zone, command))
        self._canned = self._owner.answer(command, self._real, self._session)
        if self._canned is None:
            self._real.execute(command, params)
        return self

    @property
    def description(self) -> Any:
        if self._canned is not None:
            return [(name, 2, None, None, None, None, True) for name in self._canned[0]]
        return self._real.description

    def fetchall(self) -> list[Any]:
        if self._canned is not None:
            names, rows = self._canned
            return [dict(zip(names, r, strict=True)) for r in rows] if self._dicts else rows
        return self._real.fetchall()  # type: ignore[no-any-return]

    @property
    def sfqid(self) -> str:
        return "fake-query-id"

    def close(self) -> None:
        self._real.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


class _Connection:
    """A session: its own number and TIMEZONE, which DuckDB's ``TimeZone`` setting follows."""

    def __init__(self, owner: FakeSnowflake, real: Any) -> None:
        self._owner, self._real = owner, real
        owner.connections += 1
        self.number = owner.connections
        self.time_zone = "UTC"
        self.set_time_zone(owner.account_time_zone)

    def set_time_zone(self, zone: str) -> None:
        self._real._duck_conn.execute(f"SET TimeZone = '{zone}'")
        self.time_zone = zone

    def cursor(self, cursor_class: Any = None) -> _Cursor:
        dictionaries = cursor_class is not None
        real = self._real.cursor(cursor_class) if cursor_class else self._real.cursor()
        return _Cursor(self._owner, real, dictionaries, self)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


@pytest.fixture
def fake_snowflake(
    clean_sandbox: Any, airflow_connections: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeSnowflake]:
    """``snowflake_default`` -> fakesnow (with the recording proxy) and the sandbox's S3."""
    import fakesnow
    import snowflake.connector

    monkeypatch.setenv("AIRFLOW_CONN_SNOWFLAKE_DEFAULT", json.dumps(SNOWFLAKE_CONN))
    fake = FakeSnowflake(
        clean_sandbox.aws.admin_client(), clean_sandbox.bucket, clean_sandbox.account_prefix
    )
    with fakesnow.patch():
        fake_connect = snowflake.connector.connect

        def connect(**kwargs: Any) -> _Connection:
            kwargs.setdefault("database", "SALES")
            kwargs.setdefault("schema", "PUBLIC")
            return _Connection(fake, fake_connect(**kwargs))

        snowflake.connector.connect = connect  # undone before fakesnow restores the original
        try:
            yield fake
        finally:
            snowflake.connector.connect = fake_connect


# --------------------------------------------------------------------------- BigQuery
@dataclass
class FakeBigQuery:
    """The BigQuery REST API on loopback: jobs.insert / jobs.get / getQueryResults."""

    gcs_bucket: Callable[[], Any]
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    inserts: list[dict[str, Any]] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    #: rows the sample query returns: column name -> (BigQuery type, values per row)
    sample_rows: list[dict[str, Any]] = field(default_factory=list)
    #: gzip JSON-lines shard payloads an EXPORT DATA writes (list of lists of row dicts)
    export_shards: Callable[[str], list[bytes]] = lambda uri: []
    #: state a new export job reports on its first jobs.get ("DONE" or "RUNNING")
    initial_state: str = "DONE"
    #: what the whole-window check query counts: alias ("c0", ...) -> count; rows in the window
    check_counts: dict[str, int] = field(default_factory=dict)
    check_rows: int = 1
    #: the location jobs.get of a dataset reports
    dataset_location: str = "EU"
    dataset_gets: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def check_queries(self) -> list[dict[str, Any]]:
        return [
            j for j in self.inserts if "AS workmagic_rows" in j["configuration"]["query"]["query"]
        ]

    def export_inserts(self) -> list[dict[str, Any]]:
        return [j for j in self.inserts if "EXPORT DATA" in j["configuration"]["query"]["query"]]

    # -- HTTP handlers ----------------------------------------------------------------------
    def handle(self, request: Any) -> Any:
        from werkzeug import Response

        path = request.path
        with self.lock:
            if request.method == "POST" and re.fullmatch(r"/bigquery/v2/projects/[^/]+/jobs", path):
                return self._insert(json.loads(request.data), Response)
            match = re.fullmatch(r"/bigquery/v2/projects/[^/]+/datasets/([^/]+)", path)
            if match and request.method == "GET":
                self.dataset_gets.append(match.group(1))
                ref = {"projectId": path.split("/")[4], "datasetId": match.group(1)}
                body = {"kind": "bigquery#dataset", "datasetReference": ref,
                        "location": self.dataset_location}  # fmt: skip
                return _json(Response, body)
            match = re.fullmatch(r"/bigquery/v2/projects/[^/]+/(jobs|queries)/([^/]+)", path)
            if match and request.method == "GET":
                job = self.jobs.get(match.group(2))
                if job is None:
                    return _json(Response, {"error": {"code": 404, "message": "Not found"}}, 404)
                if match.group(1) == "jobs":
                    return _json(Response, self._advance(job))
                return _json(Response, self._results(job))
        return _json(Response, {"error": {"code": 400, "message": f"unexpected {path}"}}, 400)

    def _insert(self, body: dict[str, Any], response: Any) -> Any:
        ref = body["jobReference"]
        job_id = ref["jobId"]
        if job_id in self.jobs:
            self.conflicts.append(job_id)
            message = f"Already Exists: Job {ref['projectId']}:{ref.get('location')}.{job_id}"
            error = {"code": 409, "message": message, "status": "ALREADY_EXISTS"}
            return _json(response, {"error": error}, 409)
        self.inserts.append(body)
        query = body["configuration"]["query"]["query"]
        export = query.startswith("EXPORT DATA")
        created = int(time.time() * 1000)  # before any file the export writes
        job = {
            "kind": "bigquery#job",
            "id": f"{ref['projectId']}:{ref.get('location')}.{job_id}",
            "jobReference": {**ref, "location": ref.get("location") or "US"},
            "configuration": body["configuration"],
            "status": {"state": self.initial_state if export else "DONE"},
            "statistics": {
                "creationTime": str(created),
                "startTime": str(created),
                "query": {"totalBytesBilled": str(10 * 1024**2)},  # BigQuery's minimum per query
            },
        }
        self.jobs[job_id] = job
        if export:
            self._export(job)
        return _json(response, job)

    def _export(self, job: dict[str, Any]) -> None:
        uri = re.search(r"uri = '([^']+)'", job["configuration"]["query"]["query"]).group(1)  # type: ignore[union-attr]
        bucket_name, pattern = uri[len("gs://") :].split("/", 1)
        bucket = self.gcs_bucket().client.bucket(bucket_name)
        shards = self.export_shards(uri)
        rows = 0
        for index, data in enumerate(shards):
            blob = bucket.blob(pattern.replace("*", f"{index:012d}"))
            blob.upload_from_string(data)
            rows += len(gzip.decompress(data).splitlines())
        job["statistics"]["query"]["exportDataStatistics"] = {
            "fileCount": str(len(shards)),
            "rowCount": str(rows),
        }

    def _advance(self, job: dict[str, Any]) -> dict[str, Any]:
        if job["status"]["state"] != "DONE":
            job["status"]["state"] = "DONE"  # the next poll finds it done
            return {**job, "status": {"state": "RUNNING"}}
        return job

    def _results(self, job: dict[str, Any]) -> dict[str, Any]:
        query = job["configuration"]["query"]["query"]
        result: dict[str, Any] = {
            "kind": "bigquery#getQueryResultsResponse",
            "jobReference": job["jobReference"],
            "jobComplete": job["status"]["state"] == "DONE",
            "totalRows": "0",
        }
        aliases = re.findall(r" AS (workmagic_rows|c\d+)\b", query)
        if aliases:  # the whole-window check query: one row of counts
            values = [self.check_rows if a == "workmagic_rows" else self.check_counts.get(a, 0)
                      for a in aliases]  # fmt: skip
            result["schema"] = {"fields": [{"name": a, "type": "INT64"} for a in aliases]}
            result["rows"] = [{"f": [{"v": str(v)} for v in values]}]
            result["totalRows"] = "1"
        elif not query.startswith("EXPORT DATA") and self.sample_rows:
            names = list(self.sample_rows[0])
            result["schema"] = {
                "fields": [{"name": n, "type": _bq_type(self.sample_rows[0][n])} for n in names]
            }
            result["rows"] = [
                {"f": [{"v": None if r.get(n) is None else _bq_value(r[n])} for n in names]}
                for r in self.sample_rows
            ]
            result["totalRows"] = str(len(self.sample_rows))
        return result


def _bq_type(value: Any) -> str:
    if isinstance(value, datetime):
        return "TIMESTAMP"
    if isinstance(value, bool):
        return "BOOL"
    if isinstance(value, int):
        return "INT64"
    if isinstance(value, float):
        return "FLOAT64"
    return "STRING"


def _bq_value(value: Any) -> str:
    if isinstance(value, datetime):
        return str(int(value.astimezone(timezone.utc).timestamp() * 1_000_000))
    return str(value)


def _json(response: Any, body: dict[str, Any], status: int = 200) -> Any:
    return response(json.dumps(body), status=status, content_type="application/json")


@pytest.fixture
def fake_bigquery(
    clean_sandbox: Any, airflow_connections: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeBigQuery]:
    """BIGQUERY_EMULATOR_HOST -> the loopback fake; the workmagic connection on GCS."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage
    from pytest_httpserver import HTTPServer

    airflow_connections(cloud="gcs")

    def bucket() -> Any:
        client = storage.Client(
            project=clean_sandbox.gcp_project,
            credentials=AnonymousCredentials(),
            client_options={"api_endpoint": clean_sandbox.gcs_endpoint},
        )
        return client.bucket(clean_sandbox.bucket)

    staging = bucket().client.bucket(STAGING_BUCKET)
    if not staging.exists():
        staging.create()
    fake = FakeBigQuery(bucket)
    server = HTTPServer(host="127.0.0.1", port=0)
    server.expect_request(re.compile(r"/bigquery/v2/.*")).respond_with_handler(fake.handle)
    server.start()
    monkeypatch.setenv("BIGQUERY_EMULATOR_HOST", f"http://127.0.0.1:{server.port}")
    try:
        yield fake
    finally:
        server.clear()
        if server.is_running():
            server.stop()
