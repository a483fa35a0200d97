"""The end of an API operator's run: one summary for XCom, the log lines, and the verdict.

Every input row is accounted for: invalid (with row, field, reason), a duplicate id collapsed,
too old (never sent, with the rule that skipped it), already applied by an earlier try,
accepted, rejected by the API (with its reason) or failed (retries ran out). The run fails when
any order failed, when the API rejected one and ``on_invalid="fail"``, or when the rejected
share exceeds ``max_rejected_fraction``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from workmagic_provider.exceptions import WorkMagicApiError
from workmagic_provider.hooks.api.results import (
    ACCEPTED,
    FAILED,
    REJECTED,
    TOO_OLD,
    SendResult,
    iso_z,
)
from workmagic_provider.rejections import check_rejected

if TYPE_CHECKING:
    from workmagic_provider.hooks.api import ApiEndpoint
    from workmagic_provider.operators.api_inputs import CollectedOrders


@dataclass
class ApiRun:
    """What one run of an API operator did (filled in as the flow goes)."""

    api: str
    collected: CollectedOrders
    result: SendResult = field(default_factory=SendResult)
    endpoint: ApiEndpoint | None = None
    cutoff: datetime | None = None
    already_applied: int = 0
    verify: dict[str, Any] | None = None
    rejected_rows_written: int = 0
    rejected_path: str | None = None

    @property
    def dry_run(self) -> bool:
        return self.endpoint is None

    @property
    def rejected(self) -> int:
        """Rows rejected by validation plus orders rejected by the API."""
        return self.collected.report.rows_rejected + self.result.counts[REJECTED]

    def summary(self, max_reported: int) -> dict[str, Any]:
        report, result = self.collected.report, self.result
        summary: dict[str, Any] = {
            "api": self.api,
            "dry_run": self.dry_run,
            "rows_total": report.rows_total,
            "rows_valid": report.rows_valid,
            "rows_invalid": report.rows_rejected,
            "invalid": [e.to_dict() for e in report.errors[:max_reported]],
            "duplicates_collapsed": self.collected.duplicates,
            "orders": len(self.collected.orders),
            "cutoff": iso_z(self.cutoff) if self.cutoff else None,
            "already_applied": self.already_applied,
            **result.summary(),
            "not_accepted": [p.to_dict() for p in result.problems[:max_reported]],
            "rejected_rows_written": self.rejected_rows_written,
            "rejected_path": self.rejected_path,
        }
        if self.dry_run:
            summary["would_send"] = len(self.collected.orders) - result.counts[TOO_OLD]
        else:
            summary["endpoint"] = self.endpoint.url  # type: ignore[union-attr]
        if self.verify is not None:
            summary["verify"] = self.verify
        return summary

    def log_to(self, logger: Any, max_reported: int) -> None:
        """Each problem (up to ``max_reported``), why orders were too old, the closing line."""
        result = self.result
        for problem in result.problems[:max_reported]:
            level = logger.info if problem.outcome == TOO_OLD else logger.warning
            level(
                "row %d, order %s: %s (%s)",
                problem.row,
                problem.order_id,
                problem.outcome,
                problem.reason,
            )
        if result.counts[TOO_OLD]:
            logger.warning(
                "%d orders are too old and were not sent: their order_timestamp is before %s "
                "(4 weeks before now), and WorkMagic does not apply orders older than 4 weeks. "
                "Send them only if WorkMagic support agreed to apply them "
                "(send_orders_older_than_4_weeks=True)",
                result.counts[TOO_OLD],
                iso_z(self.cutoff) if self.cutoff else "?",
            )
        name = self.endpoint.name if self.endpoint else f"{self.api} (dry run: nothing sent)"
        logger.info(
            "%s: %d orders: %d accepted, %d rejected, %d too old, %d failed, %d already applied "
            "by an earlier try; %d invalid rows, %d duplicate ids collapsed; %d requests "
            "(%d retries) in %.1f s",
            name,
            len(self.collected.orders),
            result.counts[ACCEPTED],
            result.counts[REJECTED],
            result.counts[TOO_OLD],
            result.counts[FAILED],
            self.already_applied,
            self.collected.report.rows_rejected,
            self.collected.duplicates,
            result.requests,
            result.retries,
            result.seconds,
        )

    def raise_for_failures(self, on_invalid: str, max_rejected_fraction: float) -> None:
        """Fail when an order failed, was rejected under ``on_invalid="fail"``, or too many were
        rejected."""
        result, total = self.result, len(self.collected.orders)
        name = self.endpoint.name if self.endpoint else self.api
        if result.counts[FAILED]:
            first = result.of(FAILED)[0]
            raise WorkMagicApiError(
                f"{result.counts[FAILED]} of {total} orders could not be delivered to {name} "
                f"({first.reason}); {result.counts[ACCEPTED]} were accepted. A retry of this "
                "task sends only what is still missing."
            )
        if result.counts[REJECTED] and on_invalid == "fail":
            first = result.of(REJECTED)[0]
            raise WorkMagicApiError(
                f"{name} rejected {result.counts[REJECTED]} of {total} orders, e.g. row "
                f"{first.row} (order {first.order_id}): {first.reason}. Fix them or use "
                "on_invalid='skip'."
            )
        check_rejected(
            self.rejected, self.collected.report.rows_total, max_rejected_fraction, "rows"
        )


__all__ = ["ApiRun"]
