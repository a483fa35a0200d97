"""The shared rejected-rows threshold."""

from __future__ import annotations

import pytest

from workmagic_provider.exceptions import WorkMagicConfigError, WorkMagicError
from workmagic_provider.rejections import (
    DEFAULT_MAX_REJECTED_FRACTION,
    WorkMagicRejectedError,
    check_rejected,
)


def test_everything_rejected_fails_under_the_default() -> None:
    with pytest.raises(WorkMagicRejectedError) as raised:
        check_rejected(500, 500, DEFAULT_MAX_REJECTED_FRACTION, "enrich rows")
    message = str(raised.value)
    assert "500 of 500 enrich rows were rejected (100%)" in message
    assert "max_rejected_fraction=0.5" in message
    assert isinstance(raised.value, WorkMagicError)


@pytest.mark.parametrize(
    ("rejected", "total", "max_fraction", "fails"),
    [
        (5, 10, 0.5, False),  # exactly at the threshold passes
        (6, 10, 0.5, True),
        (0, 10, 0.0, False),
        (1, 10, 0.0, True),  # 0: any rejected row fails
        (10, 10, 1.0, False),  # 1: never fails
        (0, 0, 0.5, False),  # no rows is not a rejection
    ],
)
def test_threshold(rejected: int, total: int, max_fraction: float, fails: bool) -> None:
    if fails:
        with pytest.raises(WorkMagicRejectedError):
            check_rejected(rejected, total, max_fraction, "rows")
    else:
        check_rejected(rejected, total, max_fraction, "rows")


@pytest.mark.parametrize("bad", [-0.1, 1.5])
def test_a_fraction_outside_0_1_is_a_configuration_error(bad: float) -> None:
    with pytest.raises(WorkMagicConfigError, match="max_rejected_fraction must be between"):
        check_rejected(1, 2, bad, "rows")
