"""Open an input (local path or Airflow ``ObjectStoragePath``) as a binary stream.

Gzip input is recognised by its magic bytes, not its name, so ``.json.gz`` parts produced by
WorkMagic's own samples or by a warehouse export read the same as plain files.
"""

from __future__ import annotations

import gzip
import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

from workmagic_provider.exceptions import WorkMagicInputError

_GZIP_MAGIC = b"\x1f\x8b"


class CountingReader(io.RawIOBase):
    """Adapt any object with ``read()`` (S3 body, GCS reader) to a raw stream; count bytes."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.count = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        chunk = self.inner.read(size)
        self.count += len(chunk)
        return chunk  # type: ignore[no-any-return]

    def readinto(self, buffer: Any) -> int:
        chunk = self.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def maybe_gunzip(stream: Any) -> IO[bytes]:
    """Return a reader of ``stream``'s content, gunzipped if it starts with gzip's magic bytes."""
    buffered = (
        stream
        if isinstance(stream, io.BufferedReader)
        else io.BufferedReader(CountingReader(stream))
    )
    if buffered.peek(2)[:2] == _GZIP_MAGIC:
        return gzip.GzipFile(fileobj=buffered, mode="rb")  # type: ignore[return-value]
    return buffered


@contextmanager
def open_binary(source: Any) -> Iterator[IO[bytes]]:
    """Open ``source`` for reading bytes, transparently gunzipping; clear error if missing."""
    try:
        if isinstance(source, (str, os.PathLike)) and not hasattr(source, "fs"):
            raw: IO[bytes] = open(source, "rb")  # noqa: SIM115 - closed below
        elif hasattr(source, "open"):
            raw = source.open("rb")
        else:
            raise WorkMagicInputError(f"cannot read input of type {type(source).__name__}")
    except FileNotFoundError as err:
        raise WorkMagicInputError(f"input {source} does not exist") from err
    except IsADirectoryError as err:
        raise WorkMagicInputError(f"input {source} is a directory") from err
    except PermissionError as err:
        raise WorkMagicInputError(f"input {source} is not readable") from err
    try:
        with maybe_gunzip(raw) as stream:
            yield stream
    finally:
        raw.close()
