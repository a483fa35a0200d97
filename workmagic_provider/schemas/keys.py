"""The fields that identify and add up imported rows, without importing pydantic."""

from __future__ import annotations

#: Fields that identify a row; a later upload with the same key replaces the row.
IMPORTED_PRIMARY_KEY: tuple[str, ...] = (
    "date_type",
    "date_code",
    "geo_type",
    "geo_code",
    "sales_platform",
    "sales_platform_type",
    "country_code",
)
#: Measures that add up when rows with the same key are aggregated.
IMPORTED_MEASURES: tuple[str, ...] = (
    "orders",
    "sales",
    "profit",
    "new_customer_orders",
    "new_customer_sales",
)
