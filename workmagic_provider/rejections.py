"""The rejected-rows threshold every flow that can skip invalid rows shares.

A run that skips bad rows is green only while the bad rows stay a minority: with the default
``max_rejected_fraction`` of 0.5, a run whose every row was rejected (a renamed column, a wrong
export) fails instead of reporting success with nothing delivered.
"""

from __future__ import annotations

from workmagic_provider.exceptions import WorkMagicConfigError, WorkMagicRejectedError

#: Default share of rejected rows above which a run fails (0.5: more than half rejected).
DEFAULT_MAX_REJECTED_FRACTION = 0.5


def validate_max_fraction(max_fraction: float) -> float:
    """``max_fraction`` if it lies in [0, 1], else a configuration error naming it."""
    if not 0.0 <= max_fraction <= 1.0:
        raise WorkMagicConfigError(
            f"max_rejected_fraction must be between 0 and 1, got {max_fraction!r}"
        )
    return max_fraction


def check_rejected(rejected: int, total: int, max_fraction: float, what: str) -> None:
    """Raise :class:`WorkMagicRejectedError` when ``rejected / total`` exceeds ``max_fraction``.

    :param what: what the rows are, for the message (e.g. ``"enrich orders"``).

    ``max_fraction=1.0`` never fails; 0 fails on the first rejected row. No rows at all is not
    a rejection (an empty hour is reported by the flow itself).
    """
    validate_max_fraction(max_fraction)
    if total <= 0 or rejected <= 0:
        return
    if rejected / total > max_fraction:
        raise WorkMagicRejectedError(
            f"{rejected} of {total} {what} were rejected ({rejected / total:.0%}), more than "
            f"max_rejected_fraction={max_fraction:g} allows; fix the input (the rejected rows "
            "are listed above and in the summary) or raise max_rejected_fraction"
        )


__all__ = [
    "DEFAULT_MAX_REJECTED_FRACTION",
    "WorkMagicRejectedError",
    "check_rejected",
    "validate_max_fraction",
]
