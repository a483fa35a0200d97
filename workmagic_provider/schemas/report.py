"""What validation found, row by row, in bounded memory and without leaking row contents.

Rows hold PII (e-mails, addresses), so a report keeps at most ``max_errors`` errors, each with a
value shortened to 80 characters, and only counts the rejected rows (never keeps them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workmagic_provider.schemas.options import config_error

#: ``RowError.field`` of problems with a whole row (not valid JSON, not an object).
ROW = "<row>"
VALUE_MAX_CHARS = 80


def brief(value: Any) -> str:
    """``repr(value)`` cut to 80 characters plus ``…``: enough to find the mistake, little PII."""
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value[: VALUE_MAX_CHARS * 4]).decode("utf-8", errors="replace")
    elif isinstance(value, str) and len(value) > VALUE_MAX_CHARS * 2:
        value = value[: VALUE_MAX_CHARS * 2]  # repr of a huge string is never built
    text = repr(value)
    if len(text) > VALUE_MAX_CHARS:
        return text[:VALUE_MAX_CHARS] + "…"
    return text


@dataclass(frozen=True)
class RowError:
    """One problem: ``row`` number, dotted ``field`` path (or ``<row>``), ``reason``, ``value``."""

    row: int
    field: str
    reason: str
    value: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "reason": self.reason, "value": self.value}

    def __str__(self) -> str:
        where = f"row {self.row}" if self.field == ROW else f"row {self.row}, field {self.field!r}"
        suffix = f" (value: {self.value})" if self.value is not None else ""
        return f"{where}: {self.reason}{suffix}"


@dataclass
class ValidationReport:
    """Counts and the first ``max_errors`` errors of one validation run.

    Every row seen is either valid (``rows_valid``, counted by the validators) or rejected (has
    at least one error, added with :meth:`add`), so ``rows_total`` is their sum. A reader that
    drops a row itself (e.g. a CSV line with too many columns) calls :meth:`add` for it and the
    row counts as seen and rejected. Errors of one row must be added one after another.
    """

    schema: str
    max_errors: int = 1000
    rows_valid: int = field(default=0, init=False)
    errors: list[RowError] = field(default_factory=list, init=False, repr=False)
    errors_dropped: int = field(default=0, init=False)
    _rows_rejected: int = field(default=0, init=False, repr=False)
    _last_row: int | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.max_errors, bool) or not isinstance(self.max_errors, int):
            raise config_error(f"max_errors must be an integer, got {self.max_errors!r}")
        if self.max_errors < 0:
            raise config_error(f"max_errors must not be negative, got {self.max_errors}")

    @property
    def rows_rejected(self) -> int:
        """Rows with at least one error."""
        return self._rows_rejected

    @property
    def rows_total(self) -> int:
        """Every row seen: valid plus rejected."""
        return self.rows_valid + self._rows_rejected

    @property
    def ok(self) -> bool:
        return self._rows_rejected == 0

    def add(self, row: int, field: str, reason: str, value: Any = None) -> None:
        """Record an error of ``row``; the first error of a row marks it rejected.

        ``value`` should already be short text (see :func:`brief`); longer text is cut to 80
        characters and anything that is not a string is passed through :func:`brief`.
        """
        if row != self._last_row:
            self._rows_rejected += 1
            self._last_row = row
        if len(self.errors) >= self.max_errors:
            self.errors_dropped += 1
            return
        if value is not None and not isinstance(value, str):
            value = brief(value)
        elif value is not None and len(value) > VALUE_MAX_CHARS + 1:
            value = value[:VALUE_MAX_CHARS] + "…"
        self.errors.append(RowError(row, field, reason, value))

    def merge(self, other: ValidationReport) -> ValidationReport:
        """Add ``other``'s counts and errors to this report (keeping the cap); returns self."""
        if other.schema != self.schema:
            raise config_error(
                f"cannot merge a {other.schema!r} report into a {self.schema!r} report"
            )
        self.rows_valid += other.rows_valid
        self._rows_rejected += other._rows_rejected
        room = max(self.max_errors - len(self.errors), 0)
        self.errors.extend(other.errors[:room])
        self.errors_dropped += other.errors_dropped + max(len(other.errors) - room, 0)
        self._last_row = None
        return self

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary (for XCom, logs, the CLI's ``--json``)."""
        return {
            "schema": self.schema,
            "rows_total": self.rows_total,
            "rows_valid": self.rows_valid,
            "rows_rejected": self.rows_rejected,
            "errors": [error.to_dict() for error in self.errors],
            "errors_dropped": self.errors_dropped,
        }

    def summary(self, max_lines: int = 20) -> str:
        """Human text: a headline, then one line per error (at most ``max_lines``)."""
        if self.ok:
            return f"all {self.rows_total} rows valid (schema {self.schema})"
        lines = [f"{self.rows_rejected} of {self.rows_total} rows rejected (schema {self.schema}):"]
        shown = self.errors[: max(max_lines, 0)]
        lines.extend(f"  {error}" for error in shown)
        more = len(self.errors) - len(shown) + self.errors_dropped
        if more:
            lines.append(f"  … and {more} more error{'s' if more != 1 else ''}")
        return "\n".join(lines)
