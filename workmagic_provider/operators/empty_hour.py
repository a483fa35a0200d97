"""What a run does when its hour has nothing to deliver: say so, fail, or skip.

An hour without orders can be real (a quiet night) or a broken export upstream; a green run
with nothing in it must at least say so. ``on_empty`` is the one policy the upload, file import
and sync operators share: ``"warn"`` (default: a WARNING line and ``"empty": true`` in XCom),
``"fail"`` (the task fails and is retried, in case the files arrive late), or ``"skip"`` (the
task is skipped, as Airflow shows it).
"""

from __future__ import annotations

from typing import Any, Literal

from workmagic_provider.exceptions import WorkMagicError, one_of

OnEmpty = Literal["warn", "fail", "skip"]
ON_EMPTY: tuple[str, ...] = ("warn", "fail", "skip")


class WorkMagicEmptyHourError(WorkMagicError):
    """The hour had nothing to deliver and the task was told to fail then (retried)."""


def validate_on_empty(value: object) -> OnEmpty:
    return one_of("on_empty", value, ON_EMPTY)  # type: ignore[return-value]


def report_empty(
    on_empty: OnEmpty,
    empty: bool,
    where: str,
    log: Any,
    reason: str = "the hour's input holds no row",
) -> bool:
    """Apply ``on_empty`` when ``empty``; return the ``"empty"`` flag for XCom."""
    if not empty:
        return False
    message = f"nothing to deliver for {where}: {reason}"
    if on_empty == "fail":
        raise WorkMagicEmptyHourError(f"{message} (on_empty='fail')")
    if on_empty == "skip":
        from airflow.sdk.exceptions import AirflowSkipException

        raise AirflowSkipException(f"{message} (on_empty='skip')")
    log.warning("%s; the run succeeds with 'empty': true in its XCom", message)
    return True
