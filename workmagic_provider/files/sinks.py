"""Where finished parts go: a local folder, or an object store (``stores.StorePartSink``).

A sink stores parts under one hour-folder prefix and can list and delete the names in it, which
is all that idempotent re-runs need: publish the new parts, then settle the folder so that it
holds exactly one run's parts (``generations``).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from workmagic_provider.standards import plan_folder_settle

if TYPE_CHECKING:
    from workmagic_provider.generations import SettlePlan
    from workmagic_provider.standards import HourFolder

log = logging.getLogger(__name__)


class PartSink(Protocol):
    """Stores parts of one hour folder."""

    def put(self, name: str, data: bytes) -> str:
        """Store ``data`` as ``name``; return the full location (path or URI)."""
        ...

    def names(self) -> list[str]:
        """Names of the objects currently in the hour folder."""
        ...

    def delete(self, name: str) -> None: ...


class LocalDirSink:
    """Parts as files under ``root/prefix`` (the CLI's ``convert --out DIR``)."""

    def __init__(self, root: str | os.PathLike[str], prefix: str) -> None:
        self.folder = Path(root) / prefix

    def put(self, name: str, data: bytes) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / name
        temporary = target.with_name(f".{name}.tmp")
        temporary.write_bytes(data)
        os.replace(temporary, target)  # readers never see a half-written part
        return str(target)

    def names(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted(p.name for p in self.folder.iterdir() if p.is_file())

    def delete(self, name: str) -> None:
        (self.folder / name).unlink(missing_ok=True)


def settle_parts(
    sink: PartSink, folder: HourFolder, flow: str, generation: str, mine: set[str]
) -> SettlePlan:
    """After publishing: remove older runs' parts; give way if a newer complete run is there.

    Returns the plan carried out; its ``delete`` includes this run's own parts when it gave way.
    """
    plan = plan_folder_settle(sink.names(), folder.hour, flow, generation)
    for name in plan.delete:
        sink.delete(name)
        if name not in mine:
            log.info("removed %s%s: a part of an earlier run of this hour", folder.prefix, name)
    if plan.superseded_by is not None:
        log.warning(
            "a newer run of %s (generation %s) finished while this one (%s) published: its "
            "complete output is kept and this run's %d parts were withdrawn",
            folder.prefix,
            plan.superseded_by,
            generation,
            len(mine),
        )
    for name in plan.left_in_progress:
        log.info("left %s%s to the newer run still writing it", folder.prefix, name)
    return plan
