"""What every WorkMagic operator shares: the connection, the run's hour folder, the destination.

An operator's ``execute`` reads like its flow: resolve the hour from the context, ask these
helpers for the folder and the destination store, do the one thing, log counts, return a small
summary to XCom. Nothing here reads the wall clock: the hour is the data interval's start hour.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from workmagic_provider.exceptions import WorkMagicConfigError, WorkMagicPermanentError
from workmagic_provider.links import FOLDER_LINKS, HourFolderLink, WorkMagicSettingsLink
from workmagic_provider.operators.lineage import LineageMixin
from workmagic_provider.standards import DEFAULT_LOOKBACK

if TYPE_CHECKING:
    from airflow.sdk import Context

    from workmagic_provider.hooks.workmagic import WorkMagicHook
    from workmagic_provider.standards import HourFolder
    from workmagic_provider.stores import ObjectStore


_FAILING: dict[type[BaseException], type[BaseException]] = {}


def _failing_class(cls: type[BaseException]) -> type[BaseException]:
    """``cls`` that is also Airflow's "fail, do not retry" (``pytest.raises(cls)`` still works)."""
    if cls not in _FAILING:
        _FAILING[cls] = type(
            cls.__name__, (cls, AirflowFailException), {"__module__": cls.__module__}
        )
    return _FAILING[cls]


def _fails_fast(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except WorkMagicPermanentError as err:
            if not isinstance(err, AirflowFailException):
                err.__class__ = _failing_class(type(err))  # type: ignore[assignment]
            raise

    return run


class FailFast:
    """Mixin: a permanent error (configuration, unusable input, invalid rows) raised by
    ``execute``/``execute_complete`` fails the task at once instead of being retried; network
    and server errors keep Airflow's retries."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in ("execute", "execute_complete"):
            method = cls.__dict__.get(name)
            if callable(method):
                setattr(cls, name, _fails_fast(method))


class WorkMagicBaseOperator(LineageMixin, FailFast, BaseOperator):
    """Base of operators that write into a WorkMagic hour folder.

    :param workmagic_conn_id: the ``workmagic`` connection (account, category, bucket, role).
    :param data_category: overrides the connection's data category for this task.
    """

    #: "s3" or "gcs" for operators bound to one cloud; None follows the connection's ``cloud``.
    destination_cloud: ClassVar[str | None] = None
    template_fields: Sequence[str] = ("workmagic_conn_id", "data_category")
    ui_color = "#e8f0ff"
    operator_extra_links = FOLDER_LINKS

    def __init__(
        self,
        *,
        workmagic_conn_id: str = "workmagic_default",
        data_category: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.workmagic_conn_id = workmagic_conn_id
        self.data_category = data_category

    # -- shared pieces --------------------------------------------------------------------
    def workmagic_hook(self) -> WorkMagicHook:
        from workmagic_provider.hooks.workmagic import WorkMagicHook

        return WorkMagicHook(workmagic_conn_id=self.workmagic_conn_id)

    def run_hour(self, context: Context) -> datetime:
        start = context.get("data_interval_start")
        if start is None:
            raise WorkMagicConfigError(
                f"task {self.task_id}: the run has no data interval; schedule the DAG with "
                "CronDataIntervalTimetable('0 * * * *', timezone='UTC')"
            )
        return start  # type: ignore[no-any-return]

    # -- the window a SQL source selects, and its template macros -------------------------
    #: how far before the interval start a SQL window opens (operators that select rows of a
    #: window take it as a parameter; WorkMagic's samples overlap by one hour)
    lookback: timedelta = DEFAULT_LOOKBACK

    def window(self, context: Context) -> tuple[datetime, datetime]:
        """``[data_interval_start - lookback, data_interval_end)`` in UTC (standards.window)."""
        from workmagic_provider.standards import window

        end = context.get("data_interval_end")
        if end is None:
            raise WorkMagicConfigError(f"task {self.task_id}: the run has no data interval end")
        return window(self.run_hour(context), end, self.lookback)

    def window_macros(self, window: tuple[datetime, datetime]) -> dict[str, str]:
        """Values of ``{{ workmagic_window_start }}``/``{{ workmagic_window_end }}``; none here."""
        return {}

    def render_template_fields(self, context: Context, jinja_env: Any = None) -> None:
        """Offer the window macros (if this operator has any) to every templated field."""
        if context.get("data_interval_start") and context.get("data_interval_end"):
            macros = self.window_macros(self.window(context))
            context.update(macros)  # type: ignore[typeddict-item]
        super().render_template_fields(context, jinja_env)

    def hour_folder(self, hook: WorkMagicHook, context: Context) -> HourFolder:
        return hook.hour_folder(self.run_hour(context), data_category=self.data_category)

    def link_hour_folder(self, context: Context, hook: WorkMagicHook, folder: HourFolder) -> None:
        """Persist what the "Hour folder" and "WorkMagic settings" links of the task show."""
        settings = hook.settings
        HourFolderLink.persist_folder(
            context,
            self,
            cloud=hook.destination_cloud(self.destination_cloud),
            bucket=settings.bucket,
            folder=folder,
            region=settings.region,
        )
        WorkMagicSettingsLink.persist(context, self, account_id=settings.account_id)

    def destination_store(self, hook: WorkMagicHook) -> ObjectStore:
        """WorkMagic's inbound bucket on this operator's cloud, through the connection's hooks."""
        return destination_store(hook, self.destination_cloud)


def destination_store(hook: WorkMagicHook, cloud: str | None = None) -> ObjectStore:
    """WorkMagic's inbound bucket on ``cloud`` (default: the connection's) through its hooks."""
    from workmagic_provider.stores import GCSStore, S3Store

    if hook.destination_cloud(cloud) == "s3":
        return S3Store(hook.get_s3_hook(), hook.settings.bucket)
    return GCSStore(hook.get_gcs_hook(), hook.settings.bucket)
