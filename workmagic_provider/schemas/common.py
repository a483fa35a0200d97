"""Options and field types shared by the three schemas.

The field types are built from pydantic-core schemas (no Python call per value) because the
custom-site order is validated at high volume; only :data:`UtcTimestamp` calls one small Python
function, to convert every offset to UTC. All of them behave the same in JSON and Python mode.

Coercions, and nothing else is changed in the data:

* numbers: JSON numbers and numeric strings (BigQuery writes INT64 as strings) become JSON
  numbers; booleans, non-numeric strings, NaN and infinities are errors; money is written as a
  float (``20`` -> ``20.0``), counts as an integer (``"2"`` and ``2.0`` -> ``2``, ``2.5`` is an
  error);
* ids: a JSON integer becomes a string (warehouses keep ids as numbers), a float is an error;
* timestamps: an ISO-8601 string with a zone, written in UTC with ``Z``; naive times and epoch
  numbers are errors (a zone is never guessed, nor is seconds vs milliseconds).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from workmagic_provider.schemas.options import (  # noqa: F401  (re-exported for the schema modules)
    EXTRA_BEHAVIOUR,
    MAX_COUNT,
    WEEKDAYS,
    SchemaOptions,
    UnknownFields,
    config_error,
    unknown_fields_of,
)

# --- field types -----------------------------------------------------------------------------
# Each is used as ``Annotated[float, Number()]``; the gate (a strict union) refuses booleans
# and containers before the lax number validator, which would read ``true`` as 1.


def strict_union(
    choices: list[core_schema.CoreSchema | tuple[core_schema.CoreSchema, str]],
    error_type: str,
    message: str,
) -> core_schema.CoreSchema:
    """A strict union that passes the value through unchanged or reports ``message``."""
    return core_schema.union_schema(
        choices,
        mode="left_to_right",
        custom_error_type=error_type,
        custom_error_message=message,
    )


_NUMBER_CHOICES: list[core_schema.CoreSchema | tuple[core_schema.CoreSchema, str]] = [
    core_schema.int_schema(strict=True),
    core_schema.float_schema(strict=True),
    core_schema.str_schema(strict=True),
    core_schema.is_instance_schema(Decimal),
]


@dataclass(frozen=True)
class Number:
    """A finite number (money or measure); numeric strings accepted, written as a JSON float."""

    ge: float | None = None

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        gate = strict_union(
            _NUMBER_CHOICES, "number_type", "Input should be a number or a numeric string"
        )
        return core_schema.chain_schema(
            [gate, core_schema.float_schema(allow_inf_nan=False, ge=self.ge)]
        )

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        out: dict[str, Any] = {"type": "number"}
        if self.ge is not None:
            out["minimum"] = self.ge
        return out


@dataclass(frozen=True)
class Integer:
    """A count; ``"2"`` and ``2.0`` are read as 2, ``2.5`` is an error; written as an integer."""

    ge: int | None = None
    le: int | None = None

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        gate = strict_union(
            _NUMBER_CHOICES, "integer_type", "Input should be an integer or an integer string"
        )
        return core_schema.chain_schema([gate, core_schema.int_schema(ge=self.ge, le=self.le)])

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        out: dict[str, Any] = {"type": "integer"}
        if self.ge is not None:
            out["minimum"] = self.ge
        if self.le is not None:
            out["maximum"] = self.le
        return out


@dataclass(frozen=True)
class Identifier:
    """A non-empty id string; a JSON integer is written as its decimal string."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        gate = strict_union(
            [core_schema.str_schema(strict=True), core_schema.int_schema(strict=True)],
            "id_type",
            "Input should be a string or an integer",
        )
        return core_schema.chain_schema(
            [gate, core_schema.str_schema(min_length=1, coerce_numbers_to_str=True)]
        )

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"type": "string", "minLength": 1}


@dataclass(frozen=True)
class Code:
    """A string matching ``pattern``; any mismatch reports ``message`` (a fixed text)."""

    pattern: str
    error_type: str
    message: str

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.custom_error_schema(
            core_schema.str_schema(pattern=self.pattern, strict=True),
            custom_error_type=self.error_type,
            custom_error_message=self.message,
        )

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"type": "string", "pattern": self.pattern}


#: ISO 3166-1 alpha-2 in uppercase (``US``); lowercase is an error, not silently fixed.
COUNTRY_CODE = Code(
    r"^[A-Z]{2}$",
    "country_code",
    "Input should be an ISO 3166-1 alpha-2 country code in uppercase, e.g. 'US'",
)
#: ISO 4217 in uppercase (``USD``).
CURRENCY_CODE = Code(
    r"^[A-Z]{3}$",
    "currency_code",
    "Input should be a 3-letter uppercase ISO 4217 currency code, e.g. 'USD'",
)

TIMEZONE_MESSAGE = "timestamp must include a time zone, e.g. 2025-09-22T23:50:25Z"


def _to_utc(moment: datetime) -> datetime:
    offset = moment.utcoffset()
    if offset is None:
        raise PydanticCustomError("timezone_required", TIMEZONE_MESSAGE)
    if offset:
        try:
            return moment.astimezone(timezone.utc)
        except OverflowError:
            raise PydanticCustomError(
                "timestamp_range",
                "timestamp is out of range once converted to UTC (years 1 to 9999)",
            ) from None
    return moment


@dataclass(frozen=True)
class UtcTimestamp:
    """An ISO-8601 timestamp with a zone, converted to UTC (serialised with ``Z``)."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        gate = strict_union(
            [
                # date, then 'T' or ' ', then a digit: refuses epoch numbers and bare dates
                core_schema.str_schema(strict=True, pattern=r"^\d{4}-\d\d-\d\d[Tt ]\d"),
                core_schema.is_instance_schema(datetime),
            ],
            "timestamp_type",
            "Input should be an ISO 8601 timestamp with a time zone, e.g. 2025-09-22T23:50:25Z",
        )
        return core_schema.no_info_after_validator_function(
            _to_utc, core_schema.chain_schema([gate, core_schema.datetime_schema()])
        )

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"type": "string", "format": "date-time"}


__all__ = [
    "COUNTRY_CODE",
    "CURRENCY_CODE",
    "MAX_COUNT",
    "TIMEZONE_MESSAGE",
    "WEEKDAYS",
    "Code",
    "Identifier",
    "Integer",
    "Number",
    "SchemaOptions",
    "UnknownFields",
    "UtcTimestamp",
    "config_error",
    "unknown_fields_of",
]
