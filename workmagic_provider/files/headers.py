"""Header row -> field paths: case-insensitive names, aliases, custom-field prefixes.

A header cell is matched case-insensitively after trimming, with spaces and hyphens read as
``_``, so ``Date Code``, ``date-code`` and ``DATE_CODE`` all name ``date_code``; the display
labels of WorkMagic's Google Sheet tool that differ from the field names
(``Platform Type``) are aliases. ShipStream's grouping columns map onto the custom-site
order: ``unique_id`` is the order ``id``, ``order_ref`` its ``order_number``. Dotted names reach
into nested objects (``shipping_address.zip``); ``line_items.<field>`` (or
``line_item_<field>``, ``Line Item <Field>``) columns are item-level, one item per row. Names
starting with ``#`` or ``@`` are order custom fields: ``#code`` holds an enumerated
option id, ``@code`` literal text or a number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from workmagic_provider.exceptions import WorkMagicInputError

Kind = Literal["field", "item", "custom_id", "custom_text"]

#: Display labels and synonyms -> field names, for every schema (after normalising).
ALIASES: dict[str, str] = {
    "platform_type": "sales_platform_type",
    "unique_id": "id",
    "order_ref": "order_number",
}
ITEM_PREFIXES: tuple[str, ...] = ("line_items.", "line_item.", "line_item_")
#: Where custom fields go in the record.
CUSTOM_FIELDS = "custom_fields"
_SEPARATORS = re.compile(r"[\s\-]+")


def normalize(name: str) -> str:
    """``' Date Code '`` -> ``'date_code'``: lower case, spaces and hyphens as ``_``."""
    return _SEPARATORS.sub("_", name.strip()).lower()


@dataclass(frozen=True)
class Column:
    """One used column: its index, what it is, and the path it fills in a record."""

    index: int
    header: str
    kind: Kind
    path: tuple[str, ...]  # field path (items: path inside the item; custom: (code,))

    @property
    def name(self) -> str:
        return ".".join(self.path)


def map_header(cells: list[str], name: str = "input", *, items: bool = True) -> list[Column]:
    """The columns of a header row; raises on blank or repeated names.

    ``items``: whether ``line_items.*`` columns are item-level (custom-site orders); otherwise
    they are ordinary dotted fields.
    """
    columns: list[Column] = []
    seen: dict[tuple[str, tuple[str, ...]], str] = {}
    for index, raw in enumerate(cells):
        header = raw.strip()
        if not header:
            raise WorkMagicInputError(
                f"{name}: header (line 1) column {index + 1} has no name; "
                "name every column or delete the empty one"
            )
        column = _column(index, header, items)
        key = (column.kind if column.kind == "item" else "order", column.path)
        if key in seen:
            raise WorkMagicInputError(
                f"{name}: header columns {seen[key]!r} and {header!r} both name "
                f"{column.name!r}; keep one of them"
            )
        seen[key] = header
        columns.append(column)
    return columns


def _column(index: int, header: str, items: bool) -> Column:
    if header[0] in "#@":
        code = header[1:].strip()
        if not code:
            raise WorkMagicInputError(
                f"custom field header {header!r} has no code after {header[0]!r}"
            )
        return Column(index, header, "custom_id" if header[0] == "#" else "custom_text", (code,))
    key = normalize(header)
    if items:
        for prefix in ITEM_PREFIXES:
            if key.startswith(prefix) and len(key) > len(prefix):
                inner = key[len(prefix) :]
                return Column(index, header, "item", tuple(inner.split(".")))
    key = ALIASES.get(key, key)
    path = tuple(
        ALIASES.get(part, part) if n == 0 else part for n, part in enumerate(key.split("."))
    )
    return Column(index, header, "field", path)
