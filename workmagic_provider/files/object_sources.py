"""Files on S3 and GCS through the provider hooks: glob listing, streaming reads, writes.

An ``ObjectStoragePath`` (or URI text) on ``s3://`` or ``gs://`` names the input; its connection
(``ObjectStoragePath(..., conn_id=...)`` or ``s3://conn_id@bucket/...``) is the one used, else
the provider's default (``aws_default``, ``google_cloud_default``). Listing and reading go
through ``S3Hook`` / ``GCSHook``, the clients the sync and the destinations already use, so S3
inputs need no ``s3fs`` (Airflow's ``ObjectStoragePath`` needs it for ``s3://``, and the amazon
provider does not install it) and an endpoint in the connection (a proxy, MinIO, the sandbox)
is honoured. Other protocols stay ``ObjectStoragePath``s.

Glob patterns match per path segment (``*``, ``?``, ``[...]`` never cross a ``/``); ``**``
matches any number of segments.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import IO, TYPE_CHECKING, Any

from workmagic_provider.exceptions import MissingExtraError, WorkMagicConfigError

if TYPE_CHECKING:
    from workmagic_provider.stores import ObjectStore

OBJECT_PROTOCOLS = {"s3": "s3", "s3a": "s3", "gs": "gs", "gcs": "gs"}
GLOB_CHARS = frozenset("*?[")


class StoreObject:
    """One object of an S3/GCS bucket: ``open("rb")`` streams it, ``open("wb")`` replaces it.

    Enough of a path for what the operators do with inputs, the import manifest and the
    rejected-rows sidecar (``exists``, ``open``, ``protocol``).
    """

    def __init__(
        self,
        cloud: str,
        conn_id: str | None,
        bucket: str,
        key: str,
        store: ObjectStore | None = None,
    ) -> None:
        self.cloud = cloud
        self.protocol = cloud
        self.conn_id = conn_id
        self.bucket = bucket
        self.key = key
        self._store = store  # objects of one glob share the client that listed them

    def __str__(self) -> str:
        return f"{self.cloud}://{self.bucket}/{self.key}"

    def __repr__(self) -> str:
        return f"StoreObject({str(self)!r}, conn_id={self.conn_id!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StoreObject) and (
            self.cloud,
            self.conn_id,
            self.bucket,
            self.key,
        ) == (other.cloud, other.conn_id, other.bucket, other.key)

    def __hash__(self) -> int:
        return hash((self.cloud, self.conn_id, self.bucket, self.key))

    def store(self) -> ObjectStore:
        if self._store is None:
            self._store = _store(self.cloud, self.conn_id, self.bucket)
        return self._store

    def exists(self) -> bool:
        try:
            return self.store().metadata(self.key) is not None
        except Exception as err:
            code = str(getattr(err, "response", {}).get("Error", {}).get("Code", ""))
            if code in ("403", "AccessDenied") or type(err).__name__ == "Forbidden":
                raise WorkMagicConfigError(
                    f"{self}: access denied when checking whether it exists (connection "
                    f"{self.conn_id or 'default'}); S3 answers 403 for a missing object unless "
                    "the identity may list the bucket (s3:ListBucket), so grant that and "
                    "s3:GetObject/s3:PutObject on the path (storage.objects.get/create on GCS)"
                ) from err
            raise

    def open(self, mode: str = "rb") -> IO[bytes]:
        if mode == "wb":
            return UploadOnClose(self.store(), self.key)  # type: ignore[return-value]
        if mode != "rb":
            raise ValueError(f"{self}: only modes 'rb' and 'wb', got {mode!r}")
        store = self.store()
        if self.cloud == "s3":
            from botocore.exceptions import ClientError

            try:
                return store.open_read(self.key)
            except ClientError as err:
                code = err.response.get("Error", {}).get("Code")
                if code in ("404", "NoSuchKey", "NotFound", "NoSuchBucket"):
                    raise FileNotFoundError(str(self)) from err
                if code in ("403", "AccessDenied"):
                    raise PermissionError(str(self)) from err
                raise
        from google.api_core.exceptions import NotFound

        try:
            if store.metadata(self.key) is None:
                raise FileNotFoundError(str(self))
        except NotFound as err:  # the bucket itself
            raise FileNotFoundError(str(self)) from err
        return store.open_read(self.key)


class UploadOnClose:
    """A write handle that spools locally and uploads the whole object on ``close()``.

    An object appears complete or not at all; leaving a ``with`` block by an exception
    uploads nothing (the previous object stays).
    """

    def __init__(self, store: ObjectStore, key: str, spool_bytes: int = 8 * 1024**2) -> None:
        import tempfile

        self.store = store
        self.key = key
        self._spool = tempfile.SpooledTemporaryFile(max_size=spool_bytes)  # noqa: SIM115 - closed by close()/discard()
        self.closed = False

    def write(self, data: bytes) -> int:
        return self._spool.write(data)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self._spool.seek(0)
            self.store.write_stream(self.key, self._spool, {})  # type: ignore[arg-type]
        finally:
            self._spool.close()

    def discard(self) -> None:
        self.closed = True
        self._spool.close()

    def __enter__(self) -> UploadOnClose:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.discard()


def object_location(path: Any) -> tuple[str, str | None, str, str] | None:
    """``(cloud, conn_id, bucket, key)`` of an ``ObjectStoragePath`` on S3/GCS, else None."""
    cloud = OBJECT_PROTOCOLS.get(str(getattr(path, "protocol", "") or ""))
    if cloud is None:
        return None
    bucket = str(getattr(path, "bucket", "") or "")
    if not bucket:
        raise WorkMagicConfigError(f"{path} names no bucket")
    return cloud, getattr(path, "conn_id", None) or None, bucket, str(path.key)


def as_store_object(path: Any) -> Any:
    """``path`` as a :class:`StoreObject` if it is on S3/GCS; unchanged otherwise."""
    found = object_location(path)
    return path if found is None else StoreObject(*found)


def expand_object_glob(path: Any) -> list[StoreObject] | None:
    """The objects matching ``path`` (a pattern on S3/GCS), by key; None if not on S3/GCS."""
    found = object_location(path)
    if found is None:
        return None
    cloud, conn_id, bucket, pattern = found
    segments = pattern.split("/")
    fixed = []
    for segment in segments:
        if any(ch in GLOB_CHARS for ch in segment):
            break
        fixed.append(segment)
    prefix = "/".join(fixed) + "/" if fixed else ""
    store = _store(cloud, conn_id, bucket)
    keys = [o.key for o in store.list(prefix, recursive=True)]
    matched = [k for k in keys if _match(k.split("/"), segments)]
    return [StoreObject(cloud, conn_id, bucket, key, store) for key in sorted(matched)]


def _match(parts: list[str], pattern: list[str]) -> bool:
    if not pattern:
        return not parts
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        return any(_match(parts[n:], rest) for n in range(len(parts) + 1))
    return bool(parts) and fnmatchcase(parts[0], head) and _match(parts[1:], rest)


def _store(cloud: str, conn_id: str | None, bucket: str) -> ObjectStore:
    """The bucket as the same store the sync and the destinations use (stores.py)."""
    if cloud == "s3":
        try:
            from airflow.providers.amazon.aws.hooks.s3 import S3Hook
        except ImportError as err:
            raise MissingExtraError("apache-airflow-providers-amazon", "amazon") from err
        from workmagic_provider.stores import S3Store

        return S3Store(S3Hook(aws_conn_id=conn_id or "aws_default"), bucket)
    try:
        from airflow.providers.google.cloud.hooks.gcs import GCSHook
    except ImportError as err:
        raise MissingExtraError("apache-airflow-providers-google", "google") from err
    from workmagic_provider.stores import GCSStore

    return GCSStore(GCSHook(gcp_conn_id=conn_id or "google_cloud_default"), bucket)
