"""The delivery asset of the example DAGs: one per account and category, the hour in the event.

These feed Airflow's own outlet-event accessors; the event Airflow records from a real run (and
the downstream DAG it queues) is checked in ``tests/integration/test_assets_and_lineage_dag.py``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Any

from workmagic_provider.example_defaults import delivery_alias, hour_delivered, workmagic_asset

HOUR = datetime(2026, 3, 8, 2, tzinfo=timezone.utc)
FOLDER = "s3://workmagic-inbound-data/account-121226/order-geo-date-data/2026/03/08/02/"


def _events(summary: Any, task: Any = None) -> list[Any]:
    from airflow.sdk.execution_time.context import OutletEventAccessors

    alias = delivery_alias()
    outlet_events = OutletEventAccessors()
    context = {"task": task or SimpleNamespace(), "data_interval_start": HOUR}
    hour_delivered(alias)({**context, "outlet_events": outlet_events}, summary)
    return list(outlet_events[alias].asset_alias_events)


def test_asset_is_named_by_account_and_category() -> None:
    asset = workmagic_asset(account_id="121226", data_category="order-geo-date-data")

    assert asset.uri == "x-workmagic://121226/order-geo-date-data"
    assert asset.name == "workmagic-121226-order-geo-date-data"


def test_the_event_is_the_written_folders_account_with_the_hour() -> None:
    [event] = _events({"destination": FOLDER, "empty": False, "rows": 3})

    assert event.dest_asset_key.uri == "x-workmagic://121226/order-geo-date-data"
    assert event.extra == {
        "hour": "2026-03-08T02:00:00+00:00",
        "destination": FOLDER,
        "empty": False,
    }


def test_without_a_folder_the_tasks_connection_names_the_account() -> None:
    settings = SimpleNamespace(account_id="77", data_category="order-geo-date-data")
    task = SimpleNamespace(
        workmagic_conn_id="workmagic_default",
        data_category="enrich",
        workmagic_hook=lambda: SimpleNamespace(settings=settings),
    )

    [event] = _events({"endpoint": "https://api.workmagic.io/enrich/orders"}, task)

    assert event.dest_asset_key.uri == "x-workmagic://77/enrich"
    assert event.extra == {"hour": "2026-03-08T02:00:00+00:00"}


def test_render_only_delivered_nothing_so_no_event() -> None:
    assert _events({"mode": "render_only", "destination": FOLDER}) == []
