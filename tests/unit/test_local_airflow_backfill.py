"""LocalAirflow's REST calls against loopback stand-ins of Airflow's API.

SQLite can fail the request after the backfill was saved (the audit-log write hits the lock):
the retry must take that backfill as its own instead of creating a second one.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from werkzeug import Request, Response

from workmagic_sandbox.local_airflow import LocalAirflow, LocalAirflowError


class FlakyBackfillApi:
    """Saves the backfill, then answers 500 "Database error" (once); lists what it saved."""

    def __init__(self, first_answer: int) -> None:
        self.first_answer = first_answer
        self.saved: list[dict[str, Any]] = []
        self.posts = 0

    def __call__(self, request: Request) -> Response:
        if request.path == "/auth/token":
            return Response(json.dumps({"access_token": "t"}), content_type="application/json")
        if request.method == "POST":
            self.posts += 1
            if self.saved:
                body = {"detail": "There is already a running backfill for dag d"}
                return Response(json.dumps(body), status=409, content_type="application/json")
            now = datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")
            self.saved.append({"id": 7, "dag_id": "d", "created_at": now})
            if self.first_answer == 500:
                body = {"detail": {"reason": "Database error", "statement": "hidden"}}
                return Response(json.dumps(body), status=500, content_type="application/json")
            return Response(json.dumps(self.saved[0]), content_type="application/json")
        backfills = {"backfills": self.saved, "total_entries": len(self.saved)}
        return Response(json.dumps(backfills), content_type="application/json")


def _airflow(httpserver: Any, api: FlakyBackfillApi, tmp_path: Any) -> LocalAirflow:
    from pytest_httpserver import URIPattern

    class Everything(URIPattern):
        def match(self, uri: str) -> bool:
            return True

    httpserver.expect_request(Everything()).respond_with_handler(api)
    return LocalAirflow(tmp_path, tmp_path, host=httpserver.host, port=httpserver.port)


def test_a_backfill_saved_before_a_database_error_is_not_created_twice(
    httpserver: Any, tmp_path: Any
) -> None:
    api = FlakyBackfillApi(first_answer=500)
    airflow = _airflow(httpserver, api, tmp_path)
    created = airflow.create_backfill("d", "2026-03-08T00:00:00Z", "2026-03-08T05:00:00Z")
    assert created["id"] == 7 and api.posts == 1 and len(api.saved) == 1


def test_an_older_running_backfill_is_not_taken_for_a_new_one(
    httpserver: Any, tmp_path: Any
) -> None:
    api = FlakyBackfillApi(first_answer=200)
    api.saved.append({"id": 3, "dag_id": "d", "created_at": "2026-01-01T00:00:00Z"})
    airflow = _airflow(httpserver, api, tmp_path)
    # the older backfill stays "running": the retries end in a clear 409, not in adopting it
    with pytest.raises(LocalAirflowError, match=r"409.*already a running backfill"):
        airflow.create_backfill("d", "2026-03-08T00:00:00Z", "2026-03-08T05:00:00Z", retry_for=1.5)
    assert api.posts >= 2


class DropsFirstConnection(BaseHTTPRequestHandler):
    """Closes the first connection without an answer (as a stalled api-server's client sees)."""

    requests_seen: list[str] = []

    def do_GET(self) -> None:
        self.requests_seen.append(self.path)
        if len(self.requests_seen) == 1:
            self.close_connection = True
            return
        body = json.dumps({"access_token": "t"} if self.path == "/auth/token" else {"ok": 1})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: Any) -> None:
        pass


@pytest.mark.parametrize(("attempts", "answered"), [(3, True), (1, False)])
def test_a_get_that_loses_its_connection_is_asked_again(
    tmp_path: Any, attempts: int, answered: bool
) -> None:
    DropsFirstConnection.requests_seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), DropsFirstConnection)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        airflow = LocalAirflow(tmp_path, tmp_path, port=server.server_address[1])
        airflow.get_attempts = attempts
        if answered:
            assert airflow.get("/api/v2/monitor/health") == {"ok": 1}
        else:
            with pytest.raises(LocalAirflowError, match="GET /api/v2/monitor/health"):
                airflow.get("/api/v2/monitor/health")
    finally:
        server.shutdown()
        server.server_close()
    assert DropsFirstConnection.requests_seen[0] == "/api/v2/monitor/health"
