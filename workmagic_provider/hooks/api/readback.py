"""Read enriched orders back (``GET /enrich/orders?start=&end=&limit=``) and compare them.

WorkMagic publishes no page token: a page holding ``limit`` orders may be incomplete, so its
time window is halved and both halves read again, concurrently, until every page holds fewer
than ``limit`` orders (or the window is one millisecond wide, reported as truncated).
"""

from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from workmagic_provider.exceptions import WorkMagicApiError, WorkMagicConfigError
from workmagic_provider.hooks.api.results import FetchResult, iso_z, parse_iso
from workmagic_provider.hooks.api.transport import Transport
from workmagic_provider.standards import to_utc

if TYPE_CHECKING:
    import httpx

#: ``limit`` of one GET page (WorkMagic's documented default).
DEFAULT_VERIFY_LIMIT = 100
#: The narrowest GET window; a full page at this width cannot be narrowed further.
MIN_WINDOW = timedelta(milliseconds=1)


def fetch_enriched(
    transport: Transport,
    start: datetime,
    end: datetime,
    *,
    limit: int = DEFAULT_VERIFY_LIMIT,
    max_workers: int = 4,
) -> FetchResult:
    """Every enriched order with ``start <= order_timestamp <= end``, by narrowing windows."""
    if not transport.endpoint.readable:
        raise WorkMagicConfigError("only the Enrich Order API can be read back (GET)")
    if limit < 1:
        raise WorkMagicConfigError(f"limit must be at least 1, got {limit}")
    transport.stopped.clear()
    fetched = FetchResult()

    def page(low: datetime, high: datetime) -> tuple[datetime, datetime, list[dict[str, Any]], int]:
        reply = transport.request(
            "GET", params={"start": iso_z(low), "end": iso_z(high), "limit": str(limit)}
        )
        if reply.response is None or reply.response.status_code >= 400:
            raise WorkMagicApiError(
                f"reading back {transport.endpoint.url} for {iso_z(low)}..{iso_z(high)} "
                f"failed: {reply.problem}"
            )
        return low, high, _orders_of(reply.response), reply.requests

    with ThreadPoolExecutor(max_workers, thread_name_prefix="workmagic-get") as pool:
        pending = {pool.submit(page, to_utc(start), to_utc(end))}
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    low, high, orders, requests = future.result()
                    fetched.requests += requests
                    if len(orders) >= limit and high - low > MIN_WINDOW:
                        middle = low + (high - low) / 2
                        pending.add(pool.submit(page, low, middle))
                        pending.add(pool.submit(page, middle, high))
                        continue
                    if len(orders) >= limit:
                        fetched.truncated_windows.append((iso_z(low), iso_z(high)))
                    for order in orders:
                        order_id = order.get("order_id")
                        if isinstance(order_id, str):
                            fetched.orders[order_id] = order
        except BaseException:
            transport.stopped.set()
            for future in pending:
                future.cancel()
            raise
    return fetched


def _orders_of(response: httpx.Response) -> list[dict[str, Any]]:
    """The orders of a GET page: ``{"orders": [...]}``, ``{"data": [...]}`` or a bare list."""
    try:
        payload = response.json()
    except ValueError as err:
        raise WorkMagicApiError(
            f"GET {response.request.url.copy_with(query=None)} did not return JSON"
        ) from err
    if isinstance(payload, dict):
        payload = payload.get("orders", payload.get("data", []))
    if not isinstance(payload, list):
        raise WorkMagicApiError("GET /enrich/orders returned neither a list nor {'orders': [...]}")
    return [item for item in payload if isinstance(item, dict)]


def same_enrichment(sent: dict[str, Any], stored: dict[str, Any] | None) -> bool:
    """Whether WorkMagic holds what was sent (timestamp instant, amounts, currency)."""
    if stored is None:
        return False
    if parse_iso(sent.get("order_timestamp")) != parse_iso(stored.get("order_timestamp")):
        return False
    for name in ("sales_amount", "profit_amount"):
        a, b = sent.get(name), stored.get(name)
        if not isinstance(a, (int, float)) or not isinstance(b, (int, float)):
            return False
        if abs(float(a) - float(b)) > 1e-6 * max(1.0, abs(float(a))):
            return False
    return (sent.get("currency") or "USD") == (stored.get("currency") or "USD")


__all__ = ["DEFAULT_VERIFY_LIMIT", "fetch_enriched", "same_enrichment"]
