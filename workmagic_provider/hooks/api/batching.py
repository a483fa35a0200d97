"""POST orders in batches from a few threads; isolate the orders a batch was refused for.

* Orders are consumed lazily and cut into batches of ``batch_size``; at most
  ``2 * max_workers`` batches are held at a time.
* **2xx**: every order of the batch accepted.
* **Another 4xx** (not 401/403/429): the batch was refused as a whole. When the body names the
  refused orders (``{"errors": [{"index", "order_id", "reason"}]}``) those are rejected and the
  rest re-sent; otherwise the batch is split in halves until the offending orders are isolated,
  each then reported with the server's reason.
* **Retries ran out**: the batch's orders are reported as failed with the last problem.

Re-sending an enrich order overwrites it, so retrying a batch whose response was lost is safe.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any

from workmagic_provider.hooks.api.results import (
    ACCEPTED,
    FAILED,
    REJECTED,
    ApiOrder,
    SendResult,
)
from workmagic_provider.hooks.api.transport import Stopped, Transport

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)


class BatchSender:
    """Delivers orders through a :class:`Transport` with ``max_workers`` threads."""

    def __init__(
        self, transport: Transport, *, batch_size: int, max_workers: int, logger: Any = None
    ) -> None:
        self.transport = transport
        self.batch_size = batch_size
        self.max_workers = max_workers
        self.log = logger or log

    def send(self, orders: Iterable[ApiOrder]) -> SendResult:
        """Send every order once; return each one's outcome.

        Raises :class:`~workmagic_provider.exceptions.WorkMagicApiAuthError` (after stopping
        every worker) on 401/403.
        """
        result = SendResult()
        started = time.perf_counter()
        self.transport.stopped.clear()
        pending: set[Future[SendResult]] = set()
        with ThreadPoolExecutor(self.max_workers, thread_name_prefix="workmagic-api") as pool:
            try:
                for number, batch in enumerate(self._batches(orders), start=1):
                    pending.add(pool.submit(self._deliver_batch, number, batch))
                    while len(pending) >= 2 * self.max_workers:
                        done, pending = wait(pending, return_when=FIRST_COMPLETED)
                        for future in done:
                            result.merge(future.result())
                done, pending = wait(pending)
                for future in done:
                    result.merge(future.result())
            except BaseException:
                self.transport.stopped.set()
                for future in pending:
                    future.cancel()
                raise
        result.seconds = time.perf_counter() - started
        return result

    def _batches(self, orders: Iterable[ApiOrder]) -> Iterator[list[ApiOrder]]:
        batch: list[ApiOrder] = []
        for order in orders:
            batch.append(order)
            if len(batch) >= self.batch_size:
                yield batch
                batch = []
        if batch:
            yield batch

    def _deliver_batch(self, number: int, batch: list[ApiOrder]) -> SendResult:
        result = SendResult()
        try:
            self._deliver(batch, result)
        except Stopped:
            for order in batch:
                result.add(order, FAILED, "stopped after a fatal error")
        self.log.info(
            "batch %d: %d orders, %d accepted%s (%d request%s)",
            number,
            len(batch),
            result.counts[ACCEPTED],
            "".join(
                f", {result.counts[name]} {name}"
                for name in (REJECTED, FAILED)
                if result.counts[name]
            ),
            result.requests,
            "" if result.requests == 1 else "s",
        )
        return result

    def _deliver(self, batch: Sequence[ApiOrder], result: SendResult) -> None:
        body = b'{"orders":[' + b",".join(order.body for order in batch) + b"]}"
        reply = self.transport.request("POST", content=body)
        result.requests += reply.requests
        result.retries += reply.retries
        result.statuses.update(reply.statuses)
        response = reply.response
        if response is None:  # the retry budget ran out
            for order in batch:
                result.add(
                    order, FAILED, f"failed after {reply.requests} attempts: {reply.problem}"
                )
            return
        if response.status_code < 400:
            for order in batch:
                result.add(order, ACCEPTED)
            return
        if len(batch) == 1:
            result.add(batch[0], REJECTED, reply.problem)
            return
        named = self._named_errors(response, batch)
        if named:
            # the server said which orders it refused: report those, re-send the rest
            for index, reason in named.items():
                result.add(batch[index], REJECTED, reason)
            rest = [order for index, order in enumerate(batch) if index not in named]
            if rest:
                result.splits += 1
                self._deliver(rest, result)
            return
        # refused as a whole, reasons unknown: split to isolate the offending orders
        result.splits += 1
        middle = len(batch) // 2
        self._deliver(batch[:middle], result)
        self._deliver(batch[middle:], result)

    def _named_errors(
        self, response: httpx.Response, batch: Sequence[ApiOrder]
    ) -> dict[int, str] | None:
        """Per-order refusals in a 4xx body, by index into ``batch``.

        Used only when every entry points at an order of ``batch`` (by index, and by id when
        the entry names one); anything else returns None and the batch is bisected.
        """
        try:
            payload = response.json()
        except ValueError:
            return None
        errors = payload.get("errors") if isinstance(payload, dict) else None
        if not isinstance(errors, list) or not errors:
            return None
        named: dict[int, str] = {}
        for entry in errors:
            if not isinstance(entry, dict):
                return None
            index = entry.get("index")
            if isinstance(index, bool) or not isinstance(index, int):
                return None
            if not 0 <= index < len(batch):
                return None
            order_id = entry.get("order_id", entry.get("id"))
            if order_id is not None and str(order_id) != batch[index].order_id:
                return None
            reason = entry.get("reason") or entry.get("message") or "refused"
            named[index] = self.transport.redact(f"HTTP {response.status_code}: {reason}")
        return named


__all__ = ["BatchSender"]
