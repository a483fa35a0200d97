"""The client a user's code gets from ``WorkMagicHook().get_api_client()``: one endpoint,
batched concurrent POSTs (:mod:`.batching`) and read-back (:mod:`.readback`) over one shared
transport (:mod:`.transport`: retries, the shared Retry-After pause, the throttle)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from workmagic_provider.exceptions import WorkMagicConfigError
from workmagic_provider.hooks.api.batching import BatchSender
from workmagic_provider.hooks.api.clock import Clock
from workmagic_provider.hooks.api.endpoint import ApiEndpoint
from workmagic_provider.hooks.api.readback import DEFAULT_VERIFY_LIMIT, fetch_enriched
from workmagic_provider.hooks.api.results import ApiOrder, FetchResult, SendResult
from workmagic_provider.hooks.api.transport import RetryPolicy, Transport

#: Orders per POST (WorkMagic publishes no maximum).
DEFAULT_BATCH_SIZE = 100
#: Concurrent requests.
DEFAULT_MAX_WORKERS = 4


class WorkMagicApiClient:
    """Batched, concurrent, retrying client of one WorkMagic API endpoint.

    :param endpoint: the API (``WorkMagicHook.api_endpoint("enrich" | "orders")``).
    :param batch_size: orders per request.
    :param max_workers: concurrent requests.
    :param retry: the :class:`RetryPolicy` (how long transient errors are retried).
    :param max_rps: at most this many requests per second (None: no limit).
    :param clock: the clock retries and pauses run on (tests simulate time with it).
    """

    def __init__(
        self,
        endpoint: ApiEndpoint,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_workers: int = DEFAULT_MAX_WORKERS,
        retry: RetryPolicy | None = None,
        max_rps: float | None = None,
        logger: Any = None,
        clock: Clock | None = None,
        seed: int | None = None,
    ) -> None:
        if batch_size < 1 or max_workers < 1:
            raise WorkMagicConfigError("batch_size and max_workers must be at least 1")
        self.endpoint = endpoint
        self.batch_size = batch_size
        self.max_workers = max_workers
        self.transport = Transport(
            endpoint,
            policy=retry,
            max_connections=max_workers,
            max_rps=max_rps,
            clock=clock,
            seed=seed,
        )
        self._sender = BatchSender(
            self.transport, batch_size=batch_size, max_workers=max_workers, logger=logger
        )

    @property
    def clock(self) -> Clock:
        return self.transport.clock

    def post_orders(self, orders: Iterable[ApiOrder]) -> SendResult:
        """Send every order once (lazily consumed); each ends accepted, rejected or failed."""
        return self._sender.send(orders)

    def fetch_enriched(
        self, start: datetime, end: datetime, *, limit: int = DEFAULT_VERIFY_LIMIT
    ) -> FetchResult:
        """Every enriched order with ``start <= order_timestamp <= end`` (Enrich API only)."""
        return fetch_enriched(self.transport, start, end, limit=limit, max_workers=self.max_workers)

    def redact(self, text: str) -> str:
        return self.transport.redact(text)

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> WorkMagicApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["DEFAULT_BATCH_SIZE", "DEFAULT_MAX_WORKERS", "WorkMagicApiClient"]
