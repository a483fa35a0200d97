"""Errors a user can act on; every one names the field or row at fault and never a secret."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow.sdk.exceptions import AirflowException

if TYPE_CHECKING:
    from workmagic_provider.schemas.report import ValidationReport


class WorkMagicError(AirflowException):
    """Base class of this provider's errors."""


class WorkMagicConfigError(WorkMagicError, ValueError):
    """A setting (connection field, operator argument, path part) is missing or malformed."""


class WorkMagicInputError(WorkMagicError):
    """An input file or stream cannot be used at all (missing, unreadable, not JSON)."""


class WorkMagicValidationError(WorkMagicError):
    """Rows failed schema validation and the caller chose ``on_invalid="fail"``."""

    def __init__(self, report: ValidationReport) -> None:
        self.report = report
        super().__init__(report.summary(max_lines=20))


class MissingExtraError(WorkMagicError, ImportError):
    """An optional dependency (an Airflow provider) is not installed."""

    def __init__(self, module: str, extra: str) -> None:
        super().__init__(
            f"{module} is not installed; run: pip install 'airflow-provider-workmagic[{extra}]'"
        )


class WorkMagicApiError(WorkMagicError):
    """A WorkMagic REST API could not be used (the message never contains a key)."""


class WorkMagicApiAuthError(WorkMagicApiError):
    """The API refused the key (401/403): every worker stops, a retry would be refused too."""
