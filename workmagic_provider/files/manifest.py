"""Import manifest: which records were already imported, per destination.

A re-import of a partially failed file with ``on_duplicate="drop"`` sends only the records
that failed before: the manifest remembers, for each destination (WorkMagic bucket, account and
category), the key digest of every record published (never the key itself: no PII) and the hour
folder it went to. A record of the manifest is dropped (``"drop"``) or rejected (``"error"``)
when met again in a *different* hour; in the same hour it is written again, because a re-run of
an hour replaces exactly what that hour wrote.

The manifest lives at a configurable ``ObjectStoragePath`` in the customer's storage, never in
WorkMagic's folder and never on worker disk (Celery and Kubernetes workers are ephemeral). It
is read before the import and written after the parts were published; runs that import into the
same destination at the same moment should not share one manifest (``max_active_runs=1`` on
such a DAG).
"""

from __future__ import annotations

import hashlib
import json
import logging
from array import array
from collections.abc import Iterable
from typing import Any, Literal

from workmagic_provider.exceptions import WorkMagicInputError, one_of

log = logging.getLogger(__name__)

OnDuplicate = Literal["allow", "drop", "error"]
ON_DUPLICATE: tuple[str, ...] = ("allow", "drop", "error")
VERSION = 1
#: joins the parts of a composite key before digesting (a character no key field holds)
KEY_SEPARATOR = "\x1f"


def key_digest(parts: Iterable[object]) -> int:
    """The 64-bit digest of a (composite) key: what the manifest stores instead of the key."""
    text = KEY_SEPARATOR.join(str(part) for part in parts)
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def digest_hex(digest: int) -> str:
    return f"{digest:016x}"


class ImportManifest:
    """The manifest file at ``path``, for one ``destination`` and one hour folder."""

    def __init__(
        self, path: Any, destination: str, hour: str, on_duplicate: OnDuplicate = "drop"
    ) -> None:
        one_of("on_duplicate", on_duplicate, ON_DUPLICATE)
        self.path = path
        self.destination = destination
        self.hour = hour
        self.on_duplicate = on_duplicate
        self.document: dict[str, Any] = {"version": VERSION, "destinations": {}}
        self.imported: dict[str, str] = {}
        self._rows = array("Q")
        self._digests = array("Q")
        self._rejected: set[int] = set()
        self.committed = 0

    def load(self) -> ImportManifest:
        try:
            if self.path.exists():
                with self.path.open("rb") as handle:
                    self.document = json.load(handle)
        except (ValueError, OSError) as err:
            raise WorkMagicInputError(
                f"import manifest {self.path} is not readable JSON ({err}); fix or remove it"
            ) from err
        if self.document.get("version") != VERSION:
            raise WorkMagicInputError(
                f"import manifest {self.path} has version {self.document.get('version')!r}, "
                f"expected {VERSION}"
            )
        self.imported = self.document.setdefault("destinations", {}).setdefault(
            self.destination, {}
        )
        log.info(
            "import manifest %s: %d records already imported into %s",
            self.path,
            len(self.imported),
            self.destination,
        )
        return self

    # -- during the import ------------------------------------------------------------------
    def gate(self, row: int, digest: int) -> str | None:
        """The reader's gate: drop/reject records imported into another hour; track the rest."""
        hour = self.imported.get(digest_hex(digest))
        if hour is not None and hour != self.hour:
            if self.on_duplicate == "drop":
                return "drop"
            if self.on_duplicate == "error":
                return f"already imported into hour {hour} (import manifest {self.path})"
        self._rows.append(row)
        self._digests.append(digest)
        return None

    def rejected(self, row: int) -> None:
        self._rejected.add(row)

    # -- after publishing -----------------------------------------------------------------
    def commit(self) -> int:
        """Record the published records (those not rejected) and write the manifest."""
        rejected = self._rejected
        count = 0
        for row, digest in zip(self._rows, self._digests, strict=True):
            if row not in rejected:
                self.imported[digest_hex(digest)] = self.hour
                count += 1
        if getattr(self.path, "protocol", "file") in ("file", "local", ""):
            self.path.parent.mkdir(parents=True, exist_ok=True)  # object stores have no folders
        with self.path.open("wb") as handle:
            handle.write(json.dumps(self.document, separators=(",", ":"), sort_keys=True).encode())
        self.committed = count
        log.info("import manifest %s: recorded %d records of hour %s", self.path, count, self.hour)
        return count
