"""The sandbox API's HTTP plumbing: a threading HTTP/1.1 server with keep-alive whose open
connections can be cut at once (as a killed process would), and the request handler that
hands every request to the app (:class:`~workmagic_sandbox.api.ApiSandboxServer`)."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import urlsplit

#: Bodies larger than this are refused with 413.
MAX_BODY_BYTES = 20 * 1024 * 1024


class App(Protocol):
    """What the handler needs from the app."""

    def handle(
        self, method: str, target: str, headers: Any, body: bytes
    ) -> tuple[int, Any, dict[str, str], int]: ...

    def record(self, method: str, path: str, status: int, orders: int) -> None: ...


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: App) -> None:
        self.app = app
        self.open_sockets: set[socket.socket] = set()
        self.sockets_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.discard(request)
        super().shutdown_request(request)

    def drop_all_connections(self) -> None:
        """Cut every open (keep-alive) connection, as a killed process would."""
        with self.sockets_lock:
            sockets = list(self.open_sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class Dropped(Exception):
    """Close the connection without answering."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real API behind a load balancer
    server: Server

    def setup(self) -> None:
        super().setup()
        # answer in one segment, not headers then body 40 ms later (Nagle + delayed ACK)
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: tests and benchmarks read the server's counters instead

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        app = self.server.app
        body = b""
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self._reply(413, {"error": f"body larger than {MAX_BODY_BYTES} bytes"}, method, 0)
            self.close_connection = True
            return
        if length:
            body = self.rfile.read(length)
        try:
            status, payload, headers, orders = app.handle(method, self.path, self.headers, body)
        except Dropped:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._reply(status, payload, method, orders, headers)

    def _reply(
        self,
        status: int,
        payload: Any,
        method: str,
        orders: int,
        headers: dict[str, str] | None = None,
    ) -> None:
        data = json.dumps(payload, separators=(",", ":")).encode()
        self.server.app.record(method, urlsplit(self.path).path, status, orders)
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Connection", "close" if self.close_connection else "keep-alive")
            self._headers_buffer.append(b"\r\n" + data)  # type: ignore[attr-defined]  # one write
            self.flush_headers()
        except OSError:
            self.close_connection = True


__all__ = ["MAX_BODY_BYTES", "App", "Dropped", "Server"]
