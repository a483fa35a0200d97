"""A loopback stand-in for the three Google Sheets API calls the Sheets operator makes.

``spreadsheets.get`` (tab titles), ``values.clear`` and ``values.update`` are enough for
``ImportedSalesToGoogleSheetOperator`` through the real ``GSheetsHook`` (``api_endpoint`` set
to :attr:`SheetsSandboxServer.endpoint`, a Google connection with ``is_anonymous``). Sheets
spring into existence on first use with the tabs given; nothing is checked about identities:
sharing a sheet with WorkMagic is a step only the real Google can verify.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

DEFAULT_TABS = ("Sales data", "Notes")


@dataclass
class Spreadsheet:
    """One sheet's tabs, the values of its first tab, and the calls it received."""

    tabs: list[str]
    values: list[list[Any]] = field(default_factory=list)
    calls: list[tuple[str, str]] = field(default_factory=list)


class SheetsSandboxServer:
    """``/v4/spreadsheets/...`` on loopback, in a thread; :attr:`sheets` holds the state."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, tabs: tuple[str, ...] = DEFAULT_TABS
    ) -> None:
        self.host = host
        self.port = port
        self.tabs = tabs
        self.sheets: dict[str, Spreadsheet] = {}
        self._lock = threading.Lock()
        self._server: Any = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> SheetsSandboxServer:
        from werkzeug.serving import make_server

        self._server = make_server(self.host, self.port, self._app, threaded=True)
        self.port = int(self._server.server_port)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="sheets-sandbox", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> SheetsSandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def sheet(self, spreadsheet_id: str) -> Spreadsheet:
        with self._lock:
            if spreadsheet_id not in self.sheets:
                self.sheets[spreadsheet_id] = Spreadsheet(tabs=list(self.tabs))
            return self.sheets[spreadsheet_id]

    # -- the API --------------------------------------------------------------------------
    def _app(self, environ: dict[str, Any], start_response: Any) -> Any:
        from werkzeug import Request, Response

        status, body = self._handle(Request(environ))
        response = Response(json.dumps(body), status=status, content_type="application/json")
        return response(environ, start_response)

    def _handle(self, request: Any) -> tuple[int, dict[str, Any]]:
        path = unquote(request.path)
        parts = path.strip("/").split("/")
        if len(parts) < 3 or parts[:2] != ["v4", "spreadsheets"]:
            return 404, {"error": {"code": 404, "message": f"no such method {path}"}}
        sheet_id = parts[2].split(":", 1)[0]
        sheet = self.sheet(sheet_id)
        with self._lock:
            sheet.calls.append((request.method, path))
            if request.method == "GET" and len(parts) == 3:
                tabs = [
                    {"properties": {"sheetId": n, "title": title, "index": n}}
                    for n, title in enumerate(sheet.tabs)
                ]
                return 200, {"spreadsheetId": sheet_id, "sheets": tabs}
            if request.method == "POST" and path.endswith(":clear"):
                sheet.values = []
                return 200, {"spreadsheetId": sheet_id}
            if request.method == "PUT" and len(parts) >= 5 and parts[3] == "values":
                body = request.get_json(silent=True) or {}
                sheet.values = list(body.get("values") or [])
                return 200, {"spreadsheetId": sheet_id, "updatedRows": len(sheet.values)}
        return 404, {"error": {"code": 404, "message": f"no such method {request.method} {path}"}}
