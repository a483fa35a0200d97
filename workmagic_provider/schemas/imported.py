"""Imported sales row: one aggregate per day (or week) x geo x platform x country.

Used by imported online store / marketplace / retail channels. WorkMagic rejects rows that do
not match the format, and a later row with the same primary key replaces the earlier one, so
this model is strict: unknown fields are rejected by default (a typo such as ``salse`` would
otherwise drop a measure silently) and codes are checked against their ``geo_type``. Volumes are
small (aggregates), so a few Python validators are fine here.
"""

import ipaddress
import re
from datetime import date
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError, core_schema

from workmagic_provider.schemas.common import (
    EXTRA_BEHAVIOUR,
    WEEKDAYS,
    Integer,
    Number,
    SchemaOptions,
    UnknownFields,
    strict_union,
)
from workmagic_provider.schemas.keys import IMPORTED_MEASURES, IMPORTED_PRIMARY_KEY  # noqa: F401

DEFAULT_UNKNOWN_FIELDS: UnknownFields = "reject"

DATE_TYPES: tuple[str, ...] = ("DAILY", "WEEKLY")
GEO_TYPES: tuple[str, ...] = ("ZIP", "DMA", "IP")
SALES_PLATFORM_TYPES: tuple[str, ...] = ("PRIMARY", "SECONDARY")

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ZIP_RE = re.compile(r"^\d{5}$")
_DMA_RE = re.compile(r"^\d{3}$")
_COUNTRY_RE = re.compile(r"^[A-Z]{2}$")

Amount = Annotated[float, Number(ge=0)]
SignedAmount = Annotated[float, Number()]


class _GeoCode:
    """A string, or a JSON integer (kept as int so the ZIP check can refuse it)."""

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> core_schema.CoreSchema:
        return strict_union(
            [core_schema.str_schema(strict=True), core_schema.int_schema(strict=True)],
            "geo_code_type",
            "Input should be a string (or an integer for non-ZIP geo types)",
        )

    def __get_pydantic_json_schema__(self, schema: Any, handler: Any) -> dict[str, Any]:
        return {"type": "string"}


def _enum(values: tuple[str, ...]) -> Any:
    """``Literal[values]``: pydantic reports "Input should be 'DAILY' or 'WEEKLY'"."""
    return Literal.__getitem__(values)  # type: ignore[attr-defined]


@cache
def build_imported_model(options: SchemaOptions) -> type[BaseModel]:
    """The imported-row model for one set of options (resolved by ``get_model``); cached."""
    unknown = options.unknown_fields or DEFAULT_UNKNOWN_FIELDS
    date_types = DATE_TYPES + tuple(v for v in options.extra_date_types if v not in DATE_TYPES)
    geo_types = GEO_TYPES + tuple(v for v in options.extra_geo_types if v not in GEO_TYPES)
    week_start = options.week_start
    Count = Annotated[int, Integer(ge=0, le=options.max_count)]
    DateType = _enum(date_types)
    GeoType = _enum(geo_types)
    PlatformType = _enum(SALES_PLATFORM_TYPES)

    class ImportedSalesRow(BaseModel):
        """One aggregated sales row of an imported channel.

        Measures are in the store currency; for retail channels ``orders`` holds units sold.
        WEEKLY values are spread evenly over the 7 days starting at ``date_code``.
        """

        model_config = ConfigDict(
            extra=EXTRA_BEHAVIOUR[unknown],
            hide_input_in_errors=True,
        )

        date_type: DateType = Field(description="Report frequency of this row.")  # type: ignore[valid-type]
        date_code: str = Field(
            description="YYYY-MM-DD: the day, or the first day of the week for WEEKLY rows."
        )
        geo_type: GeoType = Field(description="What kind of geo `geo_code` names.")  # type: ignore[valid-type]
        geo_code: Annotated[str, _GeoCode()] = Field(
            description="ZIP (5 digits), DMA (3 digits) or an IP; a string keeps leading zeros."
        )
        geo_name: str | None = Field(None, description="Human name of the geo (city, state).")
        sales_platform: str = Field(
            min_length=1, description="Channel of the sale, e.g. 'Walmart' or 'Online Store'."
        )
        sales_platform_type: PlatformType = Field(  # type: ignore[valid-type]
            description="PRIMARY: the DTC channel marketing drives; SECONDARY: marketplace, retail."
        )
        country_code: str = Field(description="ISO 3166-1 alpha-2 in uppercase, e.g. 'US'.")
        orders: Count = Field(description="Orders placed (units sold for retail), before refunds.")
        sales: Amount = Field(description="Sales value; numbers only, no currency symbols.")
        profit: SignedAmount | None = Field(None, description="Profit after costs; may be < 0.")
        new_customer_orders: Count | None = Field(None, description="Orders of new customers.")
        new_customer_sales: Amount | None = Field(None, description="Sales of new customers.")

        @field_validator("date_code")
        @classmethod
        def _check_date_code(cls, value: str, info: ValidationInfo) -> str:
            if not _DATE_RE.fullmatch(value):
                raise PydanticCustomError(
                    "date_code_format", "date_code must be a date written YYYY-MM-DD"
                )
            try:
                day = date.fromisoformat(value)
            except ValueError:
                raise PydanticCustomError(
                    "date_code_format", "date_code is not a calendar date (YYYY-MM-DD)"
                ) from None
            if week_start is not None and info.data.get("date_type") == "WEEKLY":
                found = WEEKDAYS[day.weekday()]
                if found != week_start:
                    raise PydanticCustomError(
                        "week_start",
                        f"WEEKLY date_code must be the first day of its week, a {week_start}, "
                        f"but {value} is a {found}; if your weeks start on {found}, set "
                        f"week_start='{found}' (or week_start=None to allow any weekday)",
                    )
            return value

        @field_validator("geo_code")
        @classmethod
        def _check_geo_code(cls, value: str | int, info: ValidationInfo) -> str:
            geo_type = info.data.get("geo_type")
            if geo_type == "ZIP":
                if not isinstance(value, str):
                    raise PydanticCustomError(
                        "zip_type", "ZIP geo_code must be a string to keep leading zeros"
                    )
                if not _ZIP_RE.fullmatch(value):
                    raise PydanticCustomError(
                        "zip_format", "ZIP geo_code must be 5 digits, e.g. '02134'"
                    )
                return value
            text = str(value)
            if geo_type == "DMA" and not _DMA_RE.fullmatch(text):
                raise PydanticCustomError("dma_format", "DMA geo_code must be 3 digits, e.g. '501'")
            if geo_type == "IP":
                try:
                    ipaddress.ip_address(text)
                except ValueError:
                    raise PydanticCustomError(
                        "ip_format", "IP geo_code must be an IPv4 or IPv6 address"
                    ) from None
            if not text:
                raise PydanticCustomError("geo_code_empty", "geo_code must not be empty")
            return text

        @field_validator("country_code")
        @classmethod
        def _check_country_code(cls, value: str) -> str:
            if _COUNTRY_RE.fullmatch(value):
                return value
            if _COUNTRY_RE.fullmatch(value.upper()):
                raise PydanticCustomError(
                    "country_code_case",
                    f"country_code must be uppercase ISO 3166-1 alpha-2: write '{value.upper()}'",
                )
            raise PydanticCustomError(
                "country_code",
                "country_code must be an ISO 3166-1 alpha-2 code of 2 uppercase letters, e.g. 'US'",
            )

    ImportedSalesRow.__module__ = __name__
    return ImportedSalesRow
