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
from workmagic_provider.operators.snowflake import (
    SnowflakeCopyToWorkMagicOperator,
    parse_unload_result,
)

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


EXPECTED_UNLOAD = (
    "COPY INTO 's3://workmagic-inbound-data/account-121226/order-geo-date-data/2026/03/08/02/"
    "2026-03-08-02-snowflake-0000' FROM (SELECT OBJECT_CONSTRUCT(*) AS json_row FROM "
    '"SALES"."PUBLIC"."ORDERS" WHERE "changed" >= '
    "TO_TIMESTAMP_TZ('2026-03-08 01:00:00.000000 +00:00', 'YYYY-MM-DD HH24:MI:SS.FF6 TZH:TZM') "
    'AND "changed" < '
    "TO_TIMESTAMP_TZ('2026-03-08 03:00:00.000000 +00:00', 'YYYY-MM-DD HH24:MI:SS.FF6 TZH:TZM')) "
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
    assert statements[0].startswith("SELECT json_row FROM (SELECT OBJECT_CONSTRUCT(*)")
    assert statements[0].endswith("LIMIT 100")
    assert fake_snowflake.unloads() == [EXPECTED_UNLOAD]
    assert statements[2] == (
        'LIST @"SALES"."PUBLIC"."WORKMAGIC"/order-geo-date-data/2026/03/08/02/ '
        "PATTERN = '.*/2026-03-08-02-snowflake-[0-9]{4}[^/]*'"
    )
    assert statements[3] == (
        'REMOVE @"SALES"."PUBLIC"."WORKMAGIC"/order-geo-date-data/2026/03/08/02/ '
        "PATTERN = '.*/(2026-03-08-02-snowflake-0000_0_0_7[.]json[.]gz)'"
    )
    assert len(statements) == 4

    objects = _objects(clean_sandbox)
    written = FOLDER + "2026-03-08-02-snowflake-0000_0_0_0.json.gz"
    assert set(objects) == {written, foreign, other_hour}
    rows = [json.loads(line) for line in gzip.decompress(objects[written]).splitlines()]
    assert sorted(r["id"] for r in rows) == ["1", "2", "3"]
    assert summary["rows_unloaded"] == 3 and summary["sample_rows_validated"] == 3
    assert summary["files"] == [
        {"name": written.rsplit("/", 1)[1], "bytes": len(objects[written]), "rows": 3}
    ]
    assert summary["removed_stale"] == [stale.rsplit("/", 1)[1]]
    assert summary["destination"] == f"s3://{BUCKET}/{FOLDER}"
    assert summary["window"] == ["2026-03-08T01:00:00+00:00", "2026-03-08T03:00:00+00:00"]


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
        "2026-03-08-02-snowflake-0000' FROM (SELECT OBJECT_CONSTRUCT(*) AS json_row FROM "
        '(SELECT "id", "created_at", "updated_at", "total_price" FROM orders WHERE'
    )
    # no permanent stage: a temporary one in the same session as LIST
    assert fake_snowflake.statements[2].startswith(
        'CREATE TEMPORARY STAGE IF NOT EXISTS "WORKMAGIC_TMP_STAGE" URL = '
        "'s3://workmagic-inbound-data/account-121226/' STORAGE_INTEGRATION = "
    )
    assert fake_snowflake.statements[3].startswith('LIST @"WORKMAGIC_TMP_STAGE"/')
    assert summary["rows_unloaded"] == 0 and summary["removed_stale"] == []
    # a window with no rows: Snowflake answers with the summary row, the operator with 0 files
    assert summary["files"] == []


def test_failing_sample_stops_before_any_file(fake_snowflake: Any, clean_sandbox: Any) -> None:
    # unquoted columns: Snowflake upper-cases them, OBJECT_CONSTRUCT(*) writes "ID", ...
    _load_orders(fake_snowflake, ["2026-03-08 01:30:00"], quoted=False)
    with pytest.raises(WorkMagicValidationError) as caught:
        _operator(updated_at_column="changed").execute(_context())
    assert "'id'" in str(caught.value)
    assert fake_snowflake.unloads() == []  # the unload never ran
    assert _objects(clean_sandbox) == {}


def test_sample_can_be_disabled(fake_snowflake: Any, clean_sandbox: Any) -> None:
    _load_orders(fake_snowflake, ["2026-03-08 01:30:00"])
    summary = _operator(validate_sample=0, stage="wm").execute(_context())
    assert fake_snowflake.statements[0].startswith("COPY INTO")
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
