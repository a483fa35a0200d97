"""Loopback S3 + STS (moto, in-process) that enforces what WorkMagic's AWS side enforces.

moto accepts any ExternalId and lets any key write anywhere. A thin WSGI middleware
(:class:`WorkMagicGate`) in front of moto's own dispatcher adds WorkMagic's rules:

* STS ``AssumeRole`` of a role the sandbox issued succeeds only with the ExternalId issued with
  it; any other role in WorkMagic's AWS account is denied. Roles of other accounts (the
  customer's own) pass through to moto untouched.
* On the inbound bucket, a request is allowed only when it is signed with a key that an allowed
  AssumeRole returned, and only under that role's ``account-{id}/`` prefix (objects, listings
  with that prefix, multipart, copies, batch deletes). The sandbox's own admin key may do
  anything (bucket creation, inspection). Other buckets are untouched.
* Every allowed write is recorded as :class:`S3Write` (method, key, access key id) so tests can
  prove which credentials wrote an object; AssumeRole calls and denials are recorded too.
* A role's keys may read another bucket (directly or as a copy source) only after
  :meth:`WorkMagicGate.grant_read` (a customer granting WorkMagic's role read on its bucket);
  WorkMagic's documented setup grants none, so by default a server-side copy is AccessDenied.

Only the sandbox's test values pass through here; none of this is a security boundary.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import threading
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote

log = logging.getLogger(__name__)

#: WorkMagic's AWS account id, as the examples in WorkMagic's upload guide show it.
WORKMAGIC_AWS_ACCOUNT = "588759585297"
#: Key the sandbox itself signs with (bucket creation, inspection); never issued to a role.
ADMIN_ACCESS_KEY_ID = "AKIASANDBOXADMIN0000"
ADMIN_SECRET_ACCESS_KEY = "sandbox-admin-secret-not-a-real-key"

_CREDENTIAL_RE = re.compile(r"Credential=([^/,\s]+)/[^/]+/([^/]+)/([^/]+)/aws4_request")
_SIGV2_RE = re.compile(r"^AWS ([^:\s]+):")
_ROLE_ARN_RE = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/")
_ACCESS_KEY_XML_RE = re.compile(rb"<AccessKeyId>([^<]+)</AccessKeyId>")

#: Query parameters of bucket listings (objects, versions, multipart uploads).
_LIST_QUERY_KEYS = frozenset(
    {
        "list-type", "prefix", "delimiter", "max-keys", "continuation-token", "start-after",
        "marker", "encoding-type", "fetch-owner", "uploads", "versions", "key-marker",
        "upload-id-marker", "version-id-marker", "max-uploads", "x-id",
    }
)  # fmt: skip

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


@dataclass(frozen=True)
class IssuedRole:
    """A role WorkMagic issued to one account, with the External ID it requires."""

    account_id: str
    role_arn: str
    external_id: str

    @property
    def prefix(self) -> str:
        return f"account-{self.account_id}/"


@dataclass(frozen=True)
class AssumeRoleRecord:
    """One AssumeRole call the gate saw for a WorkMagic role (allowed or not)."""

    role_arn: str
    allowed: bool
    external_id_matched: bool
    session_name: str | None
    caller_access_key_id: str | None
    #: Access key id moto issued (allowed calls only).
    access_key_id: str | None


@dataclass(frozen=True)
class S3Write:
    """One allowed write into the inbound bucket, answered 2xx by moto."""

    method: str
    key: str
    access_key_id: str | None
    action: str
    account_id: str | None


@dataclass(frozen=True)
class Denial:
    """A request the gate refused (for assertions and debugging)."""

    service: str
    action: str
    target: str
    access_key_id: str | None
    reason: str


def _request_credential(environ: dict[str, Any]) -> tuple[str | None, str | None]:
    """(access key id, service) from a SigV4 header/presigned URL or a SigV2 header/URL."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    match = _CREDENTIAL_RE.search(auth)
    if match:
        return match.group(1), match.group(3)
    match = _SIGV2_RE.match(auth)
    if match:
        return match.group(1), None
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    if "X-Amz-Credential" in query:
        parts = query["X-Amz-Credential"][0].split("/")
        return parts[0], parts[3] if len(parts) > 3 else None
    if "AWSAccessKeyId" in query:
        return query["AWSAccessKeyId"][0], None
    return None, None


def _read_body(environ: dict[str, Any]) -> bytes:
    """Read the request body and put it back for the wrapped app."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def _wsgi_path(environ: dict[str, Any]) -> str:
    """PATH_INFO as text (WSGI hands it over as latin-1-decoded bytes)."""
    path = environ.get("PATH_INFO", "") or "/"
    try:
        return path.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return path


def _xml_response(
    start_response: StartResponse, status: str, body: bytes, *, head: bool = False
) -> list[bytes]:
    headers = [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))]
    start_response(status, headers)
    return [] if head else [body]


def _sts_access_denied(start_response: StartResponse, message: str) -> list[bytes]:
    root = ET.Element("ErrorResponse", xmlns="https://sts.amazonaws.com/doc/2011-06-15/")
    error = ET.SubElement(root, "Error")
    ET.SubElement(error, "Type").text = "Sender"
    ET.SubElement(error, "Code").text = "AccessDenied"
    ET.SubElement(error, "Message").text = message
    ET.SubElement(root, "RequestId").text = str(uuid.uuid4())
    body = b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root)
    return _xml_response(start_response, "403 Forbidden", body)


def _s3_access_denied(start_response: StartResponse, resource: str, head: bool) -> list[bytes]:
    root = ET.Element("Error")
    ET.SubElement(root, "Code").text = "AccessDenied"
    ET.SubElement(root, "Message").text = "Access Denied"
    ET.SubElement(root, "Resource").text = resource
    ET.SubElement(root, "RequestId").text = uuid.uuid4().hex[:16].upper()
    body = b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root)
    return _xml_response(start_response, "403 Forbidden", body, head=head)


class _Captured:
    """start_response stand-in that keeps status and headers for later."""

    def __init__(self) -> None:
        self.status = "500 Internal Server Error"
        self.headers: list[tuple[str, str]] = []

    def __call__(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        self.status, self.headers = status, list(headers)
        return lambda _data: None  # legacy write() callable; moto never uses it

    @property
    def code(self) -> int:
        return int(self.status.split(" ", 1)[0])


def _call_buffered(
    app: WsgiApp, environ: dict[str, Any], start_response: StartResponse
) -> tuple[_Captured, bytes, list[bytes]]:
    """Run the wrapped app and return its status and whole body (for small responses)."""
    captured = _Captured()
    result = app(environ, captured)
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    start_response(captured.status, captured.headers)
    return captured, body, [body]


class WorkMagicGate:
    """WSGI middleware enforcing WorkMagic's role/External-ID and folder rules in front of moto."""

    def __init__(
        self,
        app: WsgiApp,
        *,
        bucket: str,
        workmagic_aws_account: str = WORKMAGIC_AWS_ACCOUNT,
        admin_access_key_id: str = ADMIN_ACCESS_KEY_ID,
    ) -> None:
        self.app = app
        self.bucket = bucket
        self.workmagic_aws_account = workmagic_aws_account
        self.admin_access_key_id = admin_access_key_id
        self._lock = threading.Lock()
        self._roles: dict[str, IssuedRole] = {}
        self._keys: dict[str, IssuedRole] = {}
        self._writes: list[S3Write] = []
        self._assumes: list[AssumeRoleRecord] = []
        self._denials: list[Denial] = []
        self._readable: set[str] = set()
        #: called after every recorded write (fault-injection tests stop the server from here)
        self.write_listeners: list[Callable[[S3Write], None]] = []
        #: set while the server is stopped: requests still in flight on kept-alive connections
        #: get a 503 instead of quietly reaching moto
        self.offline = False

    # ------------------------------------------------------------------ state
    def issue_role(self, role: IssuedRole) -> None:
        with self._lock:
            self._roles[role.role_arn] = role

    def grant_read(self, bucket: str) -> None:
        """Let WorkMagic's roles read ``bucket`` (list, get, copy from)."""
        with self._lock:
            self._readable.add(bucket)

    def revoke_reads(self) -> None:
        with self._lock:
            self._readable.clear()

    def _may_read(self, bucket: str) -> bool:
        with self._lock:
            return bucket in self._readable

    def clear_records(self) -> None:
        """Forget recorded writes, AssumeRole calls and denials (keys stay valid)."""
        with self._lock:
            self._writes.clear()
            self._assumes.clear()
            self._denials.clear()

    @property
    def writes(self) -> list[S3Write]:
        with self._lock:
            return list(self._writes)

    @property
    def assumed_roles(self) -> list[AssumeRoleRecord]:
        with self._lock:
            return list(self._assumes)

    @property
    def denials(self) -> list[Denial]:
        with self._lock:
            return list(self._denials)

    def account_of_key(self, access_key_id: str) -> str | None:
        """The account whose role an access key was issued for (None: not a role key)."""
        with self._lock:
            role = self._keys.get(access_key_id)
        return role.account_id if role else None

    def _deny(self, denial: Denial) -> None:
        with self._lock:
            self._denials.append(denial)
        log.info(
            "sandbox denied %s %s on %s: %s",
            denial.service,
            denial.action,
            denial.target,
            denial.reason,
        )

    # ------------------------------------------------------------------ dispatch
    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if self.offline:
            start_response("503 Service Unavailable", [("Connection", "close")])
            return [b"the WorkMagic sandbox is stopped"]
        path = _wsgi_path(environ)
        if path.startswith("/moto-api"):
            return self.app(environ, start_response)
        access_key_id, service = _request_credential(environ)
        content_type = environ.get("CONTENT_TYPE", "") or ""
        if service == "sts" or (
            environ.get("REQUEST_METHOD") == "POST"
            and content_type.startswith("application/x-www-form-urlencoded")
        ):
            body = _read_body(environ)
            params = parse_qs(environ.get("QUERY_STRING", ""))
            params.update(parse_qs(body.decode("utf-8", "replace")))
            if params.get("Action", [""])[0] == "AssumeRole":
                return self._assume_role(environ, start_response, params, access_key_id)
        bucket, key = self._bucket_and_key(environ, path)
        if bucket == self.bucket and service in (None, "s3"):
            return self._s3(environ, start_response, key, access_key_id)
        if bucket and service in (None, "s3") and self.account_of_key(access_key_id or ""):
            method = environ.get("REQUEST_METHOD", "GET")
            if method not in ("GET", "HEAD") or not self._may_read(bucket):
                resource = f"arn:aws:s3:::{bucket}/{key}" if key else f"arn:aws:s3:::{bucket}"
                self._deny(Denial("s3", method, resource, access_key_id, "no grant on the bucket"))
                return _s3_access_denied(start_response, resource, method == "HEAD")
        return self.app(environ, start_response)

    def _bucket_and_key(self, environ: dict[str, Any], path: str) -> tuple[str | None, str]:
        host = (environ.get("HTTP_HOST") or "").rsplit(":", 1)[0].lower()
        if host.endswith(".localhost") or (
            host.count(".") >= 1
            and not re.fullmatch(r"[\d.]+", host)
            and host.split(".", 1)[0] == self.bucket
        ):
            return host.split(".", 1)[0], path.lstrip("/")
        parts = path.lstrip("/").split("/", 1)
        return (parts[0] or None), (parts[1] if len(parts) > 1 else "")

    # ------------------------------------------------------------------ STS
    def _assume_role(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        params: dict[str, list[str]],
        caller: str | None,
    ) -> Iterable[bytes]:
        role_arn = params.get("RoleArn", [""])[0]
        external_id = params.get("ExternalId", [None])[0]
        session_name = params.get("RoleSessionName", [None])[0]
        match = _ROLE_ARN_RE.match(role_arn)
        role_account = match.group(1) if match else None
        with self._lock:
            issued = self._roles.get(role_arn)
        if issued is None and role_account != self.workmagic_aws_account:
            return self.app(environ, start_response)  # a customer-side role: moto as is
        denied_message = (
            f"User is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
        )
        if issued is None or external_id != issued.external_id:
            reason = "unknown role" if issued is None else "ExternalId does not match"
            with self._lock:
                self._assumes.append(
                    AssumeRoleRecord(role_arn, False, False, session_name, caller, None)
                )
            self._deny(Denial("sts", "AssumeRole", role_arn, caller, reason))
            return _sts_access_denied(start_response, denied_message)
        captured, body, out = _call_buffered(self.app, environ, start_response)
        new_key = None
        if captured.code == 200:
            found = _ACCESS_KEY_XML_RE.search(body)
            if found:
                new_key = found.group(1).decode()
        with self._lock:
            if new_key:
                self._keys[new_key] = issued
            self._assumes.append(
                AssumeRoleRecord(role_arn, new_key is not None, True, session_name, caller, new_key)
            )
        return out

    # ------------------------------------------------------------------ S3
    def _s3(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        key: str,
        access_key_id: str | None,
    ) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        head = method == "HEAD"
        if access_key_id is not None and access_key_id == self.admin_access_key_id:
            return self.app(environ, start_response)
        with self._lock:
            role = self._keys.get(access_key_id) if access_key_id else None
        resource = f"arn:aws:s3:::{self.bucket}/{key}" if key else f"arn:aws:s3:::{self.bucket}"
        action, allowed_keys, reason = self._classify(environ, method, key, query, role)
        if reason is not None:
            self._deny(Denial("s3", action, resource, access_key_id, reason))
            return _s3_access_denied(start_response, resource, head)
        if not allowed_keys:  # reads: nothing to record
            return self.app(environ, start_response)
        captured, _body, out = _call_buffered(self.app, environ, start_response)
        if 200 <= captured.code < 300:
            assert role is not None
            records = [
                S3Write(method, k, access_key_id, action, role.account_id) for k in allowed_keys
            ]
            with self._lock:
                self._writes.extend(records)
            for listener in list(self.write_listeners):
                for record in records:
                    listener(record)
        return out

    def _classify(
        self,
        environ: dict[str, Any],
        method: str,
        key: str,
        query: dict[str, list[str]],
        role: IssuedRole | None,
    ) -> tuple[str, list[str], str | None]:
        """(action, keys written, denial reason or None) of one inbound-bucket request."""
        if role is None:
            action = _object_action(method, query, environ) if key else f"{method} bucket"
            return action, [], "not signed with credentials of an assumed WorkMagic role"
        prefix = role.prefix
        if key:
            action = _object_action(method, query, environ)
            if not key.startswith(prefix):
                return action, [], f"key outside {prefix}"
            if "acl" in query and method == "PUT":
                return action, [], "object ACLs are not granted"
            copy_source = environ.get("HTTP_X_AMZ_COPY_SOURCE")
            if copy_source:
                src = unquote(copy_source).split("?", 1)[0].lstrip("/")
                src_bucket, _, src_key = src.partition("/")
                if src_bucket == self.bucket and not src_key.startswith(prefix):
                    return action, [], f"copy source outside {prefix}"
                if src_bucket != self.bucket and not self._may_read(src_bucket):
                    return action, [], f"copy source bucket {src_bucket} not readable by the role"
            writes = [key] if method in ("PUT", "POST", "DELETE") else []
            return action, writes, None
        # bucket-level requests
        if method == "HEAD" or (method == "GET" and "location" in query):
            return ("HeadBucket" if method == "HEAD" else "GetBucketLocation"), [], None
        if method == "GET" and set(query) <= _LIST_QUERY_KEYS:
            action = "ListMultipartUploads" if "uploads" in query else "ListObjects"
            list_prefix = query.get("prefix", [""])[0]
            if not list_prefix.startswith(prefix):
                return action, [], f"listing outside {prefix} (prefix {list_prefix!r})"
            return action, [], None
        if method == "POST" and "delete" in query:
            keys = _delete_keys(_read_body(environ))
            outside = [k for k in keys if not k.startswith(prefix)]
            if not keys or outside:
                return "DeleteObjects", [], f"batch delete outside {prefix}"
            return "DeleteObjects", keys, None
        return f"{method} bucket ?{'&'.join(sorted(query))}", [], "bucket configuration"


def _object_action(method: str, query: dict[str, list[str]], environ: dict[str, Any]) -> str:
    copy = bool(environ.get("HTTP_X_AMZ_COPY_SOURCE"))
    if method == "PUT":
        if "partNumber" in query:
            return "UploadPartCopy" if copy else "UploadPart"
        if "tagging" in query:
            return "PutObjectTagging"
        return "CopyObject" if copy else "PutObject"
    if method == "POST":
        if "uploads" in query:
            return "CreateMultipartUpload"
        if "uploadId" in query:
            return "CompleteMultipartUpload"
        return "PostObject"
    if method == "DELETE":
        return "AbortMultipartUpload" if "uploadId" in query else "DeleteObject"
    if method == "HEAD":
        return "HeadObject"
    return "ListParts" if "uploadId" in query else "GetObject"


def _delete_keys(body: bytes) -> list[str]:
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return []
    return [el.text or "" for el in root.iter() if el.tag.split("}")[-1] == "Key"]


def _quiet_handler() -> type:
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    class QuietHandler(MotoRequestHandler):  # type: ignore[misc,valid-type]
        def log_request(self, *args: Any, **kwargs: Any) -> None:
            pass

    return QuietHandler


class AwsSandboxServer:
    """moto (S3, STS, everything else) behind :class:`WorkMagicGate`, on a loopback port.

    :param bucket: WorkMagic's inbound bucket, created on start and on :meth:`reset`.
    :param port: 0 picks a free port.
    """

    def __init__(
        self,
        *,
        bucket: str = "workmagic-inbound-data",
        region: str = "us-east-1",
        host: str = "127.0.0.1",
        port: int = 0,
        workmagic_aws_account: str = WORKMAGIC_AWS_ACCOUNT,
    ) -> None:
        self.bucket = bucket
        self.region = region
        self.host = host
        self.port = port
        self.workmagic_aws_account = workmagic_aws_account
        self.gate: WorkMagicGate | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> AwsSandboxServer:
        if self._server is not None:
            return self
        try:
            from moto.moto_server.werkzeug_app import (
                DomainDispatcherApplication,
                create_backend_app,
            )
            from werkzeug.serving import make_server
        except ImportError as err:
            from workmagic_provider.exceptions import MissingExtraError

            raise MissingExtraError("moto[server]", "sandbox") from err
        if self.gate is None:  # a restart keeps issued roles, handed-out keys and records
            moto_app = DomainDispatcherApplication(create_backend_app)
            self.gate = WorkMagicGate(
                moto_app, bucket=self.bucket, workmagic_aws_account=self.workmagic_aws_account
            )
        self._server = make_server(
            self.host, self.port, self.gate, threaded=True, request_handler=_quiet_handler()
        )
        self.port = self._server.server_port
        self.gate.offline = False
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"wm-sandbox-aws-{self.port}", daemon=True
        )
        self._thread.start()
        self._create_bucket()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        if self.gate is not None:
            self.gate.offline = True
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def reset(self) -> None:
        """Wipe moto's state (all services), forget records, re-create the inbound bucket.

        Issued roles and the keys already handed out for them stay valid.
        """
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
        if self.gate is not None:
            self.gate.clear_records()
            self.gate.revoke_reads()
        self._create_bucket()

    # ------------------------------------------------------------------ facts
    @property
    def endpoint(self) -> str:
        if self._server is None:
            raise RuntimeError("the AWS sandbox is not started")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}"

    def issue_role(
        self, account_id: str, role_arn: str | None = None, external_id: str | None = None
    ) -> IssuedRole:
        """Issue WorkMagic's role + External ID for an account (defaults: WorkMagic's patterns)."""
        role = IssuedRole(
            account_id=str(account_id),
            role_arn=role_arn
            or f"arn:aws:iam::{self.workmagic_aws_account}:role/AmazonS3FolderAccess{account_id}",
            external_id=external_id or f"ext_id_account_{account_id}",
        )
        self._gate.issue_role(role)
        return role

    def grant_read(self, bucket: str) -> None:
        """Let the issued roles read ``bucket`` (the customer granted WorkMagic's role read)."""
        self._gate.grant_read(bucket)

    def revoke_reads(self) -> None:
        self._gate.revoke_reads()

    @property
    def _gate(self) -> WorkMagicGate:
        if self.gate is None:
            raise RuntimeError("the AWS sandbox is not started")
        return self.gate

    @property
    def writes(self) -> list[S3Write]:
        return self._gate.writes

    @property
    def assumed_roles(self) -> list[AssumeRoleRecord]:
        return self._gate.assumed_roles

    @property
    def denials(self) -> list[Denial]:
        return self._gate.denials

    def admin_client(self, service: str = "s3") -> Any:
        """A boto3 client signed with the sandbox's admin key (sees the whole bucket)."""
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id=ADMIN_ACCESS_KEY_ID,
            aws_secret_access_key=ADMIN_SECRET_ACCESS_KEY,
        )

    def list_keys(self, prefix: str = "") -> list[str]:
        """All keys of the inbound bucket under ``prefix`` (admin view)."""
        client = self.admin_client()
        keys: list[str] = []
        for page in client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix
        ):
            keys.extend(obj["Key"] for obj in page.get("Contents", []))
        return keys

    @staticmethod
    def moto_assumed_roles() -> list[Any]:
        """moto's own ``AssumedRole`` records (role_arn, external_id, access_key_id...)."""
        from moto.sts.models import sts_backends

        out: list[Any] = []
        for _account, partitions in list(sts_backends.items()):
            for _partition, backend in list(partitions.items()):
                out.extend(backend.assumed_roles)
        return out

    def _create_bucket(self) -> None:
        client = self.admin_client()
        kwargs: dict[str, Any] = {"Bucket": self.bucket}
        if self.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
            client.create_bucket(**kwargs)
