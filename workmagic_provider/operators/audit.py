"""``WorkMagicAuditOperator``: end a DAG by reading back what WorkMagic's folder holds.

A delivery task can succeed while the folder still lacks an hour (a run that never happened, a
file written by hand, a part deleted later). This task checks the bucket itself, through the
same connection and hooks as the uploads, so a green DAG run means WorkMagic can read the hour.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from workmagic_provider.exceptions import WorkMagicConfigError, one_of
from workmagic_provider.operators.base import WorkMagicBaseOperator

if TYPE_CHECKING:
    from airflow.sdk import Context

    from workmagic_provider.operators.lineage import Datasets

ON_PROBLEM = ("fail", "warn")


class WorkMagicAuditOperator(WorkMagicBaseOperator):
    """Check that the run's hour folder (and ``hours_back`` hours before it) holds files
    WorkMagic can read: gzip JSON Lines, each under the size limit, one complete run.

    :param hours_back: also check this many hours before the run's hour (0: only the run's).
    :param on_problem: ``"fail"`` (default) fails the task when an hour is missing or holds
        files WorkMagic would skip; ``"warn"`` logs a WARNING and reports it in XCom.
    :param suffix: file name ending WorkMagic expects (``None``: the content alone decides).
    """

    template_fields: Sequence[str] = (*WorkMagicBaseOperator.template_fields, "hours_back")
    ui_color = "#eef7e8"

    def __init__(
        self,
        *,
        hours_back: int = 0,
        on_problem: str = "fail",
        suffix: str | None = ".json.gz",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        one_of("on_problem", on_problem, ON_PROBLEM)
        self.hours_back = hours_back
        self.on_problem = on_problem
        self.suffix = suffix

    def execute(self, context: Context) -> dict[str, Any]:
        from workmagic_provider.audit import WorkMagicAuditError, audit_range

        hours_back = self._hours_back()
        hook = self.workmagic_hook()
        last = self.hour_folder(hook, context)
        self.link_hour_folder(context, hook, last)
        first = last.hour - timedelta(hours=hours_back)
        report = audit_range(
            self.destination_store(hook),
            last.account_id,
            last.data_category,
            first,
            last.hour,
            suffix=self.suffix,
        )
        for hour in report.hours:
            self.log.info(
                "%s: %d file(s), %d bytes, %s",
                hour.prefix,
                len(hour.files),
                hour.bytes,
                "ok" if hour.ok else "PROBLEM",
            )
        summary = report.summary()
        if report.ok:
            self.log.info("audit: all %d hour(s) readable by WorkMagic", len(report.hours))
            return summary
        message = self._message(report)
        if self.on_problem == "fail":
            raise WorkMagicAuditError(message)
        self.log.warning("%s", message)
        return summary

    def lineage_datasets(self, summary: Mapping[str, Any]) -> Datasets:
        """The audit reads the account's category folder and writes nothing."""
        from workmagic_provider.operators.lineage import uri_dataset

        return [uri_dataset(summary["location"])], []

    def _hours_back(self) -> int:
        try:
            value = int(self.hours_back)
        except (TypeError, ValueError):
            value = -1
        if value < 0:
            raise WorkMagicConfigError(
                f"hours_back must be a whole number >= 0, got {self.hours_back!r}"
            )
        return value

    @staticmethod
    def _message(report: Any) -> str:
        parts = []
        if report.missing_hours:
            parts.append("missing hours: " + ", ".join(report.missing_hours))
        if report.problem_hours:
            parts.append(
                "hours holding files WorkMagic would skip or an incomplete run: "
                + ", ".join(report.problem_hours)
            )
        lines = report.problems()
        shown = "\n".join(f"  {line}" for line in lines[:50])
        more = f"\n  ... and {len(lines) - 50} more" if len(lines) > 50 else ""
        return f"audit of {report.location}: {'; '.join(parts)}\n{shown}{more}"
