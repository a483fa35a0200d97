"""The WorkMagic API client against the in-process API sandbox (loopback HTTP, no Airflow run)."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from clocks import ManualClock, SimClock

from workmagic_provider.hooks.api import (
    ACCEPTED,
    FAILED,
    REJECTED,
    ApiEndpoint,
    ApiOrder,
    RetryPolicy,
    WorkMagicApiAuthError,
    WorkMagicApiClient,
    order_from_json,
    same_enrichment,
)
from workmagic_provider.hooks.workmagic import WorkMagicHook
from workmagic_sandbox.api import (
    DEFAULT_ENRICH_API_KEY,
    DEFAULT_ORDERS_API_KEY,
    ApiFaults,
    ApiSandboxServer,
    check_enrich_order,
)

NOW = datetime(2026, 3, 8, 3, 5, tzinfo=timezone.utc)
FAST = RetryPolicy(retry_for=30, backoff=0.01, timeout=5)


@pytest.fixture
def server() -> Iterator[ApiSandboxServer]:
    box = ApiSandboxServer(clock=lambda: NOW).start()
    try:
        yield box
    finally:
        box.close()


def endpoint(
    server: ApiSandboxServer, api: str = "enrich", key: str = DEFAULT_ENRICH_API_KEY
) -> ApiEndpoint:
    """The endpoint the hook builds from a ``workmagic`` connection pointing at ``server``."""
    conn = {
        "conn_type": "workmagic",
        "password": key,
        "extra": {
            "account_id": "121226",
            "enrich_api_url": server.endpoint,
            "orders_api_url": server.endpoint,
            "orders_api_key": DEFAULT_ORDERS_API_KEY,
        },
    }
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AIRFLOW_CONN_WM_TEST", json.dumps(conn))
        return WorkMagicHook(workmagic_conn_id="wm_test").api_endpoint(api)


def enrich_client(server: ApiSandboxServer, **kwargs: Any) -> WorkMagicApiClient:
    kwargs.setdefault("retry", FAST)
    return WorkMagicApiClient(endpoint(server), seed=1, **kwargs)


def orders(count: int, start: int = 0, **changes: Any) -> list[ApiOrder]:
    out = []
    for n in range(start, start + count):
        row = {
            "order_id": f"o{n:05d}",
            "order_timestamp": (NOW - timedelta(hours=1, seconds=n)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "sales_amount": 10.5 + n,
            "profit_amount": -1.25,
            **changes,
        }
        out.append(order_from_json(n + 1, json.dumps(row).encode(), "order_id", "order_timestamp"))
    return out


def seed(server: ApiSandboxServer, batch: list[ApiOrder]) -> None:
    server.seed_orders(o.order_id for o in batch)


def test_batches_are_sent_once_each(server: ApiSandboxServer) -> None:
    batch = orders(250)
    seed(server, batch)
    with enrich_client(server, batch_size=100) as client:
        result = client.post_orders(batch)
    assert result.counts[ACCEPTED] == 250 and not result.problems
    assert result.requests == 3 and result.retries == 0
    assert set(server.delivery_counts().values()) == {1} and len(server.enriched()) == 250


@pytest.mark.parametrize("named", [True, False], ids=["server-names-them", "bisect"])
def test_a_refused_batch_is_split_until_the_bad_orders_are_isolated(
    server: ApiSandboxServer, named: bool
) -> None:
    server.faults = ApiFaults(per_order_errors=named)
    batch = orders(100)
    server.seed_orders(o.order_id for o in batch if o.order_id not in ("o00007", "o00063"))
    with enrich_client(server, batch_size=100) as client:
        result = client.post_orders(batch)
    assert result.counts[ACCEPTED] == 98 and result.counts[REJECTED] == 2
    assert {p.order_id for p in result.of(REJECTED)} == {"o00007", "o00063"}
    assert all(
        "unknown order_id" in p.reason and p.reason.startswith("HTTP 400") for p in result.problems
    )
    # named: one refusal, then the 98 others in one request; bisect: ~2*log2(100) per bad order
    assert (result.splits, result.requests) == ((1, 2) if named else (13, 27))
    assert len(server.enriched()) == 98 and set(server.delivery_counts().values()) == {1}


def test_429_retry_after_pauses_every_worker(server: ApiSandboxServer) -> None:
    batch = orders(400)
    seed(server, batch)
    server.faults = ApiFaults(rate_limit_every=10_000, rate_limit_burst=1, retry_after=5)
    clock = ManualClock()  # time stands still until the test advances it
    more = threading.Event()

    def feed() -> Iterator[ApiOrder]:
        yield from batch[:50]  # batch 1: its request is the one throttled
        more.wait(30)
        yield from batch[50:]  # batches 2-8 arrive while the pause holds

    results: dict[str, Any] = {}
    with enrich_client(server, batch_size=50, max_workers=4, clock=clock) as client:
        sender = threading.Thread(target=lambda: results.update(r=client.post_orders(feed())))
        sender.start()
        assert clock.wait_for(lambda c: len(c.sleepers) == 1)  # the throttled worker waits
        more.set()
        # the other three workers take batches 2-4: they must wait out the same pause, not send
        clock.wait_for(lambda c: len(c.sleepers) == 4 or len(server.requests) >= 8)
        sent_during_pause = len(server.requests)
        wakes = sorted(clock.sleepers.values())
        clock.advance(10)
        sender.join(30)
    assert sent_during_pause == 1  # only the throttled request itself
    assert len(wakes) == 4 and wakes[0] >= 5  # every worker sleeps until Retry-After has passed
    result = results["r"]
    assert result.counts[ACCEPTED] == 400 and result.statuses["429"] == 1
    assert set(server.delivery_counts().values()) == {1}


def test_500s_and_dropped_connections_are_retried(server: ApiSandboxServer) -> None:
    batch = orders(600)
    seed(server, batch)
    server.faults = ApiFaults(error_rate=0.25, drop_rate=0.1, seed=3)
    with enrich_client(server, batch_size=20, max_workers=4, clock=SimClock()) as c:
        result = c.post_orders(batch)
    assert result.counts[ACCEPTED] == 600 and result.retries > 0
    assert result.statuses["500"] > 0 and result.statuses["RemoteProtocolError"] > 0
    # faults strike before anything is applied: every order delivered exactly once
    assert set(server.delivery_counts().values()) == {1} and len(server.delivery_counts()) == 600


def test_a_30_s_outage_is_retried_through_within_retry_for(server: ApiSandboxServer) -> None:
    batch = orders(600)
    seed(server, batch)
    clock = SimClock()
    server.monotonic = clock.monotonic  # the outage lasts 30 simulated seconds
    server.faults = ApiFaults(outage_after=5, outage_seconds=30)
    with enrich_client(server, batch_size=20, retry=RetryPolicy(retry_for=120), clock=clock) as c:
        result = c.post_orders(batch)
    assert result.counts[ACCEPTED] == 600 and not result.problems
    assert server.dropped > 0 and clock.monotonic() >= 30  # the outage happened and passed
    assert len(server.delivery_counts()) == 600 and set(server.delivery_counts().values()) == {1}


def test_retries_stop_after_retry_for_and_fail_each_order(server: ApiSandboxServer) -> None:
    batch = orders(30)
    seed(server, batch)
    clock = SimClock()
    server.faults = ApiFaults(error_rate=1.0)
    policy = RetryPolicy(retry_for=20, backoff=0.5, max_backoff=4)
    with enrich_client(server, batch_size=10, max_workers=1, retry=policy, clock=clock) as c:
        result = c.post_orders(batch)
    assert result.counts[FAILED] == 30 and not result.counts[ACCEPTED]
    reason = result.problems[0].reason
    assert "HTTP 500" in reason and re.search(r"still failing after 2\d s of retries", reason)
    # each of the 3 requests kept trying for its 20 s (and at most one backoff longer)
    assert 3 * 20 <= clock.monotonic() <= 3 * (20 + 4)
    assert result.requests > 3 * 5 and not server.enriched()


def test_wrong_key_raises_a_clear_401_without_the_key(server: ApiSandboxServer) -> None:
    wrong = "wm-live-key-that-must-not-leak-123"
    client = WorkMagicApiClient(endpoint(server, key=wrong), retry=FAST)
    with client, pytest.raises(WorkMagicApiAuthError) as raised:
        client.post_orders(orders(500))
    message = str(raised.value)
    assert (
        "401 Unauthorized" in message and "'wm_test'" in message and "Enrich Order API" in message
    )
    assert wrong not in message
    assert server.statuses[401] <= 4  # stopped, not hammered once per batch


def test_get_paginates_by_narrowing_the_window(server: ApiSandboxServer) -> None:
    batch = orders(250)
    seed(server, batch)
    with enrich_client(server, batch_size=100) as client:
        client.post_orders(batch)
        fetched = client.fetch_enriched(NOW - timedelta(hours=2), NOW, limit=10)
    assert set(fetched.orders) == {o.order_id for o in batch}
    assert fetched.requests > 25 and not fetched.truncated_windows
    for order in batch:
        assert same_enrichment(json.loads(order.body), fetched.orders[order.order_id])


def test_orders_api_posts_custom_orders_that_enrich_then_knows(server: ApiSandboxServer) -> None:
    from workmagic_sandbox.sample_data import custom_site_orders

    rows = list(custom_site_orders(30, hour=NOW - timedelta(hours=1)))
    custom = [
        order_from_json(n, json.dumps(r).encode(), "id", "updated_at") for n, r in enumerate(rows)
    ]
    with WorkMagicApiClient(endpoint(server, "orders"), retry=FAST) as client:
        result = client.post_orders(custom)
    assert result.counts[ACCEPTED] == 30
    assert set(server.custom_orders()) == {r["id"] for r in rows}
    enrich = [
        order_from_json(
            1,
            json.dumps(
                {
                    "order_id": rows[0]["id"],
                    "order_timestamp": rows[0]["created_at"],
                    "sales_amount": 1,
                    "profit_amount": 0,
                }
            ).encode(),
            "order_id",
            "order_timestamp",
        )
    ]
    with enrich_client(server) as client:
        assert client.post_orders(enrich).counts[ACCEPTED] == 1


def test_state_survives_a_restart_on_the_same_port(server: ApiSandboxServer) -> None:
    batch = orders(20)
    seed(server, batch)
    with enrich_client(server) as client:
        client.post_orders(batch)
    port = server.port
    server.stop()
    assert len(server.enriched()) == 20  # read from the file while stopped
    server.start()
    assert server.port == port and len(server.enriched()) == 20
    assert len(server.delivery_counts()) == 20


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"order_id": ""}, "order_id is required"),
        ({"order_timestamp": "2026-03-08 02:00:00"}, "with a time zone"),
        ({"sales_amount": "12"}, "sales_amount is required and must be a number"),
        ({"profit_amount": True}, "profit_amount"),
        ({"currency": "usd"}, "3-letter"),
        ({"order_timestamp": "2026-01-01T00:00:00Z"}, "older than 4 weeks"),
    ],
)
def test_sandbox_checks_the_documented_rules_itself(change: dict[str, Any], reason: str) -> None:
    order = {
        "order_id": "A",
        "order_timestamp": "2026-03-08T02:00:00Z",
        "sales_amount": 1,
        "profit_amount": -2,
        **change,
    }
    found = check_enrich_order(order, NOW, timedelta(days=28))
    assert found is not None and reason in found


def test_sandbox_accepts_negative_sales_and_profit() -> None:
    refund = {
        "order_id": "A",
        "order_timestamp": "2026-03-08T02:00:00Z",
        "sales_amount": -19.99,
        "profit_amount": -25.0,
    }
    assert check_enrich_order(refund, NOW, timedelta(days=28)) is None


def test_hook_hands_out_the_api_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from workmagic_provider.exceptions import WorkMagicConfigError
    from workmagic_provider.hooks.workmagic import WorkMagicHook

    conn = {
        "conn_type": "workmagic",
        "password": "wm_enrich_key_123",
        "extra": {
            "account_id": "121226",
            "enrich_api_url": "http://127.0.0.1:9",
            "orders_api_key": "wm_orders_key_456",
            "orders_api_url": "http://127.0.0.1:9",
        },
    }
    monkeypatch.setenv("AIRFLOW_CONN_WORKMAGIC_DEFAULT", json.dumps(conn))
    hook = WorkMagicHook()
    enrich = hook.get_api_client("enrich", batch_size=7)
    orders = hook.get_api_client("orders")
    assert enrich.batch_size == 7 and enrich.endpoint.name != orders.endpoint.name
    with pytest.raises(WorkMagicConfigError, match="api must be"):
        hook.get_api_client("pixel")
