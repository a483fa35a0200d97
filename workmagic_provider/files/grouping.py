"""Table rows (CSV, Excel) -> records: flat rows, or orders grouped from several rows.

Flat schemas (imported, enrich) make one record per row. Custom-site orders follow the
multi-row convention of order files: each row is one line item, the order-level columns may be
repeated on continuation rows (the same value) or left blank, and rows are grouped by ``id``
(``unique_id``), else by ``order_number`` (``order_ref``, which then also becomes the ``id``),
else the whole file is one order. A repeated order-level value that differs is an error on
that line and field, and so is a row without the grouping value. Rows of one order must be
adjacent: an order id met again later is a duplicate (reported by the reader).

A record's row number is the line of its first row; a rejected order is reported once, at the
first line at fault, and the rest of its rows are skipped.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from workmagic_provider.files.headers import CUSTOM_FIELDS, Column
from workmagic_provider.schemas.report import ROW, ValidationReport

#: Fields that take several values separated by ``|``, and the shape of one value.
MULTI_VALUE_FIELDS: dict[tuple[str, ...], Callable[[str], Any]] = {
    ("discount_codes",): lambda code: {"code": code},
}
MULTI_SEPARATOR = "|"

Rejected = Callable[[int, Any], None]


class TableRecords:
    """Turns ``(line, cells)`` of one table into ``(row, record)`` pairs."""

    def __init__(
        self,
        columns: list[Column],
        report: ValidationReport,
        *,
        group: bool,
        pad_short: bool = False,
        rejected: Rejected | None = None,
        name: str = "input",
    ) -> None:
        self.columns = columns
        self.width = len(columns)
        self.report = report
        self.group = group
        self.pad_short = pad_short
        self.rejected = rejected
        self.name = name
        #: changes made while reading (trimmed values), merged into the cleaning counts
        self.counts: Counter[str] = Counter()
        self.last_line = 1
        self.key_column = _key_column(columns) if group else None
        self.order_columns = [c for c in columns if c.kind != "item"]
        self.item_columns = [c for c in columns if c.kind == "item"]

    # -- rows ------------------------------------------------------------------------------
    def _cells(self, line: int, cells: list[str]) -> list[str] | None:
        """The row's cells at the header's width, or None (reported) if the row is ragged."""
        self.last_line = line
        if len(cells) == self.width:
            return cells
        if len(cells) > self.width and not any(c.strip() for c in cells[self.width :]):
            return cells[: self.width]
        if len(cells) < self.width and self.pad_short:
            return cells + [""] * (self.width - len(cells))
        self._reject(
            line,
            ROW,
            f"line has {len(cells)} fields but the header has {self.width} "
            "(check the delimiter, and quote values that contain it or a line break)",
            cells,
        )
        return None

    def _reject(
        self, line: int, field: str, reason: str, cells: list[str], value: Any = None
    ) -> None:
        self.report.add(line, field, reason, value)
        if self.rejected is not None:
            raw = {c.header: cells[c.index] for c in self.columns if c.index < len(cells)}
            self.rejected(line, json.dumps(raw, ensure_ascii=False))

    def records(
        self, rows: Iterable[tuple[int, list[str]]]
    ) -> Iterator[tuple[int, dict[str, Any]]]:
        if not self.group:
            for line, raw in rows:
                cells = self._cells(line, raw)
                if cells is not None:
                    record: dict[str, Any] = {}
                    for column in self.columns:
                        _put(record, column, cells[column.index], self.counts)
                    yield line, record
            return
        yield from self._grouped(rows)

    # -- grouping --------------------------------------------------------------------------
    def _grouped(
        self, rows: Iterable[tuple[int, list[str]]]
    ) -> Iterator[tuple[int, dict[str, Any]]]:
        key_column = self.key_column
        group: _Order | None = None
        for line, raw in rows:
            cells = self._cells(line, raw)
            if cells is None:
                # a ragged row of the current order (or of a file with no key column) takes
                # the order with it: an order missing one of its items is not sent
                if group is not None and (
                    key_column is None
                    or (key_column.index < len(raw) and raw[key_column.index].strip() == group.key)
                ):
                    group.failed = True
                continue
            if key_column is not None:
                key = cells[key_column.index].strip()
                if not key:
                    # most likely a continuation row that lost its key: the order before it is
                    # not sent either (its rejection is this line's error)
                    if group is not None:
                        group.failed = True
                    self._reject(
                        line,
                        key_column.name,
                        f"is blank; every row needs the order's {key_column.header!r} "
                        "to group its rows into an order",
                        cells,
                    )
                    continue
            else:
                key = ""
            if group is None or key != group.key:
                if group is not None and not group.failed:
                    yield group.line, group.record()
                group = _Order(key, line, self.order_columns, self.counts)
            if group.failed:
                continue
            self._add_row(group, line, cells)
        if group is not None and not group.failed:
            yield group.line, group.record()

    def _add_row(self, group: _Order, line: int, cells: list[str]) -> None:
        for column in self.order_columns:
            value = cells[column.index]
            if not value.strip():
                continue
            seen = group.values.get(column.index)
            if seen is None:
                group.values[column.index] = (value, line)
            elif seen[0].strip() != value.strip():
                hint = (
                    ""
                    if self.key_column is not None
                    else "; the file has no unique_id/id or order_ref/order_number column, so "
                    "all its rows must be one order"
                )
                self._reject(
                    line,
                    column.name,
                    f"conflicts with {seen[0]!r} on line {seen[1]} of the same order "
                    f"(order-level values may only be repeated or left blank){hint}",
                    cells,
                    value,
                )
                group.failed = True
                return
        item: dict[str, Any] = {}
        for column in self.item_columns:
            value = cells[column.index]
            stripped = value.strip()
            if stripped:
                if stripped != value:
                    self.counts["whitespace"] += 1
                _set(item, column.path, stripped)
        if item:
            group.items.append(item)


class _Order:
    """The rows of one order read so far."""

    __slots__ = ("columns", "counts", "failed", "items", "key", "line", "values")

    def __init__(self, key: str, line: int, columns: list[Column], counts: Counter[str]) -> None:
        self.key = key
        self.line = line
        self.columns = columns
        self.counts = counts
        self.failed = False
        self.values: dict[int, tuple[str, int]] = {}
        self.items: list[dict[str, Any]] = []

    def record(self) -> dict[str, Any]:
        return build_order(self.columns, self.values, self.items, self.counts)


def _key_column(columns: list[Column]) -> Column | None:
    for path in (("id",), ("order_number",)):
        for column in columns:
            if column.kind == "field" and column.path == path:
                return column
    return None


def build_order(
    columns: list[Column],
    values: dict[int, tuple[str, int]],
    items: list[dict[str, Any]],
    counts: Counter[str],
) -> dict[str, Any]:
    """One order from its order-level values and its items."""
    record: dict[str, Any] = {}
    for column in columns:
        found = values.get(column.index)
        if found is not None:
            _put(record, column, found[0], counts)
    if "id" not in record and isinstance(record.get("order_number"), str):
        record = {"id": record["order_number"], **record}
    if items:
        record["line_items"] = items
    return record


def _put(record: dict[str, Any], column: Column, value: str, counts: Counter[str]) -> None:
    """Set one cell's value in ``record``, trimmed (counted); blank cells are left out."""
    stripped = value.strip()
    if not stripped:
        return
    if stripped != value:
        counts["whitespace"] += 1
        value = stripped
    if column.kind == "field":
        convert = MULTI_VALUE_FIELDS.get(column.path)
        if convert is not None:
            _set(record, column.path, [convert(v.strip()) for v in _split(value)])
        else:
            _set(record, column.path, value)
        return
    values = _split(value)
    if column.kind == "custom_id":
        ids: list[Any] = [{"id": v} for v in values]
        custom: Any = ids if len(ids) > 1 else ids[0]
    else:
        custom = values if len(values) > 1 else values[0]
    record.setdefault(CUSTOM_FIELDS, {})[column.path[0]] = custom


def _split(value: str) -> list[str]:
    if MULTI_SEPARATOR not in value:
        return [value.strip()]
    return [v.strip() for v in value.split(MULTI_SEPARATOR) if v.strip()]


def _set(target: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for part in path[:-1]:
        inner = target.get(part)
        if not isinstance(inner, dict):
            inner = target[part] = {}
        target = inner
    target[path[-1]] = value
