"""Input plumbing the operators share: paths as ``ObjectStoragePath`` and the rejected-row sidecar.

Rejected rows never go to WorkMagic's folder (they hold PII, and WorkMagic would skip them or
read them as orders): they are written whole to the
user's own ``rejected_path``, opened only when the first row is rejected.
"""

from __future__ import annotations

import logging
from typing import IO, Any


class RejectedWriter:
    """Writes rejected rows whole to the user's ``rejected_path``; opens it only when needed."""

    def __init__(self, target: Any) -> None:
        self.target = target
        self.handle: IO[bytes] | None = None
        self.count = 0

    def __enter__(self) -> RejectedWriter:
        return self

    def write(self, row: int, raw: bytes | str) -> None:
        if self.target is None:
            return
        if self.handle is None:
            path = as_storage_path(self.target)
            if getattr(path, "protocol", "file") in ("file", "local", ""):
                path.parent.mkdir(parents=True, exist_ok=True)  # object stores have no folders
            self.handle = path.open("wb")
        data = raw.encode() if isinstance(raw, str) else raw
        self.handle.write(data.rstrip(b"\n") + b"\n")
        self.count += 1

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if self.handle is None:
            return
        if exc_type is None:
            self.handle.close()
            return
        try:  # the task is failing already: keep its error, not the sidecar's
            self.handle.close()
        except Exception as err:
            logging.getLogger(__name__).warning(
                "could not save %d rejected rows to %s: %s", self.count, self.target, err
            )


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def as_storage_path(value: Any) -> Any:
    """:func:`as_path`, with ``s3://`` / ``gs://`` objects read and written through the hooks."""
    from workmagic_provider.files.object_sources import as_store_object

    return as_store_object(as_path(value))


def as_bool(value: Any, what: str = "flag") -> bool:
    """A flag that may arrive as a rendered template (``"True"``, ``"false"``, ``""``)."""
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off", "", "none"):
        return False
    from workmagic_provider.exceptions import WorkMagicConfigError

    raise WorkMagicConfigError(f"{what} must be true or false, got {value!r}")


def as_path(value: Any) -> Any:
    """Local paths and URIs (``s3://``, ``gs://``, ``file://``) as ``ObjectStoragePath``."""
    if hasattr(value, "open"):
        return value
    from airflow.sdk import ObjectStoragePath

    return ObjectStoragePath(str(value))


def shared_state_path(value: Any, what: str, single_machine: bool) -> Any:
    """``value`` as a storage path, refused when it is on this worker's own disk.

    State that a later run must see (the import manifest, rejected rows) on a worker-local path
    is invisible to the next worker of a Celery or Kubernetes deployment, which would read the
    manifest as empty and import records a second time. ``single_machine=True`` says every task
    runs on this machine (or the path is a mount every worker shares).
    """
    path = as_storage_path(value)
    protocol = str(getattr(path, "protocol", "") or "file")
    if protocol in ("file", "local") and not single_machine:
        from workmagic_provider.exceptions import WorkMagicConfigError

        raise WorkMagicConfigError(
            f"{what} {str(value)!r} is on this worker's disk: another worker would not see it "
            "(and would read an import manifest as empty, importing records twice). Put it in "
            "shared storage (s3://..., gs://...), or pass single_machine=True if every task "
            "runs on this machine or the path is a mount all workers share"
        )
    return path
