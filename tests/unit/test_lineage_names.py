"""Dataset names as OpenLineage's naming conventions (and the official providers) spell them."""

from __future__ import annotations

import pytest

from workmagic_provider.operators.lineage import (
    LineageDataset,
    sql_tables,
    table_datasets,
    uri_dataset,
)


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("s3://b/account-1/cat/2026/03/08/02/", ("s3://b", "account-1/cat/2026/03/08/02")),
        ("s3://conn_id@b/exports/02.jsonl", ("s3://b", "exports/02.jsonl")),
        ("s3a://b/k", ("s3://b", "k")),
        ("gs://b/x/y.json.gz", ("gs://b", "x/y.json.gz")),
        ("gcs://b/x/", ("gs://b", "x")),
        ("s3://b/", ("s3://b", "/")),
        ("s3://b/in/2026/*.csv", ("s3://b", "in/2026")),  # a glob names its folder
        ("/data/in/file.csv", ("file", "/data/in/file.csv")),
        ("file:///data/in/file.csv", ("file", "/data/in/file.csv")),
        ("https://api.example.com/enrich/orders", ("https://api.example.com", "/enrich/orders")),
        ("http://127.0.0.1:8080/", ("http://127.0.0.1:8080", "/")),
    ],
)
def test_uri_dataset(uri: str, expected: tuple[str, str]) -> None:
    assert uri_dataset(uri) == LineageDataset(*expected)


def test_sql_tables_are_the_tables_read_not_the_ctes() -> None:
    sql = (
        "WITH recent AS (SELECT * FROM sales.orders WHERE ts >= '2026-03-08') "
        "SELECT r.*, c.name FROM recent r JOIN db.crm.customers c ON c.id = r.customer_id "
        "JOIN sales.orders o2 ON o2.id = r.id"
    )

    assert sql_tables(sql, None) == [["db", "crm", "customers"], ["sales", "orders"]]


def test_unparseable_sql_names_no_table() -> None:
    assert sql_tables("SELECT FROM WHERE (", None) == []


def test_table_datasets_qualify_short_names_with_the_defaults() -> None:
    snowflake = table_datasets(
        "snowflake://acct",
        table=None,
        sql="SELECT * FROM orders JOIN other.items USING (id) JOIN d.s.t USING (id)",
        dialect="snowflake",
        defaults=("SALES", "PUBLIC"),
        upper=True,
    )
    bigquery = table_datasets(
        "bigquery", table="`sales.orders`", sql=None, dialect="bigquery", defaults=("proj", None)
    )

    assert [d.name for d in snowflake] == ["D.S.T", "SALES.OTHER.ITEMS", "SALES.PUBLIC.ORDERS"]
    assert [d.name for d in bigquery] == ["proj.sales.orders"]
