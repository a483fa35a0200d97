"""Deterministic sample orders for the demo, tests and benchmarks (no randomness across runs).

The shapes follow the custom-site order as WorkMagic's own load test sends it and WorkMagic's
imported sales row, so the same generator feeds the sandbox, ``make demo`` and
``benchmarks/``.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

_CITIES = [
    ("10001", "New York", "New York", "NY"),
    ("94105", "San Francisco", "California", "CA"),
    ("60601", "Chicago", "Illinois", "IL"),
    ("02108", "Boston", "Massachusetts", "MA"),
    ("73301", "Austin", "Texas", "TX"),
    ("98101", "Seattle", "Washington", "WA"),
]
_PRODUCTS = [("Trail Runner", 89.99), ("Wool Socks", 14.5), ("Rain Jacket", 129.0), ("Cap", 24.0)]


def custom_site_order(index: int, hour: datetime, rng: random.Random) -> dict[str, Any]:
    """One custom-site order placed within ``hour`` (UTC)."""
    created = hour + timedelta(seconds=rng.randrange(3600), milliseconds=rng.randrange(1000))
    zip_code, city, province, province_code = _CITIES[index % len(_CITIES)]
    items: list[dict[str, Any]] = []
    subtotal = 0.0
    for n in range(1 + index % 3):
        title, price = _PRODUCTS[(index + n) % len(_PRODUCTS)]
        quantity = 1 + (index + n) % 2
        subtotal += price * quantity
        items.append(
            {
                "id": f"li_{index}_{n}",
                "title": title,
                "price": price,
                "quantity": quantity,
                "current_quantity": quantity,
            }
        )
    subtotal = round(subtotal, 2)
    discount = 10.0 if index % 4 == 0 else 0.0
    total = round(subtotal - discount + 5.0, 2)
    return {
        "id": f"order_{hour:%Y%m%d%H}_{index:07d}",
        "order_number": f"{hour:%Y%m%d%H}{index:07d}",
        "created_at": created.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "updated_at": (created + timedelta(seconds=3)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "browser_ip": f"204.9.{index % 250}.{(index * 7) % 250}",
        "landing_site": "https://shop.example.com/",
        "referring_site": "https://www.google.com/",
        "checkout_token": f"{rng.getrandbits(128):032x}",
        "financial_status": "paid",
        "total_price": total,
        "current_total_price": total,
        "subtotal_price": subtotal,
        "current_subtotal_price": subtotal,
        "current_total_discounts": discount,
        "current_total_tax": 0,
        "discount_codes": [{"code": "WELCOME10"}] if discount else [],
        "shipping_address": {
            "zip": zip_code,
            "city": city,
            "country": "United States",
            "country_code": "US",
            "province_code": province_code,
            "province": province,
        },
        "line_items": items,
        "customer": {"id": f"cust_{index % 5000}", "email": f"buyer{index % 5000}@example.com"},
        "extensions": {
            "order_app_name": "Web",
            "order_cost_cogs": round(total * 0.4, 2),
            "order_cost_shipping": 5.0,
            "order_refund_amount": 0,
            "order_refund_product_count": 0,
            "is_subscription_order": index % 10 == 0,
        },
    }


def custom_site_orders(
    count: int, hour: datetime | None = None, seed: int = 7
) -> Iterator[dict[str, Any]]:
    """``count`` orders spread over one UTC hour (default 2026-03-08T02:00Z)."""
    hour = hour or datetime(2026, 3, 8, 2, tzinfo=timezone.utc)
    rng = random.Random(seed)
    for index in range(count):
        yield custom_site_order(index, hour, rng)


def write_json_lines(path: str | Path, rows: Iterator[dict[str, Any]]) -> int:
    """Write rows as compact JSON Lines; return how many were written."""
    count = 0
    with open(path, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, separators=(",", ":")))
            handle.write("\n")
            count += 1
    return count


def last_complete_hours(count: int, now: datetime | None = None) -> list[datetime]:
    """The starts of the last ``count`` complete UTC hours, oldest first."""
    end = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    end = end.replace(minute=0, second=0, microsecond=0)
    return [end - timedelta(hours=count - n) for n in range(count)]
