"""PostgreSQL and Redis as private processes on loopback, for the CeleryExecutor test.

Debian's ``postgresql`` and ``redis-server`` packages (``.ci/run`` installs them when missing).
PostgreSQL refuses to run as root, so under root (CI) it runs as the ``postgres`` user.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path


def free_port() -> int:
    """A loopback port nothing listens on now (the servers need theirs before they start)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ServerError(RuntimeError):
    """A server binary is missing or did not come up; names what to install or read."""


def _postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    if not found:
        raise ServerError("PostgreSQL is not installed: apt-get install -y postgresql")
    return Path(found[-1]).parent


def _as_postgres_user(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def _wait(check: list[str], what: str, log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while subprocess.run(check, capture_output=True, check=False).returncode != 0:
        if time.monotonic() > deadline:
            raise ServerError(f"{what} did not start within {timeout:.0f} s; see {log}")
        time.sleep(0.3)


@contextlib.contextmanager
def postgres(database: str = "airflow", user: str = "airflow") -> Iterator[int]:
    """A fresh cluster on a free loopback port (trust auth) with ``database``; yields the port."""
    bin_dir = _postgres_bin()
    root = Path(tempfile.mkdtemp(prefix="workmagic-pg-", dir="/tmp"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    data, log, port = root / "data", root / "postgres.log", free_port()
    subprocess.run(
        _as_postgres_user(
            [str(bin_dir / "initdb"), "-D", str(data), "-U", user, "--auth=trust", "-E", "UTF8"]
        ),
        check=True,
        capture_output=True,
    )
    server = subprocess.Popen(
        _as_postgres_user(
            [
                str(bin_dir / "postgres"),
                "-D",
                str(data),
                "-p",
                str(port),
                "-k",
                str(root),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "max_connections=200",
            ]
        ),
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        ready = [str(bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)]
        _wait(ready, "PostgreSQL", log)
        subprocess.run(
            [str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", user, database],
            check=True,
            capture_output=True,
        )
        yield port
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def redis() -> Iterator[int]:
    """``redis-server`` on a free loopback port, nothing persisted; yields the port."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise ServerError("Redis is not installed: apt-get install -y redis-server")
    root = Path(tempfile.mkdtemp(prefix="workmagic-redis-"))
    port, log = free_port(), root / "redis.log"
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(root), "--save", ""],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        cli = shutil.which("redis-cli") or "redis-cli"
        _wait([cli, "-h", "127.0.0.1", "-p", str(port), "ping"], "Redis", log)
        yield port
    finally:
        server.terminate()
        server.wait(30)
        shutil.rmtree(root, ignore_errors=True)
