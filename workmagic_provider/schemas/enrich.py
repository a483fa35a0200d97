"""Enrich order: the sales/profit override of an order WorkMagic already has.

The Enrich API only modifies existing orders, so every field maps to something WorkMagic
applies; unknown fields are rejected by default (a misspelt ``profit_amout`` would be dropped
and the profit never corrected).
"""

from datetime import datetime
from functools import cache
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from workmagic_provider.schemas.common import (
    CURRENCY_CODE,
    EXTRA_BEHAVIOUR,
    Identifier,
    Number,
    UnknownFields,
    UtcTimestamp,
)

DEFAULT_UNKNOWN_FIELDS: UnknownFields = "reject"


@cache
def build_enrich_model(unknown_fields: UnknownFields = DEFAULT_UNKNOWN_FIELDS) -> type[BaseModel]:
    """The enrich-order model for one unknown-field behaviour; cached."""

    class EnrichOrder(BaseModel):
        """New sales/profit figures for one existing order (re-sending an order_id overwrites)."""

        model_config = ConfigDict(extra=EXTRA_BEHAVIOUR[unknown_fields], hide_input_in_errors=True)

        order_id: Annotated[str, Identifier()] = Field(
            description="Id of an order WorkMagic already has (an integer id becomes a string)."
        )
        order_timestamp: Annotated[datetime, UtcTimestamp()] = Field(
            description="When the order was placed; written in UTC so time zones cannot drift."
        )
        sales_amount: Annotated[float, Number()] = Field(
            description="Corrected sales; may be 0 or negative (a refund), as long as it is real."
        )
        profit_amount: Annotated[float, Number()] = Field(
            description="Corrected profit; may be 0 or negative."
        )
        currency: Annotated[str, CURRENCY_CODE] | None = Field(
            None, description="ISO 4217 code; WorkMagic assumes USD when absent (not written)."
        )

    EnrichOrder.__module__ = __name__
    return EnrichOrder
