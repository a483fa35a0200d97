"""Push orders to WorkMagic's REST APIs: the Enrich Order API and the custom-site Orders API.

Both are one flow (:class:`~workmagic_provider.operators.api_base.OrdersToApiOperator`); they
differ in the schema, the endpoint and what the Enrich API adds:

* :class:`EnrichOrdersOperator` overrides sales/profit of orders WorkMagic already has
  (``POST /enrich/orders``). Orders older than four weeks *before now* are not applied by
  WorkMagic: they are counted ``too_old`` and never sent, unless
  ``send_orders_older_than_4_weeks=True``. ``verify=True`` reads the orders back with
  ``GET /enrich/orders``; a retry of the task first reads back what the failed try applied and
  sends only the rest, so a retry neither loses nor re-delivers orders.
* :class:`PushOrdersToWorkMagicOperator` sends full custom-site orders (``POST /api/orders``,
  ``X-API-KEY``). WorkMagic documents no GET for it, so a retry re-sends (an upsert by ``id``).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from workmagic_provider.exceptions import WorkMagicConfigError
from workmagic_provider.operators.api_base import (
    WINDOW_END_MACRO,
    WINDOW_START_MACRO,
    OrdersToApiOperator,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

    from workmagic_provider.hooks.api import ApiOrder, SendResult, WorkMagicApiClient

#: WorkMagic does not apply enrich orders older than four weeks.
FOUR_WEEKS = timedelta(days=28)


class EnrichOrdersOperator(OrdersToApiOperator):
    """Override sales/profit of existing orders through WorkMagic's Enrich Order API.

    Rows need ``order_id``, ``order_timestamp``, ``sales_amount``, ``profit_amount`` (both may be
    negative: refunds) and optionally ``currency``. Besides the shared parameters:

    :param max_order_age: orders whose ``order_timestamp`` is older than this *before now* (UTC)
        are counted ``too_old`` and not sent (WorkMagic: "4 weeks").
    :param send_orders_older_than_4_weeks: send them anyway: only when WorkMagic support agreed
        to apply older orders for your account.
    :param verify: read the sent orders back (GET, paginated by time window) and report missing
        or different ones in the summary.
    :param verify_limit: ``limit`` of one GET page.
    :param resume: on a retry of the task, read back first and send only what is not there yet.
    """

    schema = "enrich"
    id_field = "order_id"
    time_field = "order_timestamp"
    api_name = "enrich"

    def __init__(
        self,
        *,
        max_order_age: timedelta = FOUR_WEEKS,
        send_orders_older_than_4_weeks: bool = False,
        verify: bool = False,
        verify_limit: int = 100,
        resume: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if max_order_age <= timedelta(0):
            raise WorkMagicConfigError(f"max_order_age must be positive, got {max_order_age}")
        self.max_order_age = max_order_age
        self.send_orders_older_than_4_weeks = send_orders_older_than_4_weeks
        self.verify = verify
        self.verify_limit = verify_limit
        self.resume = resume

    def cutoff(self) -> datetime | None:
        if self.send_orders_older_than_4_weeks:
            self.log.warning(
                "send_orders_older_than_4_weeks=True: orders older than 4 weeks are sent too "
                "(WorkMagic applies them only when its support agreed to)"
            )
            return None
        return self.clock.now() - self.max_order_age

    def already_applied(
        self, client: WorkMagicApiClient, orders: list[ApiOrder], context: Context
    ) -> set[str]:
        ti = context.get("ti")
        try_number = int(getattr(ti, "try_number", 1) or 1)
        if not self.resume or ti is None or try_number <= 1 or not orders:
            return set()
        stored = self._read_back(client, orders)
        done = {o.order_id for o in orders if _same(o, stored.get(o.order_id))}
        self.log.info(
            "retry (try %s): %d of %d orders are already applied by an earlier try; sending "
            "the other %d",
            try_number,
            len(done),
            len(orders),
            len(orders) - len(done),
        )
        return done

    def verify_sent(
        self, client: WorkMagicApiClient, orders: list[ApiOrder], result: SendResult
    ) -> dict[str, Any] | None:
        if not self.verify:
            return None
        not_accepted = {p.order_id for p in result.problems}
        accepted = [o for o in orders if o.order_id not in not_accepted]
        stored = self._read_back(client, accepted) if accepted else {}
        missing = [o.order_id for o in accepted if o.order_id not in stored]
        different = [
            o.order_id
            for o in accepted
            if o.order_id in stored and not _same(o, stored[o.order_id])
        ]
        if missing or different:
            self.log.warning(
                "verify: %d of %d sent orders missing and %d different when read back "
                "(WorkMagic shows today's and yesterday's orders after its next refresh), "
                "e.g. %s",
                len(missing),
                len(accepted),
                len(different),
                ", ".join((missing + different)[:5]),
            )
        elif accepted:
            self.log.info("verify: all %d sent orders read back unchanged", len(accepted))
        return {
            "checked": len(accepted),
            "matched": len(accepted) - len(missing) - len(different),
            "missing": len(missing),
            "different": len(different),
            "examples": (missing + different)[: self.max_reported],
        }

    def _read_back(self, client: WorkMagicApiClient, orders: list[ApiOrder]) -> dict[str, Any]:
        stamps = [o.timestamp for o in orders if o.timestamp is not None]
        if not stamps:
            return {}
        fetched = client.fetch_enriched(min(stamps), max(stamps), limit=self.verify_limit)
        if fetched.truncated_windows:
            self.log.warning(
                "read-back: %d window(s) hold more than %d orders within a millisecond; some "
                "orders there could not be read back",
                len(fetched.truncated_windows),
                self.verify_limit,
            )
        return fetched.orders


def _same(order: ApiOrder, stored: dict[str, Any] | None) -> bool:
    from workmagic_provider.hooks.api import same_enrichment

    return same_enrichment(json.loads(order.body), stored)


class PushOrdersToWorkMagicOperator(OrdersToApiOperator):
    """Send full custom-site orders to WorkMagic's Orders API (``POST /api/orders``).

    Rows are custom-site orders (``id``, ``created_at``, ``updated_at``, ``total_price``, ...;
    unknown fields pass through). The key is the connection's ``orders_api_key``, the URL its
    ``orders_api_url``. Same inputs, validation, batching, retries, rejected sidecar and summary
    as :class:`EnrichOrdersOperator`.
    """

    schema = "custom-site"
    id_field = "id"
    time_field = "updated_at"
    api_name = "orders"


__all__ = [
    "WINDOW_END_MACRO",
    "WINDOW_START_MACRO",
    "EnrichOrdersOperator",
    "PushOrdersToWorkMagicOperator",
]
