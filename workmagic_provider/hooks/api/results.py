"""What the client sends and what it reports: orders, per-order outcomes, counts.

Every order ends with exactly one outcome: accepted, rejected (the API refused it, with the
reason), too old (the Enrich four-week rule: never sent) or failed (transient errors outlasted
the retry budget). Accepted orders are only counted; the others are listed with their reason.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from workmagic_provider.standards import to_utc

ACCEPTED = "accepted"
REJECTED = "rejected"
TOO_OLD = "too_old"
FAILED = "failed"
OUTCOMES = (ACCEPTED, REJECTED, TOO_OLD, FAILED)


@dataclass(frozen=True)
class ApiOrder:
    """One validated order ready to send: its input row, id, compact JSON and timestamp."""

    row: int
    order_id: str
    body: bytes
    timestamp: datetime | None = None


@dataclass(frozen=True)
class OrderOutcome:
    """What happened to one order that was not accepted."""

    row: int
    order_id: str
    outcome: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "order_id": self.order_id,
            "outcome": self.outcome,
            "reason": self.reason,
        }


@dataclass
class SendResult:
    """Per-outcome counts, the orders that were not accepted, and request statistics."""

    counts: Counter[str] = field(default_factory=Counter)
    problems: list[OrderOutcome] = field(default_factory=list)
    requests: int = 0
    retries: int = 0
    splits: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def accepted(self) -> int:
        return self.counts[ACCEPTED]

    def of(self, outcome: str) -> list[OrderOutcome]:
        return [p for p in self.problems if p.outcome == outcome]

    def add(self, order: ApiOrder, outcome: str, reason: str = "") -> None:
        """Record one order's outcome (accepted ones are only counted)."""
        self.counts[outcome] += 1
        if outcome != ACCEPTED:
            self.problems.append(OrderOutcome(order.row, order.order_id, outcome, reason))

    def merge(self, other: SendResult) -> None:
        self.counts.update(other.counts)
        self.problems.extend(other.problems)
        self.requests += other.requests
        self.retries += other.retries
        self.splits += other.splits
        self.statuses.update(other.statuses)

    def summary(self) -> dict[str, Any]:
        return {
            **{name: self.counts[name] for name in OUTCOMES},
            "requests": self.requests,
            "retries": self.retries,
            "splits": self.splits,
            "statuses": dict(sorted(self.statuses.items())),
            "seconds": round(self.seconds, 3),
        }


@dataclass
class FetchResult:
    """Orders read back with GET (by id), requests made, windows that stayed full."""

    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: int = 0
    truncated_windows: list[tuple[str, str]] = field(default_factory=list)


def iso_z(moment: datetime) -> str:
    """UTC ISO 8601 with ``Z`` (milliseconds only when there are any)."""
    moment = to_utc(moment)
    if moment.microsecond:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: Any) -> datetime | None:
    """An ISO 8601 timestamp with a zone as an aware UTC datetime, else None."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(timezone.utc)


def order_from_json(row: int, body: bytes, id_field: str, time_field: str | None) -> ApiOrder:
    """An :class:`ApiOrder` from one validated row's compact JSON."""
    document = json.loads(body)
    timestamp = parse_iso(document.get(time_field)) if time_field else None
    return ApiOrder(row, str(document[id_field]), body, timestamp)


__all__ = [
    "ACCEPTED",
    "FAILED",
    "OUTCOMES",
    "REJECTED",
    "TOO_OLD",
    "ApiOrder",
    "FetchResult",
    "OrderOutcome",
    "SendResult",
    "iso_z",
    "order_from_json",
    "parse_iso",
]
