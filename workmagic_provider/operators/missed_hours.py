"""The task an hourly DAG ends with: no hour between two delivered hours goes unnoticed.

Catch-up (``catchup=True``) makes the scheduler run every hour it missed while it was down or
the DAG was paused. What it cannot see is an hour that never got a run at all (runs deleted, a
start date moved, a run marked by hand): this check compares the run's hour with the end of
the previous successful run and fails, naming the hours and the exact backfill command. It
fails as an ordinary (retried) error: while catch-up runs finish out of order, a later try
finds the earlier hours delivered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from workmagic_provider.exceptions import WorkMagicError
from workmagic_provider.standards import hour_starts

if TYPE_CHECKING:
    from airflow.sdk import Context


class WorkMagicMissedHoursError(WorkMagicError):
    """Hours between the previous successful run and this one were never delivered."""


class MissedHoursCheckOperator(BaseOperator):
    """Fail when hours before this run's hour have no successful run since the last one.

    Scheduled runs are checked: they are the hourly delivery, catch-up included. Manual and
    backfill runs cover an hour or a range a person chose, so by default they are not.

    :param check_backfills: also check runs of a backfill.
    :param check_manual: also check manually triggered runs.
    """

    ui_color = "#fff4e0"

    def __init__(
        self, *, check_backfills: bool = False, check_manual: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.check_backfills = check_backfills
        self.check_manual = check_manual

    def execute(self, context: Context) -> dict[str, Any]:
        run_type = str(getattr(context["dag_run"], "run_type", ""))
        if ("backfill" in run_type and not self.check_backfills) or (
            "manual" in run_type and not self.check_manual
        ):
            self.log.info("%s run: its hour or range was chosen by hand; not checked", run_type)
            return {"missed_hours": []}
        # a lazy proxy in the task context: unwrap it to see None or the datetime itself
        previous_end = context.get("prev_data_interval_end_success")
        previous_end = getattr(previous_end, "__wrapped__", previous_end)
        start = context.get("data_interval_start")
        if previous_end is None or start is None:
            self.log.info("no earlier successful run: nothing can have been missed before it")
            return {"missed_hours": []}
        missed = hour_starts(previous_end, start)
        if not missed:
            self.log.info("no hour missed since the previous successful run (%s)", previous_end)
            return {"missed_hours": []}
        dag_id = context["dag"].dag_id
        first, last = missed[0], missed[-1]
        raise WorkMagicMissedHoursError(
            f"{len(missed)} hour(s) between the previous successful run and this one were "
            f"never delivered: {', '.join(f'{h:%Y-%m-%dT%H:00Z}' for h in missed[:24])}"
            f"{' ...' if len(missed) > 24 else ''}. This run's own hour was delivered. "
            f"Deliver the missed hours with: airflow backfill create --dag-id {dag_id} "
            f"--from-date {first:%Y-%m-%dT%H:%M:%S}+00:00 --to-date {last:%Y-%m-%dT%H:%M:%S}+00:00"
            " --reprocess-behavior failed (or Trigger > Backfill in the UI), then clear this task."
        )
