"""docker-compose.yaml's Airflow environment, with its service hostnames pointed at loopback.

The CeleryExecutor test runs the example DAGs with exactly the connections and Variables the
compose file gives its containers: the common ``environment`` block is read from the file,
``${VAR:-default}`` interpolated as compose does, and every ``service:port`` (in URLs and in
JSON connections) rewritten to the port the test's own server for that service listens on.
A hostname the rewrite does not know fails the test, so a new service cannot slip past it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE = REPO_ROOT / "docker-compose.yaml"
SANDBOX = "workmagic-sandbox"
#: the sandbox command's flag for each of its servers
SANDBOX_PORT_FLAGS = {
    "--s3-port": "s3",
    "--gcs-port": "gcs",
    "--api-port": "api",
    "--sheets-port": "sheets",
}
DEFAULT_PORTS = {"postgres": 5432, "redis": 6379, "airflow-apiserver": 8080}


def load() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE.read_text()))


def interpolate(value: str, env: Mapping[str, str] | None = None) -> str:
    """``${NAME:-default}`` / ``${NAME}`` as compose resolves them (``$$`` is a literal ``$``)."""
    env = os.environ if env is None else env

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, default = match.group(1), match.group(3) or ""
        return env.get(name) or default

    return re.sub(r"\$\$|\$\{(\w+)(:-([^}]*))?\}", one, value)


def sandbox_command(compose: Mapping[str, Any]) -> dict[str, str]:
    """The sandbox service's ``--flag value`` options (``serve``'s keyword arguments)."""
    words = str(compose["services"][SANDBOX]["command"]).split()
    assert words[:2] == ["workmagic-sandbox", "serve"], words[:2]
    options = {}
    for flag, value in zip(words[2::2], words[3::2], strict=True):
        assert flag.startswith("--"), (flag, value)
        options[flag.removeprefix("--").replace("-", "_")] = value
    return options


def sandbox_ports(compose: Mapping[str, Any]) -> dict[str, int]:
    """Server name (s3, gcs, api, sheets) -> the container port compose gives it."""
    options = sandbox_command(compose)
    return {
        server: int(options[flag.removeprefix("--").replace("-", "_")])
        for flag, server in SANDBOX_PORT_FLAGS.items()
    }


class Rewriter:
    """Maps ``(service, container port)`` to a loopback port and ``/opt/airflow`` to a folder."""

    def __init__(self, ports: Mapping[tuple[str, int], int], airflow_home: Path) -> None:
        self.ports = dict(ports)
        self.airflow_home = airflow_home
        self.services = {service for service, _ in self.ports}

    def text(self, value: str) -> str:
        def one(match: re.Match[str]) -> str:
            service, port = match.group(1), match.group(2)
            container_port = int(port) if port else DEFAULT_PORTS[service]
            return f"127.0.0.1:{self.ports[(service, container_port)]}"

        names = "|".join(re.escape(s) for s in sorted(self.services, key=len, reverse=True))
        value = re.sub(rf"(?<=/|@)({names})(?::(\d+))?(?=[/\"'\s]|$)", one, value)
        return value.replace("/opt/airflow", str(self.airflow_home))

    def connection(self, value: str) -> str:
        """A JSON connection: its ``host``/``port`` fields, then any URL inside it."""
        conn = json.loads(value)
        host = conn.get("host")
        if host in self.services:
            port = int(conn.get("port") or DEFAULT_PORTS[host])
            conn["host"], conn["port"] = "127.0.0.1", self.ports[(host, port)]
        return self.text(json.dumps(conn))

    def environment(self, env: Mapping[str, Any]) -> dict[str, str]:
        out = {}
        for name, raw in env.items():
            value = interpolate(str(raw))
            is_json_conn = name.startswith("AIRFLOW_CONN_") and value.lstrip().startswith("{")
            value = self.connection(value) if is_json_conn else self.text(value)
            leftover = [s for s in self.services if re.search(rf"(//|@){re.escape(s)}\b", value)]
            assert not leftover, f"{name} still names {leftover}: {value}"
            out[name] = value
        return out


def airflow_environment(
    compose: Mapping[str, Any], rewriter: Rewriter, service: str = "airflow-worker"
) -> dict[str, str]:
    """The environment compose gives ``service`` (the common block and its own additions)."""
    env = compose["services"][service]["environment"]
    return rewriter.environment(env)
