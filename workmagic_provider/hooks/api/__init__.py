"""WorkMagic REST client: the Enrich Order API (POST/GET ``/enrich/orders``) and the Orders API.

Both APIs take ``{"orders": [...]}`` batches, so one client serves both; an
:class:`ApiEndpoint` (built by the hook from the connection) says what differs. The pieces:

* :mod:`.transport` — one request, retried on tenacity for ``retry_for`` seconds (429 with the
  shared ``Retry-After`` pause, 5xx and connection errors with jittered backoff);
* :mod:`.batching` — batches from a few threads, bisection of refused batches;
* :mod:`.readback` — GET by narrowing time windows, and the comparison with what was sent;
* :mod:`.results` — orders, per-order outcomes and counts;
* :mod:`.clock` — the injected clock.

What WorkMagic does not publish (batch size, rate limits, response bodies) is a configurable
assumption listed in the README.
"""

from workmagic_provider.exceptions import WorkMagicApiAuthError, WorkMagicApiError
from workmagic_provider.hooks.api.client import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_MAX_WORKERS,
    WorkMagicApiClient,
)
from workmagic_provider.hooks.api.clock import SYSTEM_CLOCK, Clock, SystemClock
from workmagic_provider.hooks.api.endpoint import ENRICH_PATH, ORDERS_PATH, ApiEndpoint
from workmagic_provider.hooks.api.readback import DEFAULT_VERIFY_LIMIT, same_enrichment
from workmagic_provider.hooks.api.results import (
    ACCEPTED,
    FAILED,
    OUTCOMES,
    REJECTED,
    TOO_OLD,
    ApiOrder,
    FetchResult,
    OrderOutcome,
    SendResult,
    iso_z,
    order_from_json,
    parse_iso,
)
from workmagic_provider.hooks.api.transport import RetryPolicy

__all__ = [
    "ACCEPTED",
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_MAX_WORKERS",
    "DEFAULT_VERIFY_LIMIT",
    "ENRICH_PATH",
    "FAILED",
    "ORDERS_PATH",
    "OUTCOMES",
    "REJECTED",
    "SYSTEM_CLOCK",
    "TOO_OLD",
    "ApiEndpoint",
    "ApiOrder",
    "Clock",
    "FetchResult",
    "OrderOutcome",
    "RetryPolicy",
    "SendResult",
    "SystemClock",
    "WorkMagicApiAuthError",
    "WorkMagicApiClient",
    "WorkMagicApiError",
    "iso_z",
    "order_from_json",
    "parse_iso",
    "same_enrichment",
]
