"""The fields of one ``workmagic`` connection, parsed once into frozen settings.

Every error names the connection and the field at fault and never echoes a secret. Airflow hides
a connection's extra values in its REST API and edit form by *key name* (a key containing
``secret``, ``token``, ``service_account``, ...), so the External ID is stored under
``external_id_secret`` (hidden) and the registered service account under ``gcs_account_email``
(readable). The earlier keys ``external_id`` and ``service_account_email`` still work, with a
deprecation warning naming the new key.

Importing this module imports no boto3 or Google library.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from workmagic_provider.exceptions import WorkMagicConfigError
from workmagic_provider.get_provider_info import (
    CONN_FIELDS,
    DEFAULT_AWS_CONN_ID,
    DEFAULT_BUCKET,
    DEFAULT_ENRICH_API_URL,
    DEFAULT_GCP_CONN_ID,
    DEFAULT_ORDERS_API_URL,
    DEFAULT_REGION,
    DEFAULT_TEST_OBJECT,
    DEPRECATED_KEYS,
    EXTERNAL_ID_KEY,
    SERVICE_ACCOUNT_KEY,
)
from workmagic_provider.redaction import MASK, redact, shown
from workmagic_provider.standards import (
    validate_account_id,
    validate_bucket,
    validate_data_category,
)

log = logging.getLogger(__name__)

CLOUDS = ("s3", "gcs")
#: Legacy (Airflow 2 form) spelling of extras: ``extra__workmagic__account_id``.
LEGACY_EXTRA_PREFIX = "extra__workmagic__"
#: Values that turn the Test button's write check off (``test_object`` field).
NO_TEST_OBJECT = ("none", "off", "false")

_ROLE_ARN_RE = re.compile(r"^arn:aws(?:-[a-z]+)*:iam::(\d{12}):role/[\w+=,.@/-]{1,512}$")
_EXTERNAL_ID_RE = re.compile(r"^[\w+=,.@:/-]{2,1224}$")
_REGION_RE = re.compile(r"^[a-z]{2,4}(?:-[a-z0-9]+)+-\d{1,2}$")
_SERVICE_ACCOUNT_RE = re.compile(
    r"^[a-z0-9](?:[a-z0-9._-]{0,98}[a-z0-9])?@[a-z0-9](?:[a-z0-9.-]{0,200}[a-z0-9])?"
    r"\.gserviceaccount\.com$"
)
_URL_RE = re.compile(r"^https?://[^\s/?#@]+(?::\d{1,5})?(?:/[^\s?#]*)?$")
_CONN_ID_RE = re.compile(r"^[\w.-]{1,250}$")
_TEST_OBJECT_RE = re.compile(r"^(?!\.{1,2}$)[A-Za-z0-9._-]{1,128}$")

ROLE_ARN_EXAMPLE = "arn:aws:iam::588759585297:role/AmazonS3FolderAccess121226"


@dataclass(frozen=True)
class WorkMagicSettings:
    """The validated fields of one ``workmagic`` connection.

    Secrets (``external_id``, ``enrich_api_key`` = the connection password, ``orders_api_key``)
    are kept out of ``repr`` and :meth:`describe`. ``test_object`` is the name of the marker
    object the Test button writes and deletes directly under the account folder (``None``: no
    write check).
    """

    conn_id: str
    account_id: str
    data_category: str | None = None
    cloud: str | None = None
    bucket: str = DEFAULT_BUCKET
    region: str = DEFAULT_REGION
    role_arn: str | None = None
    external_id: str | None = field(default=None, repr=False)
    aws_conn_id: str = DEFAULT_AWS_CONN_ID
    gcp_conn_id: str = DEFAULT_GCP_CONN_ID
    service_account_email: str | None = None
    enrich_api_key: str | None = field(default=None, repr=False)
    enrich_api_url: str = DEFAULT_ENRICH_API_URL
    orders_api_key: str | None = field(default=None, repr=False)
    orders_api_url: str = DEFAULT_ORDERS_API_URL
    test_object: str | None = DEFAULT_TEST_OBJECT

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_connection(cls, conn: Any) -> WorkMagicSettings:
        """Parse an Airflow ``Connection`` (SDK or ORM) of type ``workmagic``."""
        conn_id = getattr(conn, "conn_id", None) or "<unnamed>"
        conn_type = getattr(conn, "conn_type", None)
        if conn_type and conn_type != "workmagic":
            log.warning(
                "Connection %r has type %r; expected 'workmagic'. Reading its fields anyway.",
                conn_id,
                conn_type,
            )
        raw_extra = getattr(conn, "extra", None)
        if isinstance(raw_extra, str) and raw_extra.strip():
            # Parsed here, not with ``extra_dejson``: the SDK turns malformed JSON into {} and
            # the user would be told every field is missing.
            try:
                extra = json.loads(raw_extra)
            except ValueError as err:  # never echo the extra: it holds secrets
                raise WorkMagicConfigError(
                    f"connection {conn_id!r}: extra must be a JSON object (invalid JSON at "
                    f"line {getattr(err, 'lineno', '?')}, column {getattr(err, 'colno', '?')})"
                ) from None
        elif isinstance(raw_extra, Mapping):
            extra = raw_extra
        else:
            extra = getattr(conn, "extra_dejson", None) or {}
        return cls.from_fields(conn_id, extra, password=getattr(conn, "password", None))

    @classmethod
    def from_fields(
        cls, conn_id: str, extra: Mapping[str, Any] | None, *, password: str | None = None
    ) -> WorkMagicSettings:
        """Validate raw fields (plain, deprecated or ``extra__workmagic__`` keys) into settings."""
        if extra is not None and not isinstance(extra, Mapping):
            raise WorkMagicConfigError(
                f"connection {conn_id!r}: extra must be a JSON object, got {type(extra).__name__}"
            )
        raw = _normalise_extra(conn_id, extra or {})
        enrich_key = _text(password)
        # Register secrets with the masker as soon as they are read, before anything can log.
        _mask(raw.get(EXTERNAL_ID_KEY), EXTERNAL_ID_KEY)
        _mask(enrich_key, "password")
        _mask(raw.get("orders_api_key"), "orders_api_key")
        secrets = (raw.get(EXTERNAL_ID_KEY), enrich_key, raw.get("orders_api_key"))
        fields = _FieldReader(conn_id, raw, secrets)
        return cls(
            conn_id=conn_id,
            account_id=fields.account_id(),
            data_category=fields.checked("data_category", validate_data_category),
            cloud=fields.cloud(),
            bucket=fields.checked("bucket", validate_bucket) or DEFAULT_BUCKET,
            region=fields.region(),
            role_arn=fields.role_arn(),
            external_id=fields.external_id(),
            aws_conn_id=fields.conn_ref("aws_conn_id", DEFAULT_AWS_CONN_ID),
            gcp_conn_id=fields.conn_ref("gcp_conn_id", DEFAULT_GCP_CONN_ID),
            service_account_email=fields.service_account_email(),
            enrich_api_key=enrich_key,
            enrich_api_url=fields.url("enrich_api_url", DEFAULT_ENRICH_API_URL),
            orders_api_key=fields.get("orders_api_key"),
            orders_api_url=fields.url("orders_api_url", DEFAULT_ORDERS_API_URL),
            test_object=fields.test_object(),
        )

    # ------------------------------------------------------------------ views
    @property
    def secrets(self) -> tuple[str, ...]:
        """The secret values of this connection (for redacting messages)."""
        return tuple(s for s in (self.external_id, self.enrich_api_key, self.orders_api_key) if s)

    @property
    def account_prefix(self) -> str:
        return f"account-{self.account_id}/"

    @property
    def role_session_name(self) -> str:
        return f"airflow-workmagic-{self.account_id}"

    def describe(self) -> dict[str, Any]:
        """All fields, secrets replaced by ``"***"`` when set (safe for logs, XCom, UI)."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if name in ("external_id", "enrich_api_key", "orders_api_key"):
                value = MASK if value else None
            out[name] = value
        return out

    def __repr__(self) -> str:
        fields_text = ", ".join(f"{k}={v!r}" for k, v in self.describe().items())
        return f"WorkMagicSettings({fields_text})"

    __str__ = __repr__


class _FieldReader:
    """Reads and checks one field at a time; every error names the connection and the key."""

    def __init__(self, conn_id: str, raw: Mapping[str, Any], secrets: tuple[Any, ...]) -> None:
        self.conn_id = conn_id
        self.raw = raw
        self.secrets = secrets

    def fail(self, name: str, message: str) -> WorkMagicConfigError:
        return WorkMagicConfigError(f"connection {self.conn_id!r}, field {name}: {message}")

    def shown(self, value: object) -> str:
        return shown(value, self.secrets)

    def get(self, name: str, default: str | None = None) -> str | None:
        value = self.raw.get(name)
        if value is None:
            return default
        if not isinstance(value, str):
            if isinstance(value, int) and not isinstance(value, bool):
                return str(value)
            raise self.fail(name, f"must be a string, got {type(value).__name__}")
        return value.strip() or default

    def checked(self, name: str, validator: Any) -> Any:
        value = self.get(name)
        if value is None:
            return None
        try:
            return validator(value)
        except WorkMagicConfigError as err:
            raise self.fail(name, redact(str(err), self.secrets)) from None

    def account_id(self) -> str:
        account_id = self.checked("account_id", validate_account_id)
        if account_id is None:
            raise self.fail("account_id", "is required (your WorkMagic account id, e.g. 121226)")
        return str(account_id)

    def cloud(self) -> str | None:
        cloud = self.get("cloud")
        if cloud is None:
            return None
        cloud = cloud.lower()
        if cloud not in CLOUDS:
            raise self.fail("cloud", f"must be 's3' or 'gcs', got {self.shown(cloud)}")
        return cloud

    def region(self) -> str:
        region = self.get("region", DEFAULT_REGION) or DEFAULT_REGION
        if not _REGION_RE.fullmatch(region):
            raise self.fail(
                "region", f"must be an AWS region such as us-east-1, got {self.shown(region)}"
            )
        return region

    def role_arn(self) -> str | None:
        role_arn = self.get("role_arn")
        if role_arn is not None and not _ROLE_ARN_RE.fullmatch(role_arn):
            raise self.fail(
                "role_arn",
                f"role_arn must look like {ROLE_ARN_EXAMPLE}, got {self.shown(role_arn)}",
            )
        return role_arn

    def external_id(self) -> str | None:
        external_id = self.get(EXTERNAL_ID_KEY)
        if external_id is not None and not _EXTERNAL_ID_RE.fullmatch(external_id):
            raise self.fail(
                EXTERNAL_ID_KEY,
                "must be 2-1224 characters of letters, digits and _+=,.@:/- "
                "(the value is not shown: it is a secret)",
            )
        return external_id

    def conn_ref(self, name: str, default: str) -> str:
        conn_ref = self.get(name, default) or default
        if not _CONN_ID_RE.fullmatch(conn_ref):
            raise self.fail(name, f"must be an Airflow connection id, got {self.shown(conn_ref)}")
        return conn_ref

    def service_account_email(self) -> str | None:
        email = self.get(SERVICE_ACCOUNT_KEY)
        if email is None:
            return None
        email = email.lower()
        if not _SERVICE_ACCOUNT_RE.fullmatch(email):
            raise self.fail(
                SERVICE_ACCOUNT_KEY,
                "must be a Google service account e-mail such as "
                f"name@project.iam.gserviceaccount.com, got {self.shown(email)}",
            )
        return email

    def url(self, name: str, default: str) -> str:
        url = self.get(name, default) or default
        if not _URL_RE.fullmatch(url):
            raise self.fail(
                name, f"must be an http(s) URL such as {default}, got {self.shown(url)}"
            )
        return url.rstrip("/")

    def test_object(self) -> str | None:
        name = self.get("test_object", DEFAULT_TEST_OBJECT) or DEFAULT_TEST_OBJECT
        if name.lower() in NO_TEST_OBJECT:
            return None
        if not _TEST_OBJECT_RE.fullmatch(name):
            raise self.fail(
                "test_object",
                "must be one object name of letters, digits and ._- (no '/'), or 'none' to "
                f"skip the write check, got {self.shown(name)}",
            )
        return name


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _mask(value: object, name: str) -> None:
    """Register a secret with Airflow's masker (task process and supervisor)."""
    if not value or not isinstance(value, str):
        return
    try:
        from airflow.sdk.log import mask_secret

        # No ``name``: the masker would skip a value whose key does not look sensitive
        # (the deprecated "external_id" does not), and these are secrets whatever they are called.
        mask_secret(value)
    except Exception:  # masking must never break reading a connection
        log.debug("Could not register %s with the secrets masker", name, exc_info=True)


def _normalise_extra(conn_id: str, extra: Mapping[str, Any]) -> dict[str, Any]:
    """One value per current key: plain keys over legacy ones, current over deprecated ones.

    Unknown keys, deprecated keys and conflicting spellings are reported by key name only.
    """
    plain: dict[str, Any] = {}
    legacy: dict[str, Any] = {}
    for key, value in extra.items():
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if key.startswith(LEGACY_EXTRA_PREFIX):
            legacy[key[len(LEGACY_EXTRA_PREFIX) :]] = value
        else:
            plain[key] = value
    for key in sorted(set(plain) & set(legacy)):
        if plain[key] != legacy[key]:
            log.warning(
                "Connection %r sets %s both as a plain key and as %s%s; using the plain key.",
                conn_id,
                key,
                LEGACY_EXTRA_PREFIX,
                key,
            )
    merged = {**legacy, **plain}
    for old, new in DEPRECATED_KEYS.items():
        if old not in merged:
            continue
        value = merged.pop(old)
        if new in merged:
            if merged[new] != value:
                log.warning(
                    "Connection %r sets both %s and the deprecated %s; using %s.",
                    conn_id,
                    new,
                    old,
                    new,
                )
            continue
        log.warning(
            "Connection %r: extra key %s is deprecated; rename it to %s%s.",
            conn_id,
            old,
            new,
            " (Airflow then hides its value in the UI and REST API)"
            if new == EXTERNAL_ID_KEY
            else "",
        )
        merged[new] = value
    unknown = sorted(key for key in merged if key not in CONN_FIELDS)
    if unknown:
        log.warning(
            "Connection %r has extra keys this provider does not use: %s (known: %s)",
            conn_id,
            ", ".join(unknown),
            ", ".join(CONN_FIELDS),
        )
    return {k: v for k, v in merged.items() if k in CONN_FIELDS}


__all__ = ["CLOUDS", "LEGACY_EXTRA_PREFIX", "ROLE_ARN_EXAMPLE", "WorkMagicSettings"]
