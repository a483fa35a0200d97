"""What a Snowflake unload returned, and settling the hour folder after it through a stage.

Parts of this flow and hour that an earlier run left behind (``OVERWRITE`` only replaces files
of the same name) are removed through Snowflake too: ``LIST``/``REMOVE`` on a stage over the
account folder with the same storage integration, whose IAM user is the one WorkMagic trusts.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from workmagic_provider.exceptions import WorkMagicError
from workmagic_provider.standards import HARD_LIMIT_BYTES

if TYPE_CHECKING:
    from workmagic_provider.standards import HourFolder
    from workmagic_provider.warehouse.snowflake_session import SnowflakeSession


def _lower_keys(row: Any) -> dict[str, Any]:
    if isinstance(row, Mapping):
        return {str(k).lower(): v for k, v in row.items()}
    return {}


def parse_unload_result(rows: Sequence[Any] | None) -> dict[str, Any]:
    """Totals and files of an unload result (``DETAILED_OUTPUT`` rows or the summary row).

    With ``DETAILED_OUTPUT = TRUE`` Snowflake returns one row per file (``FILE_NAME``,
    ``FILE_SIZE``, ``ROW_COUNT``); without it one row ``rows_unloaded, input_bytes,
    output_bytes``. ``files`` is ``None`` when the result names no files.
    """
    dicts = [_lower_keys(r) for r in rows or []]
    if any("file_name" in d for d in dicts):
        files = [
            {
                "name": str(d["file_name"]).rsplit("/", 1)[-1],
                "bytes": int(d.get("file_size") or 0),
                "rows": int(d.get("row_count") or 0),
            }
            for d in dicts
            if d.get("file_name")
        ]
        return {
            "rows_unloaded": sum(f["rows"] for f in files),
            "bytes": sum(f["bytes"] for f in files),
            "files": files,
        }
    summary = dicts[0] if dicts else {}
    rows_unloaded = int(summary.get("rows_unloaded") or 0)
    return {
        "rows_unloaded": rows_unloaded,
        "input_bytes": int(summary.get("input_bytes") or 0),
        "bytes": int(summary.get("output_bytes") or 0),
        "files": [] if rows_unloaded == 0 else None,
    }


@dataclass(frozen=True)
class Settled:
    """What settling the hour folder did: removed, refused (no rights), given way to."""

    removed: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    superseded_by: str | None = None


def check_file_sizes(files: list[dict[str, Any]], max_file_size: int) -> None:
    """Every unloaded file must stay below WorkMagic's 1.5 MB limit."""
    too_big = [f for f in files if f["bytes"] >= HARD_LIMIT_BYTES]
    if too_big:
        raise WorkMagicError(
            f"Snowflake wrote {len(too_big)} file(s) of 1.5 MB or more, which WorkMagic "
            f"skips: {', '.join(f['name'] for f in too_big)}; lower max_file_size "
            f"(now {max_file_size})"
        )


def settle_folder(
    session: SnowflakeSession,
    *,
    stage: str,
    prelude: Sequence[str],
    folder: HourFolder,
    destination: str,
    written: list[dict[str, Any]] | None,
    generation: str,
    log: logging.Logger | Any,
) -> Settled:
    """Settle the hour folder after the unload, through Snowflake's stage.

    Parts of older runs of the hour are removed; if a newer complete run is there, this
    run's own files are withdrawn instead (two runs never leave a mix). The new parts are in
    place either way, so a REMOVE refused for lack of rights is a WARNING, not a failed
    (and re-unloading) task.
    """
    from snowflake.connector.errors import ProgrammingError

    from workmagic_provider.standards import plan_folder_settle
    from workmagic_provider.warehouse.snowflake_sql import snowflake_list_sql, snowflake_remove_sql

    if written is None:
        log.warning(
            "the unload result names no files (DETAILED_OUTPUT off?); stale parts of %s "
            "were not removed",
            folder.prefix,
        )
        return Settled()
    for statement in prelude:
        session.run(statement)
    listed = session.run(snowflake_list_sql(stage, folder))
    names = sorted({str(_lower_keys(row).get("name", "")).rsplit("/", 1)[-1] for row in listed})
    mine = {f["name"] for f in written}
    settle = plan_folder_settle(sorted({*names, *mine}), folder.hour, "snowflake", generation)
    if settle.superseded_by:
        log.warning(
            "a newer run of %s (generation %s) finished meanwhile: its output is kept and "
            "this run's %d files are withdrawn",
            destination,
            settle.superseded_by,
            len(mine),
        )
    doomed = sorted(set(settle.delete))
    if not doomed:
        return Settled(superseded_by=settle.superseded_by)
    try:
        session.run(snowflake_remove_sql(stage, folder, doomed))
    except ProgrammingError as err:
        log.warning(
            "the new parts of %s are delivered, but %d stale part(s) an earlier run left "
            "could not be removed (%s): %s. Give WorkMagic's role s3:DeleteObject on the "
            "account folder (see the README's privileges table) or remove them by hand",
            destination,
            len(doomed),
            getattr(err, "msg", None) or err,
            ", ".join(doomed),
        )
        return Settled(refused=doomed, superseded_by=settle.superseded_by)
    for name in doomed:
        log.info("removed %s%s (an earlier run's part)", destination, name)
    return Settled(removed=[n for n in doomed if n not in mine], superseded_by=settle.superseded_by)
