"""The documented rules of WorkMagic's APIs, checked with the sandbox's own few lines.

Deliberately not the provider's pydantic models: a client bug and a server bug cannot agree by
construction.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta
from typing import Any

#: Orders older than this (by the server's clock) are refused ("4 weeks").
MAX_ORDER_AGE = timedelta(days=28)

_CURRENCY_RE = re.compile(r"^[A-Z]{3}$")


def parse_timestamp(value: Any) -> datetime | None:
    """An ISO-8601 timestamp that carries a zone, else None."""
    if not isinstance(value, str) or not value or len(value) > 40:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None or moment.utcoffset() is None:
        return None
    return moment


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def check_enrich_order(order: Any, now: datetime, max_age: timedelta) -> str | None:
    """The documented rules of one enrich order; the reason, or None if fine.

    Negative amounts pass: the guide asks only that values reflect reality (refunds do)."""
    if not isinstance(order, dict):
        return "each order must be a JSON object"
    order_id = order.get("order_id")
    if not isinstance(order_id, str) or not order_id.strip():
        return "order_id is required and must be a non-empty string"
    moment = parse_timestamp(order.get("order_timestamp"))
    if moment is None:
        return "order_timestamp must be an ISO 8601 timestamp with a time zone"
    for name in ("sales_amount", "profit_amount"):
        if not _is_number(order.get(name)):
            return f"{name} is required and must be a number"
    currency = order.get("currency")
    if currency is not None and not (isinstance(currency, str) and _CURRENCY_RE.match(currency)):
        return "currency must be a 3-letter ISO 4217 code"
    if moment < now - max_age:
        return "order_timestamp is older than 4 weeks: not applied (contact support)"
    return None


def check_custom_order(order: Any) -> str | None:
    """The assumed required fields of a custom-site order (id, times, total_price)."""
    if not isinstance(order, dict):
        return "each order must be a JSON object"
    order_id = order.get("id")
    if not isinstance(order_id, str) or not order_id.strip():
        return "id is required and must be a non-empty string"
    for name in ("created_at", "updated_at"):
        if parse_timestamp(order.get(name)) is None:
            return f"{name} must be an ISO 8601 timestamp with a time zone"
    if not _is_number(order.get("total_price")):
        return "total_price is required and must be a number"
    return None


__all__ = ["MAX_ORDER_AGE", "check_custom_order", "check_enrich_order", "parse_timestamp"]
