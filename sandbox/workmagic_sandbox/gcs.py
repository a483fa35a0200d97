"""Loopback GCS (gcp-storage-emulator, in-process, in memory) with WorkMagic's inbound bucket.

Google clients find it through ``STORAGE_EMULATOR_HOST``; the Airflow ``GCSHook`` works with that
variable and a Google Cloud connection extra ``{"is_anonymous": true, "project": ...}``. The
emulator checks no identities, so the sandbox cannot enforce WorkMagic's service-account grants
on GCS; it only stands in for the bucket.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote

log = logging.getLogger(__name__)

DEFAULT_PROJECT = "test-project"


class GcsSandboxServer:
    """gcp-storage-emulator on a loopback port (0 picks a free one), inbound bucket created."""

    def __init__(
        self,
        *,
        bucket: str = "workmagic-inbound-data",
        host: str = "127.0.0.1",
        port: int = 0,
        project: str = DEFAULT_PROJECT,
    ) -> None:
        self.bucket = bucket
        self.host = host
        self.port = port
        self.project = project
        self._server: Any = None
        self._lock = threading.Lock()

    def start(self) -> GcsSandboxServer:
        if self._server is not None:
            return self
        try:
            from gcp_storage_emulator.server import create_server
        except ImportError as err:
            from workmagic_provider.exceptions import MissingExtraError

            raise MissingExtraError("gcp-storage-emulator", "sandbox") from err
        # The emulator logs every request at INFO; keep the sandbox quiet unless asked.
        logging.getLogger("gcp_storage_emulator").setLevel(logging.WARNING)
        server = create_server(self.host, self.port, in_memory=True, default_bucket=self.bucket)
        api_thread = getattr(server, "_api", None)
        if api_thread is not None:  # a forgotten stop() must not keep the interpreter alive
            api_thread.daemon = True
        server.start()
        self._server = server
        if self.port == 0:
            try:
                self.port = int(server._api._httpd.server_address[1])
            except AttributeError as err:  # emulator internals changed: pass a fixed port
                server.stop()
                self._server = None
                raise RuntimeError(
                    "could not read the GCS emulator's port; start it with an explicit port"
                ) from err
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def reset(self) -> None:
        """Delete every bucket and object, then re-create the inbound bucket."""
        with self._lock:
            self._running.wipe(keep_buckets=False)
            self.create_bucket(self.bucket)

    @property
    def _running(self) -> Any:
        if self._server is None:
            raise RuntimeError("the GCS sandbox is not started")
        return self._server

    @property
    def endpoint(self) -> str:
        """``http://127.0.0.1:PORT``: the value of ``STORAGE_EMULATOR_HOST``."""
        self._running  # noqa: B018 - raises when not started
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}"

    def create_bucket(self, name: str) -> None:
        """Create a bucket (no error if it exists)."""
        body = json.dumps({"name": name}).encode()
        request = urllib.request.Request(
            f"{self.endpoint}/storage/v1/b?project={quote(self.project)}",
            data=body,
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                response.read()
        except urllib.error.HTTPError as err:
            if err.code != 409:
                raise

    def client(self) -> Any:
        """A google-cloud-storage client on this emulator (anonymous, as the connections are)."""
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage  # type: ignore[attr-defined]

        return storage.Client(
            project=self.project,
            credentials=AnonymousCredentials(),
            client_options={"api_endpoint": self.endpoint},
        )

    def list_names(self, prefix: str = "", bucket: str | None = None) -> list[str]:
        """Object names in a bucket (default: the inbound one) under ``prefix``."""
        names: list[str] = []
        token = ""
        while True:
            url = (
                f"{self.endpoint}/storage/v1/b/{quote(bucket or self.bucket, safe='')}/o"
                f"?prefix={quote(prefix, safe='')}"
            )
            if token:
                url += f"&pageToken={quote(token, safe='')}"
            with urllib.request.urlopen(url, timeout=30) as response:
                page = json.loads(response.read() or b"{}")
            names.extend(item["name"] for item in page.get("items", []))
            token = page.get("nextPageToken") or ""
            if not token:
                return names
