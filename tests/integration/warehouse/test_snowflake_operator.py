"""SnowflakeCopyToWorkMagicOperator through the real SnowflakeHook over fakesnow.

What runs for real: Airflow's ``SnowflakeHook`` (connection parsing, ``run``, handlers, dict
cursors), fakesnow executing the sample SELECT and the unload's inner SELECT (window filter and
``OBJECT_CONSTRUCT(*)``), our schema validation of the sample. What is played by the fixture
(fakesnow cannot run it): the ``COPY INTO <location>`` itself, ``LIST``/``REMOVE`` on the
external stage and ``CREATE TEMPORARY STAGE``; the tests assert the exact statements the hook
received and how the operator handles Snowflake's result rows.
"""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from workmagic_provider.exceptions import (
    WorkMagicConfigError,
    WorkMagicError,
    WorkMagicValidationError,
)
from workmagic_provider.generations import is_generation
from workmagic_provider.operators.snowflake import SnowflakeCopyToWorkMagicOperator
from workmagic_provider.warehouse.checks import WindowCheckError
from workmagic_provider.warehouse.snowflake_unload import parse_unload_result

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:Arrow output:UserWarning"),  # fakesnow internals
]

HOUR = datetime(2026, 3, 8, 2, tzinfo=timezone.utc)
FOLDER = "account-121226/order-geo-date-data/2026/03/08/02/"
BUCKET = "workmagic-inbound-data"


def _context(hour: datetime = HOUR) -> dict[str, Any]:
    return {"data_interval_start": hour, "data_interval_end": hour + timedelta(hours=1)}


def _load_orders(fake: Any, changed: list[str], *, quoted: bool = True) -> None:
    import snowflake.connector

    conn = snowflake.connector.connect(database="SALES", schema="PUBLIC")
    cur = conn.cursor()
    q = (lambda n: f'"{n}"') if quoted else (lambda n: n)
    cur.execute(
        f"CREATE OR REPLACE TABLE orders ({q('id')} VARCHAR, {q('created_at')} VARCHAR, "
        f"{q('updated_at')} VARCHAR, {q('total_price')} NUMBER(10, 2), "
        f"{q('changed')} TIMESTAMP_TZ)"
    )
    for n, stamp in enumerate(changed):
        iso = stamp.replace(" ", "T") + "Z"
        cur.execute(f"INSERT INTO orders VALUES ('{n}', '{iso}', '{iso}', {10 + n}.5, '{iso}')")
    conn.close()
    fake.statements.clear()  # only what the operator sends is asserted on


def _operator(**kwargs: Any) -> SnowflakeCopyToWorkMagicOperator:
    kwargs.setdefault("table", "sales.public.orders")
    kwargs.setdefault("updated_at_column", '"changed"')
    return SnowflakeCopyToWorkMagicOperator(task_id="unload", **kwargs)


def _objects(sandbox: Any) -> dict[str, bytes]:
    client = sandbox.aws.admin_client()
    return {
        key: client.get_object(Bucket=sandbox.bucket, Key=key)["Body"].read()
        for key in sandbox.aws.list_keys("account-121226/")
    }


JSON_OF_QUOTED_TABLE = (
    "OBJECT_CONSTRUCT('id', \"id\", 'created_at', \"created_at\", 'updated_at', \"updated_at\", "
    "'total_price', \"total_price\", 'changed', REPLACE(TO_VARCHAR(CONVERT_TIMEZONE('UTC', "
    "\"changed\"), 'YYYY-MM-DD HH24:MI:SS.FF3'), ' ', 'T') || 'Z')"
)
SOURCE = (
    'SELECT * FROM "SALES"."PUBLIC"."ORDERS" WHERE "changed" >= '
    "TO_TIMESTAMP_TZ('2026-03-08 01:00:00.000000 +00:00', 'YYYY-MM-DD HH24:MI:SS.FF6 TZH:TZM') "
    'AND "changed" < '
    "TO_TIMESTAMP_TZ('2026-03-08 03:00:00.000000 +00:00', 'YYYY-MM-DD HH24:MI:SS.FF6 TZH:TZM')"
)
EXPECTED_UNLOAD = (
    "COPY INTO 's3://workmagic-inbound-data/account-121226/order-geo-date-data/2026/03/08/02/"
    "2026-03-08-02-snowflake-{generation}-0000' FROM "
    f"(SELECT {JSON_OF_QUOTED_TABLE} AS json_row FROM "
    f"({SOURCE}) AS workmagic_src) "
    'STORAGE_INTEGRATION = "S3_ORDER_EXPORT_TO_WORKMAGIC" '
    "FILE_FORMAT = (TYPE = JSON COMPRESSION = GZIP) MAX_FILE_SIZE = 1000000 OVERWRITE = TRUE "
    "DETAILED_OUTPUT = TRUE"
)


def test_unload_statement_files_and_stale_parts(fake_snowflake: Any, clean_sandbox: Any) -> None:
    # in the window [01:00, 03:00): 3 rows; before and at its end: 2 rows
    _load_orders(fake_snowflake,
        ["2026-03-08 00:59:59", "2026-03-08 01:00:00", "2026-03-08 02:30:00",
         "2026-03-08 02:59:59", "2026-03-08 03:00:00"]
    )  # fmt: skip
    admin = clean_sandbox.aws.admin_client()
    stale = FOLDER + "2026-03-08-02-snowflake-0000_0_0_7.json.gz"
    foreign = FOLDER + "customer-file.json.gz"
    other_hour = (
        "account-121226/order-geo-date-data/2026/03/08/01/"
        "2026-03-08-01-snowflake-0000_0_0_0.json.gz"
    )
    for key in (stale, foreign, other_hour):
        admin.put_object(Bucket=BUCKET, Key=key, Body=b"old")

    summary = _operator(stage="sales.public.workmagic").execute(_context())

    statements = fake_snowflake.statements
    assert statements[0] == "ALTER SESSION SET TIMEZONE = 'UTC'"
    assert statements[1] == f"SELECT * FROM ({SOURCE}) AS workmagic_src LIMIT 0"
    assert statements[2].startswith("SELECT COUNT(*) AS workmagic_rows, ")
    assert statements[3].startswith(f"SELECT json_row FROM (SELECT {JSON_OF_QUOTED_TABLE}")
    assert statements[3].endswith("LIMIT 100")
    generation = summary["generation"]
    assert is_generation(generation)
    expected = EXPECTED_UNLOAD.replace("{generation}", generation)
    assert fake_snowflake.unloads() == [expected] == [statements[4]]
    assert statements[5] == (
        'LIST @"SALES"."PUBLIC"."WORKMAGIC"/order-geo-date-data/2026/03/08/02/ '
        "PATTERN = '.*/2026-03-08-02-snowflake-[0-9]{4}[^/]*'"
    )
    assert statements[6] == (
        'REMOVE @"SALES"."PUBLIC"."WORKMAGIC"/order-geo-date-data/2026/03/08/02/ '
        "PATTERN = '.*/(2026-03-08-02-snowflake-0000_0_0_7[.]json[.]gz)'"
    )
    assert len(statements) == 7

    objects = _objects(clean_sandbox)
    written = FOLDER + f"2026-03-08-02-snowflake-{generation}-0000_0_0_0.json.gz"
    assert set(objects) == {written, foreign, other_hour}
    rows = [json.loads(line) for line in gzip.decompress(objects[written]).splitlines()]
    assert sorted(r["id"] for r in rows) == ["1", "2", "3"]
    assert rows[0]["changed"].endswith("Z") and rows[0]["total_price"] == 11.5
    assert summary["rows_unloaded"] == 3 and summary["sample_rows_validated"] == 3
    assert summary["rows_checked"] == 3
    assert summary["files"] == [
        {"name": written.rsplit("/", 1)[1], "bytes": len(objects[written]), "rows": 3}
    ]
    assert summary["removed_stale"] == [stale.rsplit("/", 1)[1]]
    assert summary["stale_not_removed"] == []
    assert summary["destination"] == f"s3://{BUCKET}/{FOLDER}"
    assert summary["window"] == ["2026-03-08T01:00:00+00:00", "2026-03-08T03:00:00+00:00"]


def _ordinary_table(rows: int, *, null_price_at: int | None = None) -> None:
    """Unquoted (upper-case) columns, a TIMESTAMP_NTZ, NULL in an optional field."""
    import snowflake.connector

    conn = snowflake.connector.connect(database="SALES", schema="PUBLIC")
    cur = conn.cursor()
    cur.execute(
        "CREATE OR REPLACE TABLE orders (id NUMBER(38, 0), created_at TIMESTAMP_NTZ, "
        "updated_at TIMESTAMP_NTZ, total_price NUMBER(10, 2), financial_status VARCHAR, "
        "line_items VARIANT)"
    )
    values = []
    for n in range(1, rows + 1):
        minute = 60 + n * 60 // rows  # spread over [01:01, 02:00]
        stamp = f"2026-03-08 {minute // 60:02d}:{minute % 60:02d}:{n % 60:02d}"
        price = "NULL" if n == null_price_at else f"{n}.25"
        status = "NULL" if n % 2 else "'paid'"
        values.append(f"({n}, '{stamp}', '{stamp}', {price}, {status})")
    cur.execute(
        "INSERT INTO orders (id, created_at, updated_at, total_price, financial_status) VALUES "
        + ", ".join(values)
    )
    conn.close()


def test_ordinary_table_unloads_rows_that_validate(
    fake_snowflake: Any, clean_sandbox: Any, tmp_path: Any
) -> None:
    """An ordinary table: unquoted columns, TIMESTAMP_NTZ, NULL optional values, numeric id."""
    import subprocess
    import sys
    from pathlib import Path

    _ordinary_table(50)
    fake_snowflake.statements.clear()
    summary = _operator(stage="wm", updated_at_column="updated_at").execute(_context())

    assert summary["rows_unloaded"] == 50
    assert summary["columns"] == {
        "id": "ID", "created_at": "CREATED_AT", "updated_at": "UPDATED_AT",
        "total_price": "TOTAL_PRICE", "financial_status": "FINANCIAL_STATUS",
        "line_items": "LINE_ITEMS",
    }  # fmt: skip
    (key,) = [k for k in _objects(clean_sandbox) if "-snowflake-" in k]
    body = gzip.decompress(_objects(clean_sandbox)[key])
    rows = [json.loads(line) for line in body.splitlines()]
    first = rows[0]
    assert first["id"] == "1" and first["total_price"] == 1.25
    # Snowflake writes .FF3 always; fakesnow (DuckDB strftime) drops zero milliseconds
    assert first["created_at"] in ("2026-03-08T01:01:01.000Z", "2026-03-08T01:01:01Z")
    assert "financial_status" not in first and rows[1]["financial_status"] == "paid"
    export = tmp_path / "unloaded.jsonl"
    export.write_bytes(body)
    cli = Path(sys.executable).with_name("workmagic-provider")
    done = subprocess.run(
        [str(cli), "validate", str(export), "--schema", "custom-site", "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["rows_valid"] == 50


def test_null_required_field_in_the_middle_stops_before_any_unload(
    fake_snowflake: Any, clean_sandbox: Any
) -> None:
    _ordinary_table(1000, null_price_at=500)
    fake_snowflake.statements.clear()
    with pytest.raises(WindowCheckError) as caught:
        _operator(stage="wm", updated_at_column="updated_at").execute(_context())
    message = str(caught.value)
    assert "1000 row(s)" in message
    assert "1 row(s) with NULL in required field 'total_price' (column TOTAL_PRICE)" in message
    assert fake_snowflake.unloads() == []
    assert not any(s.startswith("SELECT json_row") for s in fake_snowflake.statements)
    assert _objects(clean_sandbox) == {}


def test_every_statement_runs_in_one_utc_session(fake_snowflake: Any, clean_sandbox: Any) -> None:
    """The account's sessions start in America/Los_Angeles; the run pins UTC first.

    The window selects on a TIMESTAMP_NTZ column: in a Los Angeles session the 50 rows of
    01:01-02:00 UTC wall time would compare as 09:01-10:00 UTC and none would be selected.
    """
    _ordinary_table(50)
    fake_snowflake.statements.clear()
    fake_snowflake.sessions.clear()
    summary = _operator(stage="wm", updated_at_column="updated_at").execute(_context())

    assert summary["rows_unloaded"] == summary["rows_checked"] == 50
    sessions = fake_snowflake.sessions
    assert len({number for number, _, _ in sessions}) == 1  # one connection for the run
    assert sessions[0][2] == "ALTER SESSION SET TIMEZONE = 'UTC'"
    for _, zone, statement in sessions[1:]:
        assert zone == "UTC", statement
    steps = [statement.split(" ", 2)[:2] for _, _, statement in sessions]
    assert ["COPY", "INTO"] in steps and ["SELECT", "COUNT(*)"] in steps


def test_duplicate_ids_and_imported_primary_keys_stop_the_task(
    fake_snowflake: Any, clean_sandbox: Any
) -> None:
    import snowflake.connector

    _ordinary_table(10)
    conn = snowflake.connector.connect(database="SALES", schema="PUBLIC")
    cur = conn.cursor()
    cur.execute("INSERT INTO orders (id, created_at, updated_at, total_price) SELECT id, "
                "created_at, updated_at, total_price FROM orders WHERE id IN (3, 4)")  # fmt: skip
    cur.execute(
        "CREATE OR REPLACE TABLE daily (date_type VARCHAR, date_code DATE, geo_type VARCHAR, "
        "geo_code VARCHAR, sales_platform VARCHAR, sales_platform_type VARCHAR, "
        "country_code VARCHAR, orders NUMBER, sales NUMBER(12, 2), changed TIMESTAMP_TZ)"
    )
    row = "'DAILY', '2026-03-08', 'ZIP', '10001', 'Walmart', 'SECONDARY', 'US'"
    cur.execute(
        f"INSERT INTO daily VALUES ({row}, 3, 30.5, '2026-03-08T01:30:00Z'), "
        f"({row}, 1, 9.5, '2026-03-08T01:40:00Z'), "
        "('DAILY', '2026-03-08', 'STATE', 'NY', 'Walmart', 'SECONDARY', 'US', -1, 1, "
        "'2026-03-08T01:50:00Z')"
    )
    conn.close()
    with pytest.raises(WindowCheckError, match=r"2 row\(s\) with duplicate order id \(column ID\)"):
        _operator(stage="wm", updated_at_column="updated_at").execute(_context())
    with pytest.raises(WindowCheckError) as caught:
        _operator(
            stage="wm", table="sales.public.daily", updated_at_column="changed",
            schema="imported", data_category="imported-walmart",
        ).execute(_context())  # fmt: skip
    message = str(caught.value)
    assert "1 row(s) with duplicate primary key (date_type, date_code, geo_type" in message
    assert "1 row(s) with field 'orders' (column ORDERS) below 0" in message
    assert "1 row(s) with field 'geo_type' (column GEO_TYPE) not one of ZIP, DMA, IP" in message
    assert fake_snowflake.unloads() == []


def test_without_delete_rights_new_parts_count_and_stale_are_reported(
    fake_snowflake: Any, clean_sandbox: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    _load_orders(fake_snowflake, ["2026-03-08 01:30:00"])
    stale = "2026-03-08-02-snowflake-0000_0_0_5.json.gz"
    clean_sandbox.aws.admin_client().put_object(Bucket=BUCKET, Key=FOLDER + stale, Body=b"old")
    fake_snowflake.refuse["REMOVE"] = "Failed to remove: Access Denied (s3:DeleteObject)"

    summary = _operator(stage="wm").execute(_context())

    assert summary["rows_unloaded"] == 1 and len(summary["files"]) == 1
    assert summary["removed_stale"] == [] and summary["stale_not_removed"] == [stale]
    warnings = [line for line in capsys.readouterr().out.splitlines() if "[warning" in line]
    assert any("could not be removed" in w and stale in w for w in warnings)
    assert FOLDER + stale in _objects(clean_sandbox)


def test_a_newer_complete_run_of_the_hour_wins(fake_snowflake: Any, clean_sandbox: Any) -> None:
    """Two runs of one hour: the one that finds a newer run's files withdraws its own."""
    _load_orders(fake_snowflake, ["2026-03-08 01:30:00"])
    newer = FOLDER + "2026-03-08-02-snowflake-20991231T235959999999abcd-0000_0_0_0.json.gz"
    clean_sandbox.aws.admin_client().put_object(Bucket=BUCKET, Key=newer, Body=b"newer run")
    summary = _operator(stage="wm").execute(_context())
    assert summary["superseded_by"] == "20991231T235959999999abcd"
    assert list(_objects(clean_sandbox)) == [newer]  # only the newer run's output is left
    assert summary["removed_stale"] == []


def test_templated_select_and_temporary_stage(fake_snowflake: Any, clean_sandbox: Any) -> None:
    _load_orders(fake_snowflake, ["2026-03-08 01:30:00", "2026-03-08 05:00:00"])
    op = _operator(
        table=None,
        sql=(
            'SELECT "id", "created_at", "updated_at", "total_price" FROM orders '
            'WHERE "changed" >= {{ workmagic_window_start }} '
            'AND "changed" < {{ workmagic_window_end }};'
        ),
        lookback=timedelta(0),
    )
    context = _context()
    op.render_template_fields(context)
    summary = op.execute(context)

    assert "TO_TIMESTAMP_TZ('2026-03-08 02:00:00.000000 +00:00'" in op.sql
    unload = fake_snowflake.unloads()[0]
    assert unload.startswith(
        "COPY INTO 's3://workmagic-inbound-data/account-121226/order-geo-date-data/2026/03/08/02/"
        f"2026-03-08-02-snowflake-{summary['generation']}-0000' FROM "
        "(SELECT OBJECT_CONSTRUCT('id', \"id\", 'created_at', "
        '"created_at", \'updated_at\', "updated_at", \'total_price\', "total_price") AS json_row '
        'FROM (SELECT "id", "created_at", "updated_at", "total_price" FROM orders WHERE'
    )
    # no permanent stage: a temporary one in the same session as LIST
    assert fake_snowflake.statements[5].startswith(
        'CREATE TEMPORARY STAGE IF NOT EXISTS "WORKMAGIC_TMP_STAGE" URL = '
        "'s3://workmagic-inbound-data/account-121226/' STORAGE_INTEGRATION = "
    )
    assert fake_snowflake.statements[6].startswith('LIST @"WORKMAGIC_TMP_STAGE"/')
    assert summary["rows_unloaded"] == 0 and summary["removed_stale"] == []
    # a window with no rows: Snowflake answers with the summary row, the operator with 0 files
    assert summary["files"] == []


def test_failing_sample_stops_before_any_file(fake_snowflake: Any, clean_sandbox: Any) -> None:
    """What SQL cannot check (a timestamp written as text without a zone) the sample catches."""
    import snowflake.connector

    _load_orders(fake_snowflake, ["2026-03-08 01:30:00"], quoted=False)
    conn = snowflake.connector.connect(database="SALES", schema="PUBLIC")
    conn.cursor().execute("UPDATE orders SET created_at = '2026-03-08 01:30:00'")
    conn.close()
    with pytest.raises(WorkMagicValidationError) as caught:
        _operator(updated_at_column="changed").execute(_context())
    assert "created_at" in str(caught.value) and "time zone" in str(caught.value)
    assert fake_snowflake.unloads() == []  # the unload never ran
    assert _objects(clean_sandbox) == {}


def test_sample_can_be_disabled(fake_snowflake: Any, clean_sandbox: Any) -> None:
    _load_orders(fake_snowflake, ["2026-03-08 01:30:00"])
    summary = _operator(validate_sample=0, stage="wm").execute(_context())
    assert not any("LIMIT 100" in s for s in fake_snowflake.statements)
    assert fake_snowflake.statements[3].startswith("COPY INTO")
    assert summary["sample_rows_validated"] == 0 and summary["rows_unloaded"] == 1


def test_oversized_file_in_unload_result_fails_loudly(
    fake_snowflake: Any, clean_sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _load_orders(fake_snowflake, ["2026-03-08 01:30:00"])
    result = (
        ["FILE_NAME", "FILE_SIZE", "ROW_COUNT"],
        [
            ("2026-03-08-02-snowflake-0000_0_0_0.json.gz", 1_000_123, 9100),
            ("2026-03-08-02-snowflake-0000_0_1_0.json.gz", 1_600_000, 12000),
        ],
    )
    monkeypatch.setattr(type(fake_snowflake), "_unload", lambda self, match, cursor: result)
    with pytest.raises(WorkMagicError, match="lower max_file_size") as caught:
        _operator(stage="wm", validate_sample=0).execute(_context())
    assert "2026-03-08-02-snowflake-0000_0_1_0.json.gz" in str(caught.value)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"table": "orders; DROP TABLE orders"},
        {"updated_at_column": "changed) OR (1=1"},
        {"storage_integration": "x STORAGE_INTEGRATION = y"},
        {"stage": "wm/../../other"},
        {"data_category": "../other-account"},
        {"table": None, "sql": "SELECT 1 FROM t; DROP TABLE t"},
        {"table": None, "sql": "SELECT * FROM t WHERE updated_at > DATEADD(hour, -2, now())"},
    ],
)
def test_injection_is_refused_before_any_statement(
    fake_snowflake: Any, kwargs: dict[str, Any]
) -> None:
    with pytest.raises(WorkMagicConfigError):
        _operator(**kwargs).execute(_context())
    assert fake_snowflake.statements == []


def test_parse_unload_result_shapes() -> None:
    detailed = [
        {"FILE_NAME": "data/2026-03-08-02-snowflake-0000_0_0_0.json.gz", "FILE_SIZE": 900,
         "ROW_COUNT": 10},
        {"FILE_NAME": "2026-03-08-02-snowflake-0000_0_1_0.json.gz", "FILE_SIZE": 100,
         "ROW_COUNT": 2},
    ]  # fmt: skip
    parsed = parse_unload_result(detailed)
    assert parsed["rows_unloaded"] == 12 and parsed["bytes"] == 1000
    assert parsed["files"][0]["name"] == "2026-03-08-02-snowflake-0000_0_0_0.json.gz"
    summary = parse_unload_result([{"rows_unloaded": 5, "input_bytes": 50, "output_bytes": 40}])
    assert summary["rows_unloaded"] == 5 and summary["files"] is None
    assert (
        parse_unload_result([{"rows_unloaded": 0, "input_bytes": 0, "output_bytes": 0}])["files"]
        == []
    )
