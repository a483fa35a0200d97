"""Object stores (S3, GCS) behind one small interface, so the sync and the part sinks are
written once for both clouds.

Credentials always come from the official provider hooks (``S3Hook``, ``GCSHook``); this module
only uses the clients those hooks hand out, for what the hooks have no method for: streaming
writes with metadata and listings with sizes, ETags and metadata.
"""

from __future__ import annotations

import builtins
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO, Any, Protocol

#: Error codes that mean "the destination identity may not read the source" (or cannot see it):
#: a server-side copy is not possible, so the bytes have to pass through the worker.
_S3_COPY_REFUSED = frozenset(
    {"AccessDenied", "AllAccessDisabled", "NoSuchBucket", "403", "Forbidden", "InvalidBucketName"}
)


class ServerSideCopyRefused(Exception):
    """The destination could not copy from the source server-side (no read grant, no such bucket
    on the destination's endpoint, another cloud): stream the object instead."""


@dataclass(frozen=True)
class ObjectInfo:
    """One object as listed: key, size, ETag/md5 and (when the listing carries it) metadata."""

    key: str
    size: int
    etag: str
    metadata: Mapping[str, str] | None = field(default=None, compare=False)

    @property
    def fingerprint(self) -> str:
        """Identity of this object's content as seen from its own bucket: size + ETag."""
        return f"{self.size}:{self.etag}"


class ObjectStore(Protocol):
    """The operations the sync and the part sinks need from a bucket."""

    scheme: str
    bucket: str

    def list(self, prefix: str, *, recursive: bool = False) -> builtins.list[ObjectInfo]:
        """Objects directly under ``prefix`` (all below it if ``recursive``), sorted by key."""
        ...

    def metadata(self, key: str) -> Mapping[str, str] | None:
        """User metadata of ``key``; ``None`` if the object does not exist."""
        ...

    def open_read(self, key: str) -> IO[bytes]:
        """A streaming reader of ``key``'s bytes."""
        ...

    def write_stream(self, key: str, stream: IO[bytes], metadata: Mapping[str, str]) -> None:
        """Upload from a stream (multipart / resumable for large objects)."""
        ...

    def write_bytes(self, key: str, data: bytes, metadata: Mapping[str, str]) -> None: ...

    def delete(self, keys: builtins.list[str]) -> None: ...

    def uri(self, key: str) -> str: ...

    def read_head(self, key: str, size: int) -> bytes:
        """The first ``size`` bytes of ``key`` (fewer if it is shorter): one ranged read."""
        ...

    def copy_from(
        self, source: ObjectStore, info: ObjectInfo, key: str, metadata: Mapping[str, str]
    ) -> None:
        """Copy ``info`` of ``source`` to ``key`` inside the cloud, with ``metadata``; raise
        :class:`ServerSideCopyRefused` when this store's identity cannot read the source."""
        ...


def _listed(prefix: str, key: str, recursive: bool) -> bool:
    """An object (not a folder marker) directly in ``prefix``, or anywhere below if recursive."""
    rest = key[len(prefix) :]
    return bool(rest) and not rest.endswith("/") and (recursive or "/" not in rest)


class S3Store:
    """An S3 bucket through an amazon-provider ``S3Hook`` (any credentials it was built with)."""

    scheme = "s3"

    def __init__(self, hook: Any, bucket: str, *, multipart_chunk_bytes: int = 8 * 1024**2) -> None:
        self.hook = hook
        self.bucket = bucket
        self._client = hook.get_conn()
        from boto3.s3.transfer import TransferConfig

        self._transfer = TransferConfig(
            multipart_threshold=multipart_chunk_bytes,
            multipart_chunksize=multipart_chunk_bytes,
            max_concurrency=4,
            use_threads=True,
        )

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def list(self, prefix: str, *, recursive: bool = False) -> builtins.list[ObjectInfo]:
        paginator = self._client.get_paginator("list_objects_v2")
        found = []
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                if _listed(prefix, item["Key"], recursive):
                    found.append(
                        ObjectInfo(item["Key"], int(item["Size"]), item["ETag"].strip('"'))
                    )
        return sorted(found, key=lambda o: o.key)

    def metadata(self, key: str) -> Mapping[str, str] | None:
        from botocore.exceptions import ClientError

        try:
            head = self._client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return dict(head.get("Metadata") or {})

    def open_read(self, key: str) -> IO[bytes]:
        return self._client.get_object(Bucket=self.bucket, Key=key)["Body"]  # type: ignore[no-any-return]

    def read_head(self, key: str, size: int) -> bytes:
        """The first ``size`` bytes of ``key`` (a ranged GET: the rest is never sent)."""
        body = self._client.get_object(Bucket=self.bucket, Key=key, Range=f"bytes=0-{size - 1}")
        return body["Body"].read()  # type: ignore[no-any-return]

    def write_stream(self, key: str, stream: IO[bytes], metadata: Mapping[str, str]) -> None:
        self._client.upload_fileobj(
            stream,
            self.bucket,
            key,
            ExtraArgs={"Metadata": dict(metadata)},
            Config=self._transfer,
        )

    def write_bytes(self, key: str, data: bytes, metadata: Mapping[str, str]) -> None:
        self._client.put_object(Bucket=self.bucket, Key=key, Body=data, Metadata=dict(metadata))

    def copy_from(
        self, source: ObjectStore, info: ObjectInfo, key: str, metadata: Mapping[str, str]
    ) -> None:
        """``CopyObject`` (multipart ``UploadPartCopy`` from the transfer threshold on), signed
        by this store's identity; the source must still have the listed ETag."""
        from botocore.exceptions import ClientError

        if not isinstance(source, S3Store):
            raise ServerSideCopyRefused(f"{source.uri(info.key)} is not on S3")
        copy_source = {"Bucket": source.bucket, "Key": info.key}
        extra = {
            "Metadata": dict(metadata),
            "MetadataDirective": "REPLACE",
            "CopySourceIfMatch": f'"{info.etag}"',
        }
        try:
            if info.size < self._transfer.multipart_threshold:
                self._client.copy_object(
                    CopySource=copy_source, Bucket=self.bucket, Key=key, **extra
                )
            else:  # the source's own client reads the size; parts are copied by this identity
                self._client.copy(
                    copy_source, self.bucket, key, ExtraArgs=extra,
                    SourceClient=source._client, Config=self._transfer,
                )  # fmt: skip
        except ClientError as err:
            code = str(err.response.get("Error", {}).get("Code", ""))
            if code in _S3_COPY_REFUSED:
                raise ServerSideCopyRefused(f"{code} copying {source.uri(info.key)}") from err
            raise

    def delete(self, keys: builtins.list[str]) -> None:
        for start in range(0, len(keys), 1000):  # DeleteObjects takes at most 1000 keys
            batch = [{"Key": k} for k in keys[start : start + 1000]]
            if batch:
                self._client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch})


class GCSStore:
    """A GCS bucket through a google-provider ``GCSHook``."""

    scheme = "gs"

    def __init__(self, hook: Any, bucket: str, *, chunk_bytes: int = 8 * 1024**2) -> None:
        self.hook = hook
        self.bucket = bucket
        self._bucket = hook.get_conn().bucket(bucket)
        self._chunk = chunk_bytes

    def uri(self, key: str) -> str:
        return f"gs://{self.bucket}/{key}"

    def list(self, prefix: str, *, recursive: bool = False) -> builtins.list[ObjectInfo]:
        found = [
            ObjectInfo(
                blob.name,
                int(blob.size or 0),
                blob.md5_hash or blob.etag or "",
                dict(blob.metadata or {}),
            )
            for blob in self._bucket.list_blobs(prefix=prefix)
            if _listed(prefix, blob.name, recursive)
        ]
        return sorted(found, key=lambda o: o.key)

    def metadata(self, key: str) -> Mapping[str, str] | None:
        blob = self._bucket.get_blob(key)
        return None if blob is None else dict(blob.metadata or {})

    def open_read(self, key: str) -> IO[bytes]:
        return self._bucket.blob(key).open("rb", chunk_size=self._chunk)  # type: ignore[no-any-return]

    def read_head(self, key: str, size: int) -> bytes:
        """The first ``size`` stored bytes of ``key`` (ranged, never transcoded by GCS)."""
        blob = self._bucket.blob(key)
        return blob.download_as_bytes(start=0, end=size - 1, raw_download=True)  # type: ignore[no-any-return]

    def write_stream(self, key: str, stream: IO[bytes], metadata: Mapping[str, str]) -> None:
        """Resumable upload in chunks; the object appears only when the last chunk is in."""
        blob = self._bucket.blob(key, chunk_size=self._chunk)
        blob.metadata = dict(metadata)
        with blob.open("wb", ignore_flush=True, content_type="application/octet-stream") as out:
            shutil.copyfileobj(stream, out, self._chunk)

    def write_bytes(self, key: str, data: bytes, metadata: Mapping[str, str]) -> None:
        blob = self._bucket.blob(key)
        blob.metadata = dict(metadata)
        blob.upload_from_string(data, content_type="application/octet-stream")

    def copy_from(
        self, source: ObjectStore, info: ObjectInfo, key: str, metadata: Mapping[str, str]
    ) -> None:
        """``objects.rewrite`` (repeated until done for large objects) by this store's identity."""
        from google.api_core.exceptions import Forbidden

        if not isinstance(source, GCSStore):
            raise ServerSideCopyRefused(f"{source.uri(info.key)} is not on GCS")
        target = self._bucket.blob(key)
        target.metadata = dict(metadata)
        origin = self._bucket.client.bucket(source.bucket).blob(info.key)
        try:
            token, _, _ = target.rewrite(origin)
            while token is not None:
                token, _, _ = target.rewrite(origin, token=token)
        except Forbidden as err:
            raise ServerSideCopyRefused(f"403 copying {source.uri(info.key)}") from err
        current = target.metadata or {}
        if any(current.get(name) != value for name, value in metadata.items()):
            # GCS takes the destination's metadata from the rewrite request; an emulator that
            # keeps the source's gets it set afterwards
            target.metadata = dict(metadata)
            target.patch()

    def delete(self, keys: builtins.list[str]) -> None:
        for key in keys:
            self._bucket.blob(key).delete()


class StorePartSink:
    """The part sink of the upload pipeline over any :class:`ObjectStore` hour folder."""

    def __init__(self, store: ObjectStore, prefix: str, metadata: Mapping[str, str] | None = None):
        self.store = store
        self.prefix = prefix
        self.metadata = dict(metadata or {})

    def put(self, name: str, data: bytes) -> str:
        self.store.write_bytes(self.prefix + name, data, self.metadata)
        return self.store.uri(self.prefix + name)

    def names(self) -> builtins.list[str]:
        return [info.key[len(self.prefix) :] for info in self.store.list(self.prefix)]

    def delete(self, name: str) -> None:
        self.store.delete([self.prefix + name])
