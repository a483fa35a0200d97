"""How many rejected rows a task may skip before it fails instead of going green.

With ``on_invalid="skip"`` the valid rows are delivered and the rest reported; but a run that
rejected every row, or most of them, delivered nothing worth a green run. Every operator that
can skip rows takes ``max_rejected_fraction`` and calls :func:`check_rejected` before it
publishes.
"""

from __future__ import annotations

from workmagic_provider.exceptions import WorkMagicConfigError, WorkMagicRejectedError

#: Default share of rows a task may reject and still succeed (more, or all of them, fails it).
DEFAULT_MAX_REJECTED_FRACTION = 0.5


def validate_fraction(value: object) -> float | None:
    """``None`` (no limit) or a number in ``[0, 1]``."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise WorkMagicConfigError(
            f"max_rejected_fraction must be a number from 0 to 1 (or None), got {value!r}"
        )
    return float(value)


def check_rejected(rejected: int, total: int, max_fraction: float | None, what: str) -> None:
    """Raise when ``rejected`` of ``total`` rows is more than allowed; every row rejected is
    always too many. ``what`` names the input in the message (e.g. ``"rows of the hour"``)."""
    if total == 0 or rejected == 0 or (max_fraction is None and rejected < total):
        return
    if rejected == total or (max_fraction is not None and rejected > max_fraction * total):
        share = f"{rejected / total:.0%}"
        limit = "any" if max_fraction is None else f"{max_fraction:.0%}"
        raise WorkMagicRejectedError(
            f"{rejected} of {total} {what} were rejected ({share}; allowed: {limit} and never "
            "all): nothing was published. Fix the input (the task log and the rejected-rows "
            "file name each row, field and reason), or raise max_rejected_fraction."
        )
