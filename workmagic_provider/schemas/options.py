"""The options every schema takes, without importing pydantic.

The CLI parses its flags into :class:`SchemaOptions` and the pipeline names schemas and keys
before a model is built, so this module (and :mod:`.keys`) stays free of pydantic: ``validate``
of a small file pays for building only the one model it uses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from workmagic_provider.exceptions import WorkMagicConfigError

UnknownFields = Literal["allow", "reject", "ignore"]

WEEKDAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")

#: pydantic's names for the ``unknown_fields`` option values.
EXTRA_BEHAVIOUR: dict[str, Literal["allow", "forbid", "ignore"]] = {
    "allow": "allow",
    "reject": "forbid",
    "ignore": "ignore",
}

#: Largest count (units, orders) a row may carry by default: far above any real order, far
#: below the values a unit mix-up or an overflow produces (``10**30``).
MAX_COUNT = 1_000_000_000

_ENUM_VALUE_RE = re.compile(r"^[A-Z][A-Z0-9_]{0,31}$")


def config_error(message: str) -> WorkMagicConfigError:
    """A :class:`~workmagic_provider.exceptions.WorkMagicConfigError` (kept for the schema
    modules' many call sites)."""
    return WorkMagicConfigError(message)


@dataclass(frozen=True)
class SchemaOptions:
    """Knobs for the details WorkMagic's guides leave open (README, "Assumptions").

    Hashable, so built models are cached per options.

    ``unknown_fields``: ``None`` is the schema's default: custom-site ``"allow"`` (WorkMagic's
    order schema is open, unknown fields pass through, nested objects too), imported and enrich
    ``"reject"`` (a typo such as ``salse`` would otherwise silently drop a measure).
    ``week_start``: the weekday every WEEKLY imported row's ``date_code`` must fall on, ``None``
    for any weekday. ``extra_geo_types`` / ``extra_date_types``: values WorkMagic's own tooling
    uses but its public page does not list (``STATE``, ``COUNTY``, ``MONTHLY``), off by default.
    ``max_count``: the largest count (quantity, orders) accepted, :data:`MAX_COUNT` by default.
    ``strict_json``: refuse rows with ``NaN``/``Infinity``/``1e400`` or a key given twice
    (default); ``False`` skips that check (a few microseconds per row) for trusted exports.
    """

    unknown_fields: UnknownFields | None = None
    week_start: str | None = "MONDAY"
    extra_geo_types: tuple[str, ...] = ()
    extra_date_types: tuple[str, ...] = ()
    max_count: int = MAX_COUNT
    strict_json: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.max_count, bool) or not isinstance(self.max_count, int):
            raise config_error(f"max_count must be an integer, got {self.max_count!r}")
        if self.max_count < 1:
            raise config_error(f"max_count must be at least 1, got {self.max_count}")
        if self.unknown_fields is not None and self.unknown_fields not in EXTRA_BEHAVIOUR:
            raise config_error(
                f"unknown_fields must be 'allow', 'reject', 'ignore' or None, "
                f"got {self.unknown_fields!r}"
            )
        if self.week_start is not None:
            day = self.week_start.strip().upper() if isinstance(self.week_start, str) else None
            if day not in WEEKDAYS:
                raise config_error(
                    f"week_start must be a weekday name such as 'MONDAY' or None, "
                    f"got {self.week_start!r}"
                )
            object.__setattr__(self, "week_start", day)
        for name in ("extra_geo_types", "extra_date_types"):
            object.__setattr__(self, name, _enum_values(name, getattr(self, name)))


def _enum_values(name: str, values: Any) -> tuple[str, ...]:
    if isinstance(values, str):
        raise config_error(f"{name} must be a list of names such as ('STATE',), not a str")
    try:
        items = tuple(values)
    except TypeError as err:
        raise config_error(f"{name} must be a list of names, got {values!r}") from err
    for item in items:
        if not isinstance(item, str) or not _ENUM_VALUE_RE.fullmatch(item):
            raise config_error(
                f"{name} values must be uppercase names such as 'STATE', got {item!r}"
            )
    return tuple(dict.fromkeys(items))


def unknown_fields_of(options: SchemaOptions, default: UnknownFields) -> UnknownFields:
    return options.unknown_fields if options.unknown_fields is not None else default
