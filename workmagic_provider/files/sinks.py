"""Where finished parts go: a local folder, or an object store (``stores.StorePartSink``).

A sink stores parts under one hour-folder prefix and can list and delete the names in it, which
is all that idempotent re-runs need: publish the new parts, then remove the stale parts of the
same flow that a previous run of the same hour left behind.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Protocol


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


def remove_stale_parts(sink: PartSink, owned: re.Pattern[str], keep: set[str]) -> list[str]:
    """Delete names matching ``owned`` that are not in ``keep``; return what was removed."""
    stale = [name for name in sink.names() if owned.match(name) and name not in keep]
    for name in stale:
        sink.delete(name)
    return stale
