"""What one sync of one hour did, and the settings it ran with (the summary goes to XCom)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Literal

from workmagic_provider.schemas import SchemaOptions
from workmagic_provider.standards import DEFAULT_MAX_PART_BYTES

Action = Literal["copy", "transform", "skip"]


@dataclass
class FileOutcome:
    """What happened to one source file (one log line, one entry of the summary)."""

    source: str
    action: Action
    targets: list[str] = field(default_factory=list)
    bytes: int = 0
    rows: int | None = None
    rejected: int = 0
    #: the bytes were copied inside the cloud, none passed through the worker
    server_side: bool = False


@dataclass
class SyncResult:
    """Totals of one sync of one hour; ``summary()`` goes to XCom (counts and names, no rows)."""

    source_uri: str
    destination_uri: str
    generation: str = ""
    files: list[FileOutcome] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    #: source files not delivered, with the reason (WorkMagic would skip them)
    foreign: dict[str, str] = field(default_factory=dict)
    #: stale objects left in place because a newer run of the same hour wrote them
    kept_newer: list[str] = field(default_factory=list)
    listed: int = 0

    def count(self, action: Action) -> int:
        return sum(1 for f in self.files if f.action == action)

    @property
    def empty(self) -> bool:
        """No file of the source hour is (or already was) delivered: nothing WorkMagic reads."""
        return not self.files

    def summary(self) -> dict[str, object]:
        moved = [f for f in self.files if f.action != "skip"]
        return {
            "source": self.source_uri,
            "destination": self.destination_uri,
            "files_seen": self.listed,
            "copied": self.count("copy"),
            "copied_server_side": sum(1 for f in moved if f.server_side),
            "split": self.count("transform"),
            "skipped": self.count("skip"),
            "deleted": len(self.deleted),
            "objects_written": sum(len(f.targets) for f in moved),
            "bytes_written": sum(f.bytes for f in moved),
            "bytes_through_worker": sum(f.bytes for f in moved if not f.server_side),
            "rows_written": sum(f.rows or 0 for f in moved),
            "rows_rejected": sum(f.rejected for f in self.files),
            "empty": self.empty,
            "not_delivered": len(self.foreign),
            "skipped_files": dict(self.foreign),
            "delivered": {
                f.source: f.targets[0] if len(f.targets) == 1 else list(f.targets)
                for f in self.files
            },
            "kept_newer": len(self.kept_newer),
            "generation": self.generation,
        }


@dataclass(frozen=True)
class SyncSettings:
    """How to treat files: one object so the recipe mark can fingerprint it."""

    sync_id: str
    max_part_bytes: int = DEFAULT_MAX_PART_BYTES
    split_oversized: bool = True
    schema: str | None = None
    options: SchemaOptions | None = None
    on_invalid: Literal["fail", "skip"] = "fail"
    compresslevel: int = 6
    recursive: bool = True
    on_foreign_file: Literal["skip", "fail"] = "skip"
    #: read the first bytes of every new or changed file (``False``: ``.gz`` names are trusted)
    check_content: bool = True

    @property
    def recipe(self) -> str:
        """Changes when the way files are transformed changes, so a re-run redoes them."""
        text = f"{self.max_part_bytes}|{self.schema}|{self.options}|{self.compresslevel}"
        return hashlib.sha256(text.encode()).hexdigest()[:16]
