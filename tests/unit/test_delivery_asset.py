"""The delivery asset of the example DAGs: its URI, and no event for another account's folder.

The event Airflow records from a real run is checked in
``tests/integration/test_assets_and_lineage_dag.py``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Any

import pytest

from workmagic_provider.example_defaults import hour_delivered, workmagic_asset
from workmagic_provider.exceptions import WorkMagicConfigError

HOUR = datetime(2026, 3, 8, 2, tzinfo=timezone.utc)
FOLDER = "s3://workmagic-inbound-data/account-121226/order-geo-date-data/2026/03/08/02/"


def _context(asset: Any) -> dict[str, Any]:
    return {"data_interval_start": HOUR, "outlet_events": {asset: SimpleNamespace(extra={})}}


def test_asset_is_named_by_account_and_category() -> None:
    asset = workmagic_asset(account_id="121226", data_category="order-geo-date-data")

    assert asset.uri == "workmagic://121226/order-geo-date-data"
    assert asset.name == "workmagic-121226-order-geo-date-data"


def test_the_event_carries_the_hour_and_the_folder() -> None:
    asset = workmagic_asset(account_id="121226", data_category="order-geo-date-data")
    context = _context(asset)

    hour_delivered(asset)(context, {"destination": FOLDER, "empty": False, "rows": 3})

    assert context["outlet_events"][asset].extra == {
        "hour": "2026-03-08T02:00:00+00:00",
        "destination": FOLDER,
        "empty": False,
    }


@pytest.mark.parametrize(("account", "category"), [("999", "order-geo-date-data"), ("121226", "x")])
def test_an_asset_of_another_account_or_category_is_refused(account: str, category: str) -> None:
    asset = workmagic_asset(account_id=account, data_category=category)
    context = _context(asset)

    with pytest.raises(WorkMagicConfigError, match="make the DAG's asset match"):
        hour_delivered(asset)(context, {"destination": FOLDER})
    assert context["outlet_events"][asset].extra == {}
