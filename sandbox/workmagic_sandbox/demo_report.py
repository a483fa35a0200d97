"""The demo's table: one line per DAG and hour, read from each task's XCom summary.

Every WorkMagic operator returns a summary of what it moved, shaped by its flow (a sync counts
objects, an upload counts parts, the Enrich flow counts accepted orders). :func:`moved` reads
any of them into the same five columns the demo prints.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Moved:
    """What one run moved: files (or parts, tabs), rows, bytes, rejected rows, and where."""

    files: int | None
    rows: int | None
    bytes: int | None
    rejected: int | None
    where: str
    note: str = ""

    @property
    def moved_something(self) -> bool:
        return bool(self.files or self.rows or self.note.startswith("rendered"))


def _int(summary: Mapping[str, Any], *keys: str) -> int | None:
    for key in keys:
        if summary.get(key) is not None:
            return int(summary[key])
    return None


def moved(summary: Mapping[str, Any] | None) -> Moved:
    """The five columns of any WorkMagic operator's XCom summary (unknown shapes: blanks)."""
    if not summary:
        return Moved(None, None, None, None, "", "no summary in XCom")
    if summary.get("mode") == "render_only":
        steps = [s.get("step") for s in summary.get("statements", [])]
        return Moved(0, None, None, None, str(summary["destination"]),
                     f"rendered {len(steps)} statements, submitted none")  # fmt: skip
    if "spreadsheet_id" in summary:
        where = f"sheet {summary['spreadsheet_id']}, tab {summary.get('tab')!r}"
        rows = _int(summary, "rows_written")
        return Moved(1 if rows else 0, rows, None, _int(summary, "rejected"), where)
    if "endpoint" in summary:
        rejected = (_int(summary, "rows_invalid") or 0) + (_int(summary, "rejected") or 0)
        note = f"{_int(summary, 'requests') or 0} requests"
        if summary.get("verify"):
            note += f", {summary['verify'].get('matched', 0)} read back"
        return Moved(None, _int(summary, "accepted"), None, rejected, str(summary["endpoint"]),
                     note)  # fmt: skip
    if "objects_written" in summary:  # a sync
        note = f"{summary.get('skipped', 0)} unchanged skipped, {summary.get('split', 0)} re-split"
        # a byte copy does not read the lines: rows are known only for re-split files
        return Moved(
            _int(summary, "objects_written"),
            _int(summary, "rows_written") if summary.get("split") else None,
            _int(summary, "bytes_written"),
            _int(summary, "rows_rejected"),
            str(summary.get("destination", "")),
            note,
        )
    if "parts" in summary:  # an upload or a file import
        note = ""
        if summary.get("files") is not None:
            note = f"from {len(summary['files'])} file(s)"
        return Moved(
            len(summary["parts"]),
            _int(summary, "rows_written"),
            _int(summary, "bytes"),
            _int(summary, "rejected"),
            str(summary.get("destination", "")),
            note,
        )
    if "rows_unloaded" in summary or "rows_exported" in summary:  # warehouses, for real
        files = summary.get("files") or []
        return Moved(
            len(files),
            _int(summary, "rows_unloaded", "rows_exported"),
            _int(summary, "bytes"),
            None,
            str(summary.get("destination", "")),
        )
    return Moved(None, None, None, None, str(summary.get("destination", "")), "unknown summary")


@dataclass(frozen=True)
class RunLine:
    dag_id: str
    hour: str
    state: str
    moved: Moved


def _cell(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def render_table(lines: Sequence[RunLine]) -> str:
    """A plain-text table, one line per DAG and hour."""
    header = ["DAG", "hour (UTC)", "state", "files", "rows", "bytes", "rejected", "where", "note"]
    body = [
        [
            line.dag_id.removeprefix("workmagic_"),
            line.hour,
            line.state,
            _cell(line.moved.files),
            _cell(line.moved.rows),
            _cell(line.moved.bytes),
            _cell(line.moved.rejected),
            line.moved.where,
            line.moved.note,
        ]
        for line in lines
    ]
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    numeric = {3, 4, 5, 6}

    def fmt(row: list[str]) -> str:
        cells = [
            cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([fmt(header), rule, *(fmt(row) for row in body)])
