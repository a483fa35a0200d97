"""OpenLineage of the push-down operators: the warehouse table(s) read -> WorkMagic's hour folder.

Each test runs the operator for real (fakesnow / the loopback BigQuery), then asks it what the
openlineage provider asks after a success.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from .test_bigquery_operator import _context as _bq_context
from .test_bigquery_operator import _gz, _rows
from .test_bigquery_operator import _operator as _bq_operator
from .test_snowflake_operator import _context, _load_orders, _operator

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:Arrow output:UserWarning"),  # fakesnow internals
]

S3_FOLDER = ("s3://workmagic-inbound-data", "account-121226/order-geo-date-data/2026/03/08/02")
GCS_FOLDER = ("gs://workmagic-inbound-data", "account-121226/order-geo-date-data/2026/03/08/02")


def _names(datasets: Any) -> list[tuple[str, str]]:
    return [(d.namespace, d.name) for d in datasets]


def test_snowflake_table_to_the_s3_hour_folder(fake_snowflake: Any, clean_sandbox: Any) -> None:
    _load_orders(fake_snowflake, ["2026-03-08 01:30:00"])
    op = _operator(stage="wm")
    op.execute(_context())

    lineage = op.get_openlineage_facets_on_complete(None)

    assert _names(lineage.inputs) == [("snowflake://test-account", "SALES.PUBLIC.ORDERS")]
    assert _names(lineage.outputs) == [S3_FOLDER]


def test_snowflake_select_names_its_tables_qualified(
    fake_snowflake: Any, clean_sandbox: Any
) -> None:
    _load_orders(fake_snowflake, ["2026-03-08 02:30:00"])
    op = _operator(
        table=None,
        stage="wm",
        sql=(
            'WITH recent AS (SELECT * FROM orders WHERE "changed" >= {{ workmagic_window_start }} '
            'AND "changed" < {{ workmagic_window_end }}) SELECT "id", "created_at", '
            '"updated_at", "total_price" FROM recent'
        ),
        lookback=timedelta(0),
    )
    context = _context()
    op.render_template_fields(context)
    op.execute(context)

    lineage = op.get_openlineage_facets_on_complete(None)

    assert _names(lineage.inputs) == [("snowflake://test-account", "SALES.PUBLIC.ORDERS")]
    assert _names(lineage.outputs) == [S3_FOLDER]


def test_snowflake_render_only_reports_nothing_written(fake_snowflake: Any) -> None:
    op = _operator(render_only=True)
    op.execute(_context())

    lineage = op.get_openlineage_facets_on_complete(None)

    assert lineage.inputs == [] and lineage.outputs == []


def test_bigquery_table_to_the_gcs_hour_folder(fake_bigquery: Any) -> None:
    fake_bigquery.check_rows = 3
    fake_bigquery.export_shards = lambda uri: [_gz(_rows(3, 1))]
    op = _bq_operator(table="sales.orders", location="EU")
    op.execute(_bq_context())

    lineage = op.get_openlineage_facets_on_complete(None)

    # an unqualified table is in the job's project
    assert _names(lineage.inputs) == [("bigquery", "test-project.sales.orders")]
    assert _names(lineage.outputs) == [GCS_FOLDER]


def test_bigquery_select_names_every_table(fake_bigquery: Any) -> None:
    fake_bigquery.check_rows = 0
    fake_bigquery.export_shards = lambda uri: []
    op = _bq_operator(
        table=None,
        location="EU",
        sql=(
            "SELECT o.* FROM `p.d.orders` o JOIN sales.customers c USING (id) "
            "WHERE ts >= {{ workmagic_window_start }} AND ts < {{ workmagic_window_end }}"
        ),
    )
    context = _bq_context()
    op.render_template_fields(context)
    op.execute(context)

    lineage = op.get_openlineage_facets_on_complete(None)

    assert sorted(_names(lineage.inputs)) == [
        ("bigquery", "p.d.orders"),
        ("bigquery", "test-project.sales.customers"),
    ]
    assert _names(lineage.outputs) == [GCS_FOLDER]
