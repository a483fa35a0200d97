"""ImportedSalesToGoogleSheetOperator through the real Google client against a loopback server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from dag_helpers import IMPORTED_ROW
from werkzeug import Request, Response

from workmagic_provider.exceptions import WorkMagicValidationError
from workmagic_provider.operators.sheets import ImportedSalesToGoogleSheetOperator

pytestmark = pytest.mark.integration

DATA = Path(__file__).resolve().parents[2] / "data" / "files"
SHEET = "sheet-123"
#: the second data row of imported_labels_semicolon.csv once cleaned ("1,200", "$1,234.50",
#: "-€5", ZIP+4 "10001-1234", "03/02/2026")
CLEANED_ROW_2 = ["DAILY", "2026-03-02", "ZIP", "10001", "New York", "Walmart", "SECONDARY", "US",
                 1200, 1234.5, -5.0, 2, 20.0]  # fmt: skip


class FakeSheets:
    """The three Sheets API calls the operator makes, recorded in order."""

    def __init__(self, tabs: list[str]) -> None:
        self.tabs = tabs
        self.calls: list[tuple[str, str, Any]] = []
        self.values: list[list[Any]] = [["old", "content"]]

    def __call__(self, request: Request) -> Response:
        path = unquote(request.path)
        body = request.get_json(silent=True)
        self.calls.append((request.method, path, body))
        if request.method == "GET" and path == f"/v4/spreadsheets/{SHEET}":
            sheets = [
                {"properties": {"sheetId": n, "title": t, "index": n}}
                for n, t in reversed(list(enumerate(self.tabs)))
            ]
            return Response(
                json.dumps({"spreadsheetId": SHEET, "sheets": sheets}),
                content_type="application/json",
            )
        if path.endswith(":clear"):
            self.values = []
            return Response(json.dumps({"spreadsheetId": SHEET}), content_type="application/json")
        if request.method == "PUT":
            assert request.args["valueInputOption"] == "RAW"
            self.values = body["values"]
            return Response(
                json.dumps({"updatedRows": len(self.values)}), content_type="application/json"
            )
        return Response("not found", status=404)


@pytest.fixture
def sheets(httpserver: Any, monkeypatch: pytest.MonkeyPatch) -> FakeSheets:
    from pytest_httpserver import URIPattern

    class Everything(URIPattern):
        def match(self, uri: str) -> bool:
            return True

    fake = FakeSheets(["Sales data", "Notes"])
    httpserver.expect_request(Everything()).respond_with_handler(fake)
    conn = {"conn_type": "google_cloud_platform", "extra": {"is_anonymous": True}}
    monkeypatch.setenv("AIRFLOW_CONN_WM_SHEETS", json.dumps(conn))
    return fake


def _operator(httpserver: Any, **kwargs: Any) -> ImportedSalesToGoogleSheetOperator:
    return ImportedSalesToGoogleSheetOperator(
        task_id="sheet",
        spreadsheet_id=SHEET,
        gcp_conn_id="wm_sheets",
        api_endpoint=httpserver.url_for("/"),
        **kwargs,
    )


def test_first_tab_is_replaced_header_first(sheets: FakeSheets, httpserver: Any) -> None:
    op = _operator(httpserver, source=str(DATA / "imported_labels_semicolon.csv"), header="labels")
    summary = op.execute({})
    assert summary == {
        "spreadsheet_id": SHEET,
        "tab": "Sales data",
        "rows": 9,
        "rows_written": 9,
        "rejected": 0,
    }
    methods = [(m, p) for m, p, _ in sheets.calls]
    assert methods == [
        ("GET", f"/v4/spreadsheets/{SHEET}"),
        ("POST", f"/v4/spreadsheets/{SHEET}/values/'Sales data':clear"),
        ("PUT", f"/v4/spreadsheets/{SHEET}/values/'Sales data'!A1"),
    ]
    assert sheets.values[0][:3] == ["Date Type", "Date Code", "Geo Type"]
    assert sheets.values[2] == CLEANED_ROW_2


def test_order_level_rows_are_aggregated_weekly(sheets: FakeSheets, httpserver: Any) -> None:
    base = {"geo_type": "ZIP", "geo_code": "02134", "country_code": "US"}
    rows = [
        {**base, "order_id": "1", "date": "2026-03-04T10:00:00Z", "sales": 10, "profit": 1},
        {**base, "order_id": "1", "date": "2026-03-04T10:00:00Z", "sales": 5},  # same order
        {**base, "order_id": "2", "date": "2026-03-08T23:30:00Z", "sales": "2.5"},  # Sunday
        {**base, "order_id": "3", "date": "2026-03-09T01:00:00Z", "sales": 1},  # next week
        {**base, "order_id": "4", "date": "2026-03-05", "sales": 1, "geo_code": "10001"},
    ]
    op = _operator(
        httpserver,
        rows=rows,
        aggregate=True,
        date_type="WEEKLY",
        defaults={"sales_platform": "Retail", "sales_platform_type": "SECONDARY"},
    )
    summary = op.execute({})
    assert summary["rows_written"] == 3
    body = [r[:4] + r[8:11] for r in sheets.values[1:]]
    assert body == [
        ["WEEKLY", "2026-03-02", "ZIP", "02134", 2, 17.5, 1.0],
        ["WEEKLY", "2026-03-09", "ZIP", "02134", 1, 1.0, ""],
        ["WEEKLY", "2026-03-02", "ZIP", "10001", 1, 1.0, ""],
    ]
    assert sheets.values[0][0] == "date_type"


def test_more_than_the_sheet_limit_is_refused_with_guidance(
    sheets: FakeSheets, httpserver: Any
) -> None:
    row = IMPORTED_ROW
    rows = [row, {**row, "geo_code": "10002"}, {**row, "orders": 5, "sales": 50.0}]
    with pytest.raises(WorkMagicValidationError) as caught:
        _operator(httpserver, rows=rows).execute({})
    [error] = caught.value.report.errors
    assert error.row == 3 and "row 1 already has it" in error.reason
    assert sheets.calls == []
    summary = _operator(httpserver, rows=rows, on_invalid="skip").execute({})
    assert (summary["rows_written"], summary["rejected"]) == (2, 1)
    assert [line[3] for line in sheets.values[1:]] == ["10001", "10002"]


def test_lineage_names_the_file_read_and_the_sheet(sheets: FakeSheets, httpserver: Any) -> None:
    source = DATA / "imported_labels_semicolon.csv"
    op = _operator(httpserver, source=str(source), header="labels")
    op.execute({})

    lineage = op.get_openlineage_facets_on_complete(None)

    assert [(d.namespace, d.name) for d in lineage.inputs] == [("file", str(source))]
    assert [(d.namespace, d.name) for d in lineage.outputs] == [
        ("https://docs.google.com", f"/spreadsheets/d/{SHEET}")
    ]
