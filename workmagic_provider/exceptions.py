"""Errors a user can act on; every one names the field or row at fault and never a secret.

Hierarchy::

    WorkMagicError                      any error of this provider (transient ones retry)
    ├── WorkMagicPermanentError         retrying cannot help: the task fails at once
    │   ├── WorkMagicConfigError        a setting is missing or malformed (also a ValueError)
    │   ├── MissingExtraError           an optional dependency is not installed (ImportError)
    │   ├── WorkMagicInputError         an input cannot be used at all (missing, not JSON)
    │   ├── WorkMagicValidationError    rows are invalid and ``on_invalid="fail"``
    │   └── WorkMagicRejectedError      too many rows rejected in ``on_invalid="skip"``
    └── (network, 5xx and throttling errors of the clients stay theirs, and retry)

These classes do not import Airflow, so the CLI validates a file without loading it. Operators
turn a :class:`WorkMagicPermanentError` into Airflow's "fail without retrying" on the way out
(``operators.base.FailFast``): a typo in a connection fails on the first try, not after an
hour of back-off.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class _Report(Protocol):
    """What an error needs of a ``schemas.report.ValidationReport`` (no import: no cycle)."""

    def summary(self, max_lines: int = 20) -> str: ...


class WorkMagicError(Exception):
    """Base class of this provider's errors."""


class WorkMagicPermanentError(WorkMagicError):
    """An error a retry cannot fix: configuration, unusable input, invalid or rejected rows."""


class WorkMagicConfigError(WorkMagicPermanentError, ValueError):
    """A setting (connection field, operator argument, path part) is missing or malformed."""


def one_of(name: str, value: object, choices: Sequence[str]) -> str:
    """``value`` if it is one of ``choices``, else the config error that names the option."""
    if value not in choices:
        raise WorkMagicConfigError(
            f"{name} must be one of {', '.join(repr(c) for c in choices)}, got {value!r}"
        )
    return str(value)


class WorkMagicInputError(WorkMagicPermanentError):
    """An input file or stream cannot be used at all (missing, unreadable, not JSON)."""


class WorkMagicValidationError(WorkMagicPermanentError):
    """Rows failed schema validation and the caller chose ``on_invalid="fail"``."""

    def __init__(self, report: _Report) -> None:
        self.report = report
        super().__init__(report.summary(max_lines=20))


class WorkMagicRejectedError(WorkMagicPermanentError):
    """More rows were rejected than the task's ``max_rejected_fraction`` allows."""


class MissingExtraError(WorkMagicPermanentError, ImportError):
    """An optional dependency (an Airflow provider) is not installed."""

    def __init__(self, module: str, extra: str) -> None:
        super().__init__(
            f"{module} is not installed; run: pip install 'airflow-provider-workmagic[{extra}]'"
        )


class WorkMagicApiError(WorkMagicError):
    """A WorkMagic REST API could not be used (the message never contains a key)."""


class WorkMagicApiAuthError(WorkMagicApiError, WorkMagicPermanentError):
    """The API refused the key (401/403): every worker stops, a retry would be refused too."""
