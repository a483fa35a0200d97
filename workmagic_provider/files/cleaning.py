"""Input cleaning of imported rows read from CSV/Excel (the rules of WorkMagic's own cleaner).

Only unambiguous, lossless rewrites are made, and every change is counted by rule so the
summary says what was changed (``{"currency_symbol": 12, "date_format": 3}``):

* ``whitespace``: leading/trailing spaces of any value;
* ``currency_symbol``: ``$ ¥ € £ ₹ ₽ ₩ ¢`` in money (``sales``, ``profit``,
  ``new_customer_sales``) and counts;
* ``thousands_separator``: ``1,234,567.89`` -> ``1234567.89`` (only well-formed groups of 3);
* ``integer_decimal``: a count written ``12.0`` -> ``12``;
* ``zip_plus4``: ZIP ``12345-6789`` -> ``12345``; ``zip_zero_padded``: a ZIP that lost its leading
  zeros as a number (``2134``, typical of Excel) -> ``02134``;
* ``time_stripped``: ``2026-03-02 00:00:00`` / ``2026-03-02T10:15:00Z`` -> the date part;
* ``date_format``: ``2026/3/2``, ``3/2/2026`` (month first; day first when the first number is
  above 12 or ``day_first=True``), ``02.03.2026`` (day first), ``20260302``, ``Mar 2, 2026``,
  ``2 March 2026`` -> ``2026-03-02``;
* ``week_code``: ``YYYYWW`` on a WEEKLY row -> the first day of that ISO week (shifted back to
  ``week_start`` if that is not Monday); ``month_code``: ``YYYYMM`` on other rows -> the 1st.

A value no rule recognises is left as it is, for validation to report.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

from workmagic_provider.schemas.options import WEEKDAYS

MONEY_FIELDS: tuple[str, ...] = ("sales", "profit", "new_customer_sales")
COUNT_FIELDS: tuple[str, ...] = ("orders", "new_customer_orders")
CURRENCY_SYMBOLS = "$¥€£₹₽₩¢"
_CURRENCY_RE = re.compile(f"[{re.escape(CURRENCY_SYMBOLS)}]")
_THOUSANDS_RE = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_INT_DECIMAL_RE = re.compile(r"^(\d+)\.0+$")
_ZIP4_RE = re.compile(r"^(\d{5})-\d{4}$")
_SHORT_ZIP_RE = re.compile(r"^\d{3,4}$")
_ISO_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME_PART_RE = re.compile(
    r"^(?P<date>.+?)[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*([AaPp][Mm])?\s*(Z|[+-]\d{2}:?\d{2})?$"
)
_YMD_RE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")
_DMY_DOT_RE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_SLASHED_RE = re.compile(r"^(\d{1,2})[/-](\d{1,2})[/-](\d{4})$")
_COMPACT_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_SIX_RE = re.compile(r"^(\d{4})(\d{2})$")
_NAMED_FORMATS = ("%b %d, %Y", "%B %d, %Y", "%d %b %Y", "%d %B %Y", "%b %d %Y", "%B %d %Y")


class ImportedCleaner:
    """Cleans imported rows (mappings of field -> text) in place and counts each change."""

    def __init__(self, *, week_start: str | None = "MONDAY", day_first: bool = False) -> None:
        self.week_start = week_start
        self.day_first = day_first
        self.counts: Counter[str] = Counter()

    def clean(self, record: dict[str, Any]) -> dict[str, Any]:
        counts = self.counts
        for key, value in record.items():
            if isinstance(value, str):
                stripped = value.strip()
                if stripped != value:
                    record[key] = stripped
                    counts["whitespace"] += 1
        for key in MONEY_FIELDS:
            value = record.get(key)
            if isinstance(value, str) and value:
                record[key] = self._number(value)
        for key in COUNT_FIELDS:
            value = record.get(key)
            if isinstance(value, str) and value:
                value = self._number(value)
                match = _INT_DECIMAL_RE.fullmatch(value)
                if match:
                    value = match.group(1)
                    counts["integer_decimal"] += 1
                record[key] = value
        geo = record.get("geo_code")
        if isinstance(geo, str) and record.get("geo_type") == "ZIP":
            match = _ZIP4_RE.fullmatch(geo)
            if match:
                record["geo_code"] = match.group(1)
                counts["zip_plus4"] += 1
            elif _SHORT_ZIP_RE.fullmatch(geo):
                record["geo_code"] = geo.zfill(5)
                counts["zip_zero_padded"] += 1
        code = record.get("date_code")
        if isinstance(code, str) and code and not _ISO_DATE_RE.fullmatch(code):
            record["date_code"] = self._date(code, weekly=record.get("date_type") == "WEEKLY")
        return record

    def _number(self, value: str) -> str:
        if _CURRENCY_RE.search(value):
            value = _CURRENCY_RE.sub("", value).strip()
            self.counts["currency_symbol"] += 1
        if "," in value and _THOUSANDS_RE.fullmatch(value):
            value = value.replace(",", "")
            self.counts["thousands_separator"] += 1
        return value

    def _date(self, value: str, *, weekly: bool) -> str:
        match = _TIME_PART_RE.fullmatch(value)
        if match and _parse_date(match.group("date"), self.day_first):
            value = match.group("date")
            self.counts["time_stripped"] += 1
            if _ISO_DATE_RE.fullmatch(value):
                return value
        six = _SIX_RE.fullmatch(value)
        if six:
            year, number = int(six.group(1)), int(six.group(2))
            if weekly and 1 <= number <= 53:
                try:
                    start = date.fromisocalendar(year, number, 1)
                except ValueError:
                    return value
                if self.week_start and self.week_start != "MONDAY":
                    back = (start.weekday() - WEEKDAYS.index(self.week_start)) % 7
                    start -= timedelta(days=back)
                self.counts["week_code"] += 1
                return start.isoformat()
            if not weekly and 1 <= number <= 12:
                self.counts["month_code"] += 1
                return date(year, number, 1).isoformat()
            return value
        parsed = _parse_date(value, self.day_first)
        if parsed is None:
            return value
        self.counts["date_format"] += 1
        return parsed.isoformat()


def _parse_date(value: str, day_first: bool) -> date | None:
    try:
        if _ISO_DATE_RE.fullmatch(value):
            return date.fromisoformat(value)
        match = _YMD_RE.fullmatch(value) or _COMPACT_RE.fullmatch(value)
        if match:
            return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        match = _DMY_DOT_RE.fullmatch(value)
        if match:
            return date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
        match = _SLASHED_RE.fullmatch(value)
        if match:
            first, second, year = (int(g) for g in match.groups())
            if day_first or first > 12:
                return date(year, second, first)
            return date(year, first, second)
    except ValueError:
        return None
    for fmt in _NAMED_FORMATS:
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    return None
