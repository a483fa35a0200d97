"""The local folder where an upload assembles its parts, and the clean-up of killed runs' folders.

A run that is killed (OOM killer, ``SIGKILL`` from a task timeout, a lost worker) never gets to
remove its spool, which can hold megabytes of parts. So every spool folder holds a lock file
the run keeps locked (``flock``) while it lives; the kernel drops that lock when the process
dies, however it dies. Each new spool first removes the folders in the same temporary
directory whose lock nobody holds: the next upload on the machine cleans up after a killed one.
A folder without its lock file yet (being created this instant) is left alone unless it is
older than :data:`ORPHAN_AGE_SECONDS`.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)

PREFIX = "workmagic-parts-"
LOCK_NAME = ".workmagic-spool.lock"
#: A spool folder without a lock file older than this is an abandoned one.
ORPHAN_AGE_SECONDS = 3600.0


@contextmanager
def spool_folder(root: str | os.PathLike[str] | None = None) -> Iterator[str]:
    """A new, locked spool folder under ``root`` (default: the temporary directory).

    Removed on exit; abandoned ones of killed runs are removed on entry.
    """
    base = Path(root) if root is not None else Path(tempfile.gettempdir())
    remove_abandoned(base)
    path = tempfile.mkdtemp(prefix=PREFIX, dir=base)
    lock = open(os.path.join(path, LOCK_NAME), "wb")  # noqa: SIM115 - held while the spool lives
    try:
        _lock(lock.fileno(), blocking=True)
        yield path
    finally:
        lock.close()
        shutil.rmtree(path, ignore_errors=True)


def remove_abandoned(base: Path) -> list[str]:
    """Remove spool folders under ``base`` that no living process holds; return their names."""
    removed: list[str] = []
    try:
        entries = list(os.scandir(base))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(PREFIX) or not entry.is_dir(follow_symlinks=False):
            continue
        if _abandoned(Path(entry.path)):
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(entry.name)
            log.info("removed the spool folder %s of an upload that was killed", entry.path)
    return removed


def _abandoned(folder: Path) -> bool:
    try:
        fd = os.open(folder / LOCK_NAME, os.O_RDONLY)
    except FileNotFoundError:
        try:
            return time.time() - folder.stat().st_mtime > ORPHAN_AGE_SECONDS
        except OSError:
            return False
    except OSError:
        return False  # not ours to read (another user's): leave it
    try:
        return _lock(fd, blocking=False)
    finally:
        os.close(fd)


def _lock(fd: int, *, blocking: bool) -> bool:
    """Take an exclusive lock on ``fd``; ``False`` if another process holds it."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no clean-up, nothing to lock
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
    except BlockingIOError:
        return False
    return True
