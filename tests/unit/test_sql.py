"""SQL builders: every statement parses in its dialect; windows; identifiers; injection refused."""

from __future__ import annotations

import contextlib
import io
from datetime import datetime, timedelta, timezone

import pytest
import sqlglot
from sqlglot import exp

from workmagic_provider.cli import main
from workmagic_provider.exceptions import WorkMagicConfigError
from workmagic_provider.standards import HourFolder, window
from workmagic_provider.warehouse import bigquery_sql, snowflake_setup, snowflake_sql

BUCKET = "workmagic-inbound-data"
ROLE_ARN = "arn:aws:iam::123456789012:role/x"
UTC = timezone.utc


def _folder(hour: datetime, category: str = "order-geo-date-data") -> HourFolder:
    return HourFolder("121226", category, hour)


def _window(hour: datetime, lookback: timedelta = timedelta(hours=1)) -> tuple[datetime, datetime]:
    return window(hour, hour + timedelta(hours=1), lookback)


def _setup_sql(argv: list[str], out: io.StringIO) -> int:
    """``workmagic-provider setup-sql ...`` with its stdout in ``out``."""
    with contextlib.redirect_stdout(out):
        return main(["setup-sql", *argv])


def _unload(hour: datetime, **kwargs: object) -> str:
    select = snowflake_sql.snowflake_select(_window(hour), table="db.public.orders")
    return snowflake_sql.snowflake_unload_sql(
        _folder(hour),
        BUCKET,
        select,
        storage_integration=str(kwargs.get("integration", "s3_order_export_to_workmagic")),
        max_file_size=1_000_000,
    )


BOUNDARIES = [
    # (hour folder start, folder path, window start, window end)
    (datetime(2026, 3, 8, 2, tzinfo=UTC), "2026/03/08/02", "2026-03-08 01:00", "2026-03-08 03:00"),
    (datetime(2026, 3, 9, 0, tzinfo=UTC), "2026/03/09/00", "2026-03-08 23:00", "2026-03-09 01:00"),
    (datetime(2027, 1, 1, 0, tzinfo=UTC), "2027/01/01/00", "2026-12-31 23:00", "2027-01-01 01:00"),
    (
        datetime(2028, 2, 29, 23, tzinfo=UTC),
        "2028/02/29/23",
        "2028-02-29 22:00",
        "2028-03-01 00:00",
    ),
]


@pytest.mark.parametrize(("hour", "path", "start", "end"), BOUNDARIES)
def test_snowflake_unload_hour_day_year_boundaries(
    hour: datetime, path: str, start: str, end: str
) -> None:
    statement = _unload(hour)
    parsed = sqlglot.parse_one(statement, read="snowflake")
    assert isinstance(parsed, exp.Copy)
    stamp = path.replace("/", "-")
    assert statement.startswith(
        f"COPY INTO 's3://{BUCKET}/account-121226/order-geo-date-data/{path}/{stamp}-snowflake-0000'"
    )
    assert f"TO_TIMESTAMP_TZ('{start}:00.000000 +00:00'" in statement
    assert f"TO_TIMESTAMP_TZ('{end}:00.000000 +00:00'" in statement
    for clause in (
        'STORAGE_INTEGRATION = "S3_ORDER_EXPORT_TO_WORKMAGIC"',
        "FILE_FORMAT = (TYPE = JSON COMPRESSION = GZIP)",
        "MAX_FILE_SIZE = 1000000",
        "OVERWRITE = TRUE",
        "DETAILED_OUTPUT = TRUE",
    ):
        assert clause in statement


@pytest.mark.parametrize(("hour", "path", "start", "end"), BOUNDARIES)
def test_bigquery_export_boundaries(hour: datetime, path: str, start: str, end: str) -> None:
    select = bigquery_sql.bigquery_select(
        table="proj-1.sales.orders", updated_at_column="updated_at"
    )
    uri = bigquery_sql.bigquery_staging_uri("gs://staging-1/wm", _folder(hour), "airflow_d_t_x_0")
    statement = bigquery_sql.bigquery_export_sql(uri, select)
    assert isinstance(sqlglot.parse_one(statement, read="bigquery"), exp.Export)
    stamp = path.replace("/", "-")
    assert f"uri = 'gs://staging-1/wm/{stamp}/airflow_d_t_x_0/bigquery-*.json.gz'" in statement
    assert "format = 'JSON', compression = 'GZIP', overwrite = true" in statement
    params = bigquery_sql.bigquery_query_parameters(_window(hour))
    assert [p["parameterValue"]["value"] for p in params] == [
        f"{start}:00.000000+00:00",
        f"{end}:00.000000+00:00",
    ]
    assert {p["parameterType"]["type"] for p in params} == {"TIMESTAMP"}
    assert start not in statement  # values travel as parameters, never in the text


def test_lookback_and_other_time_zones() -> None:
    hour = datetime(2026, 3, 8, 2, tzinfo=UTC)
    assert "'2026-03-07 23:00:00.000000 +00:00'" in snowflake_sql.snowflake_select(
        _window(hour, timedelta(hours=3)), table="t"
    )
    assert "'2026-03-08 02:00:00.000000 +00:00'" in snowflake_sql.snowflake_select(
        _window(hour, timedelta(0)), table="t"
    )
    # an interval given in another zone is rendered in UTC
    tokyo = timezone(timedelta(hours=9))
    bounds = (datetime(2026, 3, 8, 11, tzinfo=tokyo), datetime(2026, 3, 8, 12, tzinfo=tokyo))
    assert snowflake_sql.snowflake_timestamp(bounds[0]).startswith(
        "TO_TIMESTAMP_TZ('2026-03-08 02:00:00"
    )
    with pytest.raises(WorkMagicConfigError, match="aware"):
        snowflake_sql.snowflake_timestamp(datetime(2026, 3, 8, 2))


@pytest.mark.parametrize(
    "staging", ["s3://b/p/", "gs://B/p/", "gs://b/../x/", "gs://b/a//c/", "gs://b/it's/", None]
)
def test_bigquery_staging_uri_is_refused_when_unusable(staging: object) -> None:
    folder = _folder(datetime(2026, 3, 8, 2, tzinfo=UTC))
    with pytest.raises(WorkMagicConfigError):
        bigquery_sql.bigquery_staging_uri(staging, folder, "id_0")  # type: ignore[arg-type]
    with pytest.raises(WorkMagicConfigError):
        bigquery_sql.bigquery_staging_uri("gs://b/p/", folder, "../x")


def test_bigquery_timestamp_text_is_rewritten_as_iso_z() -> None:
    from workmagic_provider.warehouse.bigquery_delivery import normalise_bigquery_line

    line = (
        b'{"id":"7","created_at":"2026-03-08 01:30:00 UTC",'
        b'"updated_at":"2026-03-08 02:10:00.123456 UTC","note":"at 2026-03-08 01:30:00 UTC"}'
    )
    assert normalise_bigquery_line(line) == (
        b'{"id":"7","created_at":"2026-03-08T01:30:00Z",'
        b'"updated_at":"2026-03-08T02:10:00.123456Z","note":"at 2026-03-08 01:30:00 UTC"}'
    )


def test_templated_select_snowflake_and_bigquery() -> None:
    hour = datetime(2026, 3, 8, 2, tzinfo=UTC)
    bounds = _window(hour)
    macros = snowflake_sql.snowflake_window_macros(bounds)
    user = 'SELECT "id" FROM orders WHERE ts >= {s} AND ts < {e};'
    inner = snowflake_sql.snowflake_select(
        bounds,
        sql=user.format(s=macros["workmagic_window_start"], e=macros["workmagic_window_end"]),
    )
    assert inner.startswith('SELECT "id" FROM orders WHERE ts >= TO_TIMESTAMP_TZ(')
    assert not inner.endswith(";")
    rows = snowflake_sql.snowflake_json_select(inner, "OBJECT_CONSTRUCT('id', \"id\")")
    assert rows.startswith('SELECT OBJECT_CONSTRUCT(\'id\', "id") AS json_row FROM (SELECT "id"')
    assert isinstance(sqlglot.parse_one(rows, read="snowflake"), exp.Select)
    assert snowflake_sql.snowflake_describe_sql(inner).endswith(") AS workmagic_src LIMIT 0")
    sample = snowflake_sql.snowflake_sample_sql(rows, 100)
    assert sample.endswith("LIMIT 100")
    assert isinstance(sqlglot.parse_one(sample, read="snowflake"), exp.Select)

    bq = bigquery_sql.bigquery_window_macros(bounds)
    assert bq == {"workmagic_window_start": "@window_start", "workmagic_window_end": "@window_end"}
    select = bigquery_sql.bigquery_select(
        sql=f"SELECT * FROM `p.d.t` WHERE ts >= {bq['workmagic_window_start']} "
        f"AND ts < {bq['workmagic_window_end']}"
    )
    sample = bigquery_sql.bigquery_sample_sql(select, 5)
    assert isinstance(sqlglot.parse_one(sample, read="bigquery"), exp.Select)


def test_a_select_without_the_window_is_refused_unless_opted_out() -> None:
    bounds = _window(datetime(2026, 3, 8, 2, tzinfo=UTC))
    rolling = "SELECT * FROM t WHERE updated_at > DATEADD(hour, -2, CURRENT_TIMESTAMP())"
    with pytest.raises(WorkMagicConfigError, match="workmagic_window_start"):
        snowflake_sql.snowflake_select(bounds, sql=rolling)
    assert "DATEADD" in snowflake_sql.snowflake_select(bounds, sql=rolling, require_window=False)
    with pytest.raises(WorkMagicConfigError, match="workmagic_window_start"):
        bigquery_sql.bigquery_select(sql="SELECT * FROM t")


def test_setup_sql_parses_and_carries_the_connection_values() -> None:
    setup = snowflake_setup.snowflake_setup_sql(
        account_id="121226",
        bucket=BUCKET,
        role_arn="arn:aws:iam::588759585297:role/AmazonS3FolderAccess121226",
        external_id="ext_id_account_121226",
        stage="sales.public.workmagic",
    )
    create, describe, stage = setup.statements
    assert isinstance(sqlglot.parse_one(create, read="snowflake"), exp.Create)
    assert isinstance(sqlglot.parse_one(describe, read="snowflake"), exp.Describe)
    assert isinstance(sqlglot.parse_one(stage, read="snowflake"), exp.Create)
    assert create.startswith(
        'CREATE STORAGE INTEGRATION IF NOT EXISTS "S3_ORDER_EXPORT_TO_WORKMAGIC"'
    )
    assert "STORAGE_ALLOWED_LOCATIONS = ('s3://workmagic-inbound-data/account-121226/')" in create
    assert "STORAGE_AWS_EXTERNAL_ID = 'ext_id_account_121226'" in create
    assert describe == 'DESC INTEGRATION "S3_ORDER_EXPORT_TO_WORKMAGIC"'
    assert "URL = 's3://workmagic-inbound-data/account-121226/'" in stage
    replaced = snowflake_setup.snowflake_setup_sql(
        account_id="1", bucket=BUCKET, role_arn=ROLE_ARN, external_id="e1", replace=True,
    )  # fmt: skip
    assert replaced.statements[0].startswith('CREATE OR REPLACE STORAGE INTEGRATION "S3_')


def test_setup_sql_main_prints_the_external_id_only_there(
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = io.StringIO()
    code = _setup_sql(
        ["snowflake", "--account", "121226", "--role-arn",
         "arn:aws:iam::588759585297:role/AmazonS3FolderAccess121226",
         "--external-id", "ext_id_account_121226", "--stage", "db.s.wm"],
        out=out,
    )  # fmt: skip
    assert code == 0
    text = out.getvalue()
    assert "STORAGE_AWS_EXTERNAL_ID = 'ext_id_account_121226'" in text
    assert "DESC INTEGRATION" in text and "CREATE STAGE IF NOT EXISTS" in text
    for statement in [s for s in text.split(";") if s.strip() and not s.strip().startswith("--")]:
        lines = [ln for ln in statement.splitlines() if not ln.startswith("--")]
        if "".join(lines).strip():
            sqlglot.parse_one("\n".join(lines), read="snowflake")
    assert _setup_sql(["snowflake", "--account", "121226"], out=io.StringIO()) == 2
    assert "missing role_arn, external_id" in capsys.readouterr().err


def test_setup_sql_prints_the_grants_of_the_airflow_role() -> None:
    out = io.StringIO()
    args = ["snowflake", "--account", "121226", "--role-arn",
            "arn:aws:iam::588759585297:role/AmazonS3FolderAccess121226",
            "--external-id", "ext_id_account_121226", "--role", "airflow_loader"]  # fmt: skip
    assert _setup_sql([*args, "--stage", "db.s.wm", "--table", "db.s.orders"], out=out) == 0
    text = out.getvalue()
    to = 'TO ROLE "AIRFLOW_LOADER"'
    for grant in (
        f'GRANT USAGE ON INTEGRATION "S3_ORDER_EXPORT_TO_WORKMAGIC" {to};',
        f'GRANT USAGE ON STAGE "DB"."S"."WM" {to};',
        f'GRANT USAGE ON DATABASE "DB" {to};',
        f'GRANT USAGE ON SCHEMA "DB"."S" {to};',
        f'GRANT SELECT ON TABLE "DB"."S"."ORDERS" {to};',
    ):
        assert grant in text
    # without a permanent stage, the run creates a temporary one: CREATE STAGE on a schema
    out = io.StringIO()
    assert _setup_sql([*args, "--stage-schema", "db.s"], out=out) == 0
    assert f'GRANT CREATE STAGE ON SCHEMA "DB"."S" {to};' in out.getvalue()
    assert "GRANT USAGE ON STAGE" not in out.getvalue()
    with pytest.raises(WorkMagicConfigError):
        snowflake_setup.snowflake_grants("r; DROP", "i")


def test_stage_list_and_remove() -> None:
    folder = _folder(datetime(2026, 3, 8, 2, tzinfo=UTC))
    listing = snowflake_sql.snowflake_list_sql("db.s.wm", folder)
    assert isinstance(sqlglot.parse_one(listing, read="snowflake"), exp.ListStage)
    remove = snowflake_sql.snowflake_remove_sql(
        "db.s.wm", folder, ["2026-03-08-02-snowflake-0000_0_0_1.json.gz"]
    )
    assert remove == (
        'REMOVE @"DB"."S"."WM"/order-geo-date-data/2026/03/08/02/ '
        "PATTERN = '.*/(2026-03-08-02-snowflake-0000_0_0_1[.]json[.]gz)'"
    )
    for bad in ["2026-03-08-01-snowflake-0000_0_0_1.json.gz", "2026-03-08-02-snowflake-0000|.*",
                "their-file.json.gz", "2026-03-08-02-snowflake-0000/../x"]:  # fmt: skip
        with pytest.raises(WorkMagicConfigError, match="refusing"):
            snowflake_sql.snowflake_remove_sql("db.s.wm", folder, [bad])


def test_identifiers_are_quoted() -> None:
    assert (
        snowflake_sql.snowflake_identifier("db.public.orders", max_parts=3)
        == '"DB"."PUBLIC"."ORDERS"'
    )
    assert snowflake_sql.snowflake_identifier('"My Table"') == '"My Table"'
    assert (
        snowflake_sql.snowflake_identifier('db."Mixed Case".t', max_parts=3)
        == '"DB"."Mixed Case"."T"'
    )
    assert bigquery_sql.bigquery_table("proj-1.sales.orders") == "`proj-1`.`sales`.`orders`"
    assert bigquery_sql.bigquery_table("`proj-1.sales.orders`") == "`proj-1`.`sales`.`orders`"
    assert bigquery_sql.bigquery_column("updated_at") == "`updated_at`"


SNOWFLAKE_INJECTIONS = [
    "orders; DROP TABLE orders",
    "orders --",
    "orders/* x */",
    'a"; DROP TABLE x; --',
    '"a"".b"',
    "a.b.c.d",
    "orders) UNION SELECT * FROM secrets (",
    "1orders",
    "",
    "x' OR '1'='1",
]


@pytest.mark.parametrize("value", SNOWFLAKE_INJECTIONS)
def test_snowflake_injection_in_every_identifier_is_refused(value: str) -> None:
    bounds = _window(datetime(2026, 3, 8, 2, tzinfo=UTC))
    folder = _folder(datetime(2026, 3, 8, 2, tzinfo=UTC))
    with pytest.raises(WorkMagicConfigError, match=r"table .* not a valid identifier"):
        snowflake_sql.snowflake_select(bounds, table=value)
    with pytest.raises(WorkMagicConfigError, match="updated_at_column"):
        snowflake_sql.snowflake_select(bounds, table="t", updated_at_column=value)
    with pytest.raises(WorkMagicConfigError, match="storage_integration"):
        snowflake_sql.snowflake_unload_sql(
            folder, BUCKET, "SELECT 1", storage_integration=value, max_file_size=10_000
        )
    with pytest.raises(WorkMagicConfigError, match="stage"):
        snowflake_sql.snowflake_list_sql(value, folder)
    with pytest.raises(WorkMagicConfigError):
        snowflake_setup.snowflake_setup_sql(
            account_id="1", bucket=BUCKET, role_arn=ROLE_ARN, external_id="e1",
            storage_integration=value,
        )  # fmt: skip


@pytest.mark.parametrize(
    "value", ["sales.orders`; DROP TABLE x; --", "a.b.c.d", "a.b c", "p.d.t' OR 1", "x`y"]
)
def test_bigquery_injection_is_refused(value: str) -> None:
    with pytest.raises(WorkMagicConfigError, match="table"):
        bigquery_sql.bigquery_select(table=value)
    with pytest.raises(WorkMagicConfigError, match="updated_at_column"):
        bigquery_sql.bigquery_select(table="d.t", updated_at_column=value)


@pytest.mark.parametrize("category", ["../x", "a/b", "cat'", "cat; DROP", "{category}", ""])
def test_category_injection_is_refused(category: str) -> None:
    with pytest.raises(WorkMagicConfigError, match="data category"):
        _folder(datetime(2026, 3, 8, 2, tzinfo=UTC), category)


def test_bucket_and_file_size_and_multiple_statements_are_refused() -> None:
    with pytest.raises(WorkMagicConfigError, match=r"dataset\.table"):
        bigquery_sql.bigquery_select(table="orders")  # BigQuery needs at least dataset.table
    folder = _folder(datetime(2026, 3, 8, 2, tzinfo=UTC))
    with pytest.raises(WorkMagicConfigError, match="bucket"):
        snowflake_sql.snowflake_unload_sql(
            folder, "b' OR 1", "SELECT 1", storage_integration="i", max_file_size=10_000
        )
    with pytest.raises(WorkMagicConfigError, match="max_file_size"):
        snowflake_sql.snowflake_unload_sql(
            folder, BUCKET, "SELECT 1", storage_integration="i", max_file_size=1_500_000
        )
    bounds = _window(datetime(2026, 3, 8, 2, tzinfo=UTC))
    m = snowflake_sql.snowflake_window_macros(bounds)
    with pytest.raises(WorkMagicConfigError, match="exactly one statement"):
        snowflake_sql.snowflake_select(
            bounds, sql=f"SELECT 1 WHERE x >= {m['workmagic_window_start']} AND x < "
            f"{m['workmagic_window_end']}; DROP TABLE orders"
        )  # fmt: skip
    with pytest.raises(WorkMagicConfigError, match="Query"):
        bigquery_sql.bigquery_select(
            sql="DELETE FROM t WHERE a >= @window_start AND a < @window_end"
        )
    with pytest.raises(WorkMagicConfigError, match="either table"):
        bigquery_sql.bigquery_select(table="d.t", sql="SELECT 1")
