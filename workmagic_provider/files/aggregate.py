"""Order-level rows -> imported rows: group by the primary key, sum the measures.

What WorkMagic's own cleaner does for imported channels: each input row is one order (or one
line of a retailer's report) with a date, a geo, a platform and money; rows with the same
primary key (``date_type``, ``date_code``, ``geo_type``, ``geo_code``, ``sales_platform``,
``sales_platform_type``, ``country_code``) become one imported row. ``orders`` counts distinct
``order_id``s when the rows have one, else sums ``orders`` (1 per row when absent). The other
measures are summed. ``date_code`` is the day of ``date_field`` in the store time zone, or the
first day of its week for WEEKLY rows: a later row with the same key replaces the earlier one,
so one row must hold the whole day (or week).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from workmagic_provider.exceptions import WorkMagicConfigError
from workmagic_provider.schemas import IMPORTED_MEASURES, IMPORTED_PRIMARY_KEY, ValidationReport
from workmagic_provider.schemas.options import WEEKDAYS

SUMMED = tuple(m for m in IMPORTED_MEASURES if m != "orders")


def day_of(value: Any, zone: ZoneInfo) -> date | None:
    """The calendar day of a date, a datetime (converted to ``zone``) or an ISO text."""
    if isinstance(value, datetime):
        return value.astimezone(zone).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value:
        text = value.strip().replace("Z", "+00:00")
        try:
            if len(text) == 10:
                return date.fromisoformat(text)
            return day_of(datetime.fromisoformat(text), zone)
        except ValueError:
            return None
    return None


def week_start_of(day: date, week_start: str = "MONDAY") -> date:
    back = (day.weekday() - WEEKDAYS.index(week_start)) % 7
    return day - timedelta(days=back)


def aggregate_order_rows(
    rows: Iterable[tuple[int, Mapping[str, Any]]],
    report: ValidationReport,
    *,
    date_type: str = "DAILY",
    date_field: str = "date",
    week_start: str | None = "MONDAY",
    timezone: str = "UTC",
    defaults: Mapping[str, Any] | None = None,
) -> list[tuple[int, dict[str, Any]]]:
    """Imported rows (numbered by the first input row of each) from order-level rows."""
    if date_type not in ("DAILY", "WEEKLY"):
        raise WorkMagicConfigError(f"date_type must be DAILY or WEEKLY, got {date_type!r}")
    zone = ZoneInfo(timezone)
    defaults = dict(defaults or {})
    groups: dict[tuple[Any, ...], dict[str, Any]] = {}
    order_ids: dict[tuple[Any, ...], set[str]] = {}
    first_row: dict[tuple[Any, ...], int] = {}
    for row, source in rows:
        record = {**defaults, **source}
        day = day_of(record.get(date_field, record.get("date_code")), zone)
        if day is None:
            report.add(
                row,
                date_field,
                "needs a date (YYYY-MM-DD or an ISO timestamp)",
                record.get(date_field),
            )
            continue
        if date_type == "WEEKLY":
            day = week_start_of(day, week_start or "MONDAY")
        record["date_type"] = date_type
        record["date_code"] = day.isoformat()
        key = tuple(_text(record.get(f)) for f in IMPORTED_PRIMARY_KEY)
        missing = [f for f, v in zip(IMPORTED_PRIMARY_KEY, key, strict=True) if v == ""]
        if missing:
            report.add(row, missing[0], "field required to aggregate (part of the primary key)")
            continue
        measures: dict[str, Decimal | None] = {}
        for name in (*SUMMED, "orders"):
            try:
                measures[name] = _number(record.get(name))
            except ValueError:
                report.add(row, name, "must be a number to aggregate", record.get(name))
                break
        if len(measures) < len(SUMMED) + 1:
            continue
        target = groups.get(key)
        if target is None:
            target = {f: v for f, v in zip(IMPORTED_PRIMARY_KEY, key, strict=True)}
            if record.get("geo_name"):
                target["geo_name"] = record["geo_name"]
            target.update({m: None for m in (*SUMMED, "orders")})
            groups[key] = target
            first_row[key] = row
        order_id = record.get("order_id")
        if order_id not in (None, ""):
            order_ids.setdefault(key, set()).add(str(order_id))
        else:
            if measures["orders"] is None:
                measures["orders"] = Decimal(1)
        for name, value in measures.items():
            if value is not None:
                target[name] = (target[name] or 0) + value
    out = []
    for key, target in groups.items():
        if key in order_ids:
            target["orders"] = (target["orders"] or 0) + len(order_ids[key])
        record = {k: _plain(v) for k, v in target.items() if v is not None}
        out.append((first_row[key], record))
    return out


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _number(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError from None


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value
