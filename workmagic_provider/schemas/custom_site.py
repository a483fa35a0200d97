"""Custom-site order: one object per order, the shape WorkMagic's Orders API takes.

WorkMagic has not published this schema; the fields are those its own load test sends. So the
model is open: unknown fields pass through untouched (also inside nested objects) unless the
caller asks to reject or drop them, and only ``id``, ``created_at``, ``updated_at`` and
``total_price`` are required (an assumption listed in the README). This is the high-volume
schema: every check here is a pydantic-core schema; the only Python call per row is the UTC
conversion of the two timestamps.
"""

from datetime import datetime
from functools import cache
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from workmagic_provider.schemas.common import (
    COUNTRY_CODE,
    CURRENCY_CODE,
    EXTRA_BEHAVIOUR,
    MAX_COUNT,
    Identifier,
    Integer,
    Number,
    UnknownFields,
    UtcTimestamp,
)

DEFAULT_UNKNOWN_FIELDS: UnknownFields = "allow"

Id = Annotated[str, Identifier()]
Money = Annotated[float, Number()]
Timestamp = Annotated[datetime, UtcTimestamp()]
CountryCode = Annotated[str, COUNTRY_CODE]
CurrencyCode = Annotated[str, CURRENCY_CODE]


@cache
def build_custom_site_model(
    unknown_fields: UnknownFields = DEFAULT_UNKNOWN_FIELDS, max_count: int = MAX_COUNT
) -> type[BaseModel]:
    """The order model (and its nested models) for one unknown-field behaviour; cached."""
    Count = Annotated[int, Integer(ge=0, le=max_count)]
    config = ConfigDict(
        extra=EXTRA_BEHAVIOUR[unknown_fields],
        hide_input_in_errors=True,  # rows hold PII: keep it out of str(ValidationError)
    )

    class DiscountCode(BaseModel):
        """A discount code applied to the order."""

        model_config = config
        code: str = Field(description="The code as the shopper typed it.")

    class ShippingAddress(BaseModel):
        """Where the order ships: WorkMagic's geo lift tests read the order's geography here."""

        model_config = config
        zip: str | None = Field(None, description="Postal code; a string keeps leading zeros.")
        city: str | None = None
        country: str | None = Field(None, description="Country name.")
        country_code: CountryCode | None = Field(None, description="ISO 3166-1 alpha-2, 'US'.")
        province_code: str | None = None
        province: str | None = None

    class LineItem(BaseModel):
        """One purchased item."""

        model_config = config
        id: Id | None = Field(None, description="Line item id (an integer id becomes a string).")
        title: str | None = None
        price: Money | None = Field(None, description="Unit price in the store currency.")
        quantity: Count | None = Field(None, description="Units ordered.")
        current_quantity: Count | None = Field(None, description="Units after refunds/edits.")

    class Customer(BaseModel):
        """The buyer, so WorkMagic can tell new from returning customers."""

        model_config = config
        id: Id | None = None
        email: str | None = None

    class Extensions(BaseModel):
        """WorkMagic-specific costs and refunds (money in the store currency)."""

        model_config = config
        order_app_name: str | None = Field(None, description="Sales app, e.g. 'Web'.")
        order_cost_cogs: Money | None = None
        order_cost_handling: Money | None = None
        order_cost_shipping: Money | None = None
        order_cost_transaction: Money | None = None
        order_refund_amount: Money | None = None
        order_refund_product_count: Count | None = None
        is_subscription_order: bool | None = None

    class CustomSiteOrder(BaseModel):
        """One custom-site order. Optional fields that are absent or null are not written."""

        model_config = config
        id: Id = Field(description="Unique order id: the key WorkMagic upserts on.")
        created_at: Timestamp = Field(description="When the order was placed; written in UTC.")
        updated_at: Timestamp = Field(
            description="Last change; warehouse windows select on it. Written in UTC."
        )
        order_number: Id | None = Field(None, description="Human order number.")
        browser_ip: str | None = Field(None, description="Buyer IP, a geo fallback.")
        landing_site: str | None = None
        referring_site: str | None = None
        checkout_token: str | None = Field(
            None, description="Ties the pixel's checkout to this order (checkout match ratio)."
        )
        financial_status: str | None = Field(None, description="Payment state, e.g. 'paid'.")
        total_price: Money = Field(description="Order total in the store currency.")
        currency: CurrencyCode | None = Field(
            None, description="ISO 4217 code; WorkMagic assumes the store currency when absent."
        )
        current_total_price: Money | None = Field(None, description="Total after edits/refunds.")
        subtotal_price: Money | None = None
        current_subtotal_price: Money | None = None
        current_total_discounts: Money | None = None
        current_total_tax: Money | None = None
        discount_codes: list[DiscountCode] | None = None
        shipping_address: ShippingAddress | None = None
        line_items: list[LineItem] | None = None
        customer: Customer | None = None
        extensions: Extensions | None = None

    CustomSiteOrder.__module__ = __name__
    return CustomSiteOrder
