"""The ``workmagic`` connection: one place that knows where an account's data goes and how.

A user fills in ONE ``workmagic`` connection beside the AWS / Google Cloud
connections they already have. :class:`WorkMagicHook` parses it once into a frozen
:class:`WorkMagicSettings` (every error names the field at fault, never a secret) and hands out:

* :meth:`WorkMagicHook.get_s3_hook` - the amazon provider's ``S3Hook`` whose base credentials come
  from the customer's AWS connection and which assumes WorkMagic's role with the External ID,
  through the provider's own role machinery (refreshable STS credentials);
* :meth:`WorkMagicHook.get_gcs_hook` - the google provider's ``GCSHook`` of the customer's
  Google Cloud connection;
* :meth:`WorkMagicHook.hour_folder` - the account/category hour folder of a data interval.

Importing this module must stay cheap (DAG files import it at parse time): boto3, botocore and
the Google libraries are imported only inside the methods that use them.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook

from workmagic_provider.exceptions import MissingExtraError, WorkMagicConfigError
from workmagic_provider.get_provider_info import (
    CONN_FIELDS,
    DEFAULT_AWS_CONN_ID,
    DEFAULT_BUCKET,
    DEFAULT_ENRICH_API_URL,
    DEFAULT_GCP_CONN_ID,
    DEFAULT_ORDERS_API_URL,
    DEFAULT_REGION,
    UI_FIELD_BEHAVIOUR,
)
from workmagic_provider.standards import (
    HourFolder,
    validate_account_id,
    validate_bucket,
    validate_data_category,
)

if TYPE_CHECKING:
    from datetime import datetime

    from airflow.providers.amazon.aws.hooks.s3 import S3Hook
    from airflow.providers.google.cloud.hooks.gcs import GCSHook

    from workmagic_provider.hooks.api import ApiEndpoint, WorkMagicApiClient

log = logging.getLogger(__name__)

CLOUDS = ("s3", "gcs")
#: Legacy (Airflow 2 form) spelling of extras: ``extra__workmagic__account_id``.
LEGACY_EXTRA_PREFIX = "extra__workmagic__"
#: Connection fields whose values are secrets: registered with the masker, never echoed.
SECRET_FIELDS = ("external_id", "password", "orders_api_key")

_ROLE_ARN_RE = re.compile(r"^arn:aws(?:-[a-z]+)*:iam::(\d{12}):role/[\w+=,.@/-]{1,512}$")
_EXTERNAL_ID_RE = re.compile(r"^[\w+=,.@:/-]{2,1224}$")
_REGION_RE = re.compile(r"^[a-z]{2,4}(?:-[a-z0-9]+)+-\d{1,2}$")
_SERVICE_ACCOUNT_RE = re.compile(
    r"^[a-z0-9](?:[a-z0-9._-]{0,98}[a-z0-9])?@[a-z0-9](?:[a-z0-9.-]{0,200}[a-z0-9])?"
    r"\.gserviceaccount\.com$"
)
_URL_RE = re.compile(r"^https?://[^\s/?#@]+(?::\d{1,5})?(?:/[^\s?#]*)?$")
_CONN_ID_RE = re.compile(r"^[\w.-]{1,250}$")

ROLE_ARN_EXAMPLE = "arn:aws:iam::588759585297:role/AmazonS3FolderAccess121226"


def _redact(text: str, secrets: Iterable[str | None]) -> str:
    """Replace every occurrence of a secret in ``text`` by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def _shown(value: object, secrets: Iterable[str | None]) -> str:
    """``repr`` of a bad value for an error message, unless it carries a secret."""
    text = repr(value)
    return "<value not shown: it contains a secret>" if _redact(text, secrets) != text else text


@dataclass(frozen=True)
class WorkMagicSettings:
    """The validated fields of one ``workmagic`` connection.

    Secrets (``external_id``, ``enrich_api_key`` = the connection password, ``orders_api_key``)
    are kept out of ``repr`` and :meth:`describe`.
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
        """Validate raw fields (plain or ``extra__workmagic__``-prefixed keys) into settings."""
        if extra is not None and not isinstance(extra, Mapping):
            raise WorkMagicConfigError(
                f"connection {conn_id!r}: extra must be a JSON object, got {type(extra).__name__}"
            )
        raw = _normalise_extra(conn_id, extra or {})
        enrich_key = _text(password)
        # Register secrets with the masker as soon as they are read, before anything can log.
        _mask(raw.get("external_id"), "external_id")
        _mask(enrich_key, "password")
        _mask(raw.get("orders_api_key"), "orders_api_key")
        secrets = (raw.get("external_id"), enrich_key, raw.get("orders_api_key"))

        def fail(name: str, message: str) -> WorkMagicConfigError:
            return WorkMagicConfigError(f"connection {conn_id!r}, field {name}: {message}")

        def get(name: str, default: str | None = None) -> str | None:
            value = raw.get(name)
            if value is None:
                return default
            if not isinstance(value, str):
                if isinstance(value, int) and not isinstance(value, bool):
                    return str(value)
                raise fail(name, f"must be a string, got {type(value).__name__}")
            return value.strip() or default

        def checked(name: str, validator: Any) -> Any:
            value = get(name)
            if value is None:
                return None
            try:
                return validator(value)
            except WorkMagicConfigError as err:
                raise fail(name, _redact(str(err), secrets)) from None

        account_id = checked("account_id", validate_account_id)
        if account_id is None:
            raise fail("account_id", "is required (your WorkMagic account id, e.g. 121226)")
        data_category = checked("data_category", validate_data_category)
        bucket = checked("bucket", validate_bucket) or DEFAULT_BUCKET

        cloud = get("cloud")
        if cloud is not None:
            cloud = cloud.lower()
            if cloud not in CLOUDS:
                raise fail("cloud", f"must be 's3' or 'gcs', got {_shown(cloud, secrets)}")

        region = get("region", DEFAULT_REGION)
        assert region is not None
        if not _REGION_RE.fullmatch(region):
            raise fail(
                "region", f"must be an AWS region such as us-east-1, got {_shown(region, secrets)}"
            )

        role_arn = get("role_arn")
        if role_arn is not None and not _ROLE_ARN_RE.fullmatch(role_arn):
            raise fail(
                "role_arn",
                f"role_arn must look like {ROLE_ARN_EXAMPLE}, got {_shown(role_arn, secrets)}",
            )

        external_id = get("external_id")
        if external_id is not None and not _EXTERNAL_ID_RE.fullmatch(external_id):
            raise fail(
                "external_id",
                "must be 2-1224 characters of letters, digits and _+=,.@:/- "
                "(the value is not shown: it is a secret)",
            )

        aws_conn_id = get("aws_conn_id", DEFAULT_AWS_CONN_ID)
        gcp_conn_id = get("gcp_conn_id", DEFAULT_GCP_CONN_ID)
        for name, conn_ref in (("aws_conn_id", aws_conn_id), ("gcp_conn_id", gcp_conn_id)):
            if conn_ref is None or not _CONN_ID_RE.fullmatch(conn_ref):
                raise fail(
                    name, f"must be an Airflow connection id, got {_shown(conn_ref, secrets)}"
                )

        email = get("service_account_email")
        if email is not None:
            email = email.lower()
            if not _SERVICE_ACCOUNT_RE.fullmatch(email):
                raise fail(
                    "service_account_email",
                    "must be a Google service account e-mail such as "
                    f"name@project.iam.gserviceaccount.com, got {_shown(email, secrets)}",
                )

        urls = {}
        for name, default in (
            ("enrich_api_url", DEFAULT_ENRICH_API_URL),
            ("orders_api_url", DEFAULT_ORDERS_API_URL),
        ):
            url = get(name, default)
            assert url is not None
            if not _URL_RE.fullmatch(url):
                raise fail(
                    name,
                    f"must be an http(s) URL such as {default}, got {_shown(url, secrets)}",
                )
            urls[name] = url.rstrip("/")

        return cls(
            conn_id=conn_id,
            account_id=account_id,
            data_category=data_category,
            cloud=cloud,
            bucket=bucket,
            region=region,
            role_arn=role_arn,
            external_id=external_id,
            aws_conn_id=aws_conn_id,  # type: ignore[arg-type]
            gcp_conn_id=gcp_conn_id,  # type: ignore[arg-type]
            service_account_email=email,
            enrich_api_key=enrich_key,
            enrich_api_url=urls["enrich_api_url"],
            orders_api_key=get("orders_api_key"),
            orders_api_url=urls["orders_api_url"],
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

    def has_s3(self) -> bool:
        return bool(self.role_arn and self.external_id)

    def describe(self) -> dict[str, Any]:
        """All fields, secrets replaced by ``"***"`` when set (safe for logs, XCom, UI)."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if name in ("external_id", "enrich_api_key", "orders_api_key"):
                value = "***" if value else None
            out[name] = value
        return out

    def __repr__(self) -> str:
        fields_text = ", ".join(f"{k}={v!r}" for k, v in self.describe().items())
        return f"WorkMagicSettings({fields_text})"

    __str__ = __repr__


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
        # ("external_id" does not), and these values are secrets whatever they are called.
        mask_secret(value)
    except Exception:  # masking must never break reading a connection
        log.debug("Could not register %s with the secrets masker", name, exc_info=True)


def _normalise_extra(conn_id: str, extra: Mapping[str, Any]) -> dict[str, Any]:
    """Plain keys win over legacy ``extra__workmagic__`` ones; unknown keys are reported."""
    plain: dict[str, Any] = {}
    legacy: dict[str, Any] = {}
    unknown: list[str] = []
    for key, value in extra.items():
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if key.startswith(LEGACY_EXTRA_PREFIX):
            legacy[key[len(LEGACY_EXTRA_PREFIX) :]] = value
        else:
            plain[key] = value
    merged = {**legacy, **plain}
    for key in merged:
        if key not in CONN_FIELDS:
            unknown.append(key)
    for key in sorted(set(plain) & set(legacy)):
        if plain[key] != legacy[key]:
            log.warning(
                "Connection %r sets %s both as a plain key and as %s%s; using the plain key.",
                conn_id,
                key,
                LEGACY_EXTRA_PREFIX,
                key,
            )
    if unknown:
        log.warning(
            "Connection %r has extra keys this provider does not use: %s (known: %s)",
            conn_id,
            ", ".join(sorted(unknown)),
            ", ".join(CONN_FIELDS),
        )
    return {k: v for k, v in merged.items() if k in CONN_FIELDS}


def _error_code(err: BaseException) -> str:
    response = getattr(err, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", "") or "")
    return ""


def assume_role_denied_message(settings: WorkMagicSettings, code: str = "AccessDenied") -> str:
    """WorkMagic's troubleshooting advice for a refused AssumeRole (no secret in it)."""
    return (
        f"Access Denied when assuming WorkMagic's role {settings.role_arn}: check role "
        f"assumption + External ID. The External ID on connection {settings.conn_id!r} must be "
        "the one WorkMagic issued with this role, and the IAM user of aws_conn_id "
        f"{settings.aws_conn_id!r} must be the user ARN you registered with WorkMagic ({code})."
    )


@lru_cache(maxsize=1)
def _workmagic_s3_hook_class() -> type[S3Hook]:
    """Build (once) the ``S3Hook`` subclass that assumes WorkMagic's role.

    Defined lazily so that importing this module does not import boto3.
    """
    try:
        from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook
        from airflow.providers.amazon.aws.utils.connection_wrapper import AwsConnectionWrapper
        from botocore.exceptions import ClientError
    except ImportError as err:
        raise MissingExtraError("apache-airflow-providers-amazon", "amazon") from err

    class WorkMagicS3Hook(S3Hook):
        """``S3Hook`` on the customer's AWS connection that assumes WorkMagic's role.

        ``conn_config`` is the customer's connection (``aws_conn_id``: keys, ``endpoint_url``,
        ``service_config``, botocore settings) with WorkMagic's ``role_arn``, ``ExternalId`` and
        region put in, so the provider's own session factory does the AssumeRole and refreshes
        the credentials before they expire.
        """

        def __init__(self, *, settings: WorkMagicSettings, **kwargs: Any) -> None:
            self.workmagic_settings = settings
            kwargs.setdefault("region_name", settings.region)
            super().__init__(aws_conn_id=settings.aws_conn_id, **kwargs)

        @cached_property
        def base_conn_config(self) -> AwsConnectionWrapper:
            """The customer's own AWS connection, as the amazon provider reads it."""
            return AwsBaseHook(
                aws_conn_id=self.aws_conn_id,
                region_name=self._region_name,
                verify=self._verify,
                config=self._config,
            ).conn_config

        @cached_property
        def conn_config(self) -> AwsConnectionWrapper:
            wm = self.workmagic_settings
            base = self.base_conn_config
            if base.role_arn:
                raise WorkMagicConfigError(
                    f"AWS connection {self.aws_conn_id!r} (aws_conn_id of connection "
                    f"{wm.conn_id!r}) assumes role {base.role_arn} itself. WorkMagic trusts the "
                    "IAM user ARN you registered with it: point aws_conn_id at a connection with "
                    "that user's keys (or none, to use the default credential chain)."
                )
            extra = dict(base.extra_config)
            for key in ("role_arn", "assume_role_method", "assume_role_kwargs"):
                extra.pop(key, None)
            extra.update(
                region_name=self._region_name or wm.region,
                role_arn=wm.role_arn,
                assume_role_method="assume_role",
                assume_role_kwargs={
                    "ExternalId": wm.external_id,
                    "RoleSessionName": wm.role_session_name,
                },
            )
            conn_id = base.conn_id if isinstance(base.conn_id, str) else self.aws_conn_id
            merged = AwsConnectionWrapper.from_connection_metadata(
                conn_id=conn_id, login=base.login, password=base.password, extra=extra
            )
            # Hook arguments (config=, verify=) win over the connection, as in AwsBaseHook.
            return AwsConnectionWrapper(
                conn=merged,
                region_name=self._region_name or wm.region,
                botocore_config=self._config,
                verify=self._verify,
            )

        def get_session(self, region_name: str | None = None, deferrable: bool = False) -> Any:
            """The provider's session; a refused AssumeRole becomes an error that says why."""
            try:
                return super().get_session(region_name=region_name, deferrable=deferrable)
            except ClientError as err:
                if err.operation_name != "AssumeRole":
                    raise
                raise WorkMagicConfigError(
                    assume_role_denied_message(self.workmagic_settings, _error_code(err) or "?")
                ) from err

    WorkMagicS3Hook.__module__ = __name__
    WorkMagicS3Hook.__qualname__ = "WorkMagicS3Hook"
    return WorkMagicS3Hook


class WorkMagicHook(BaseHook):
    """Hook of the ``workmagic`` connection type.

    :param workmagic_conn_id: id of a ``workmagic`` connection (default ``workmagic_default``).
    """

    conn_name_attr = "workmagic_conn_id"
    default_conn_name = "workmagic_default"
    conn_type = "workmagic"
    hook_name = "WorkMagic"

    def __init__(self, workmagic_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.workmagic_conn_id = workmagic_conn_id

    # ------------------------------------------------------------------ Airflow UI
    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Airflow 2-style form behaviour (Airflow 3 reads the provider info instead)."""
        return {
            "hidden_fields": list(UI_FIELD_BEHAVIOUR["hidden-fields"]),
            "relabeling": dict(UI_FIELD_BEHAVIOUR["relabeling"]),
            "placeholders": dict(UI_FIELD_BEHAVIOUR["placeholders"]),
        }

    # ------------------------------------------------------------------ settings
    @cached_property
    def settings(self) -> WorkMagicSettings:
        """The connection's validated fields, read on first use (not at DAG parse)."""
        return WorkMagicSettings.from_connection(self.get_connection(self.workmagic_conn_id))

    def get_conn(self) -> WorkMagicSettings:
        return self.settings

    def hour_folder(
        self, data_interval_start: datetime | None, *, data_category: str | None = None
    ) -> HourFolder:
        """The hour folder of a run for this account (category from the connection or given)."""
        category = data_category or self.settings.data_category
        if not category:
            raise WorkMagicConfigError(
                f"connection {self.workmagic_conn_id!r}, field data_category: is not set; set it "
                "on the connection or pass data_category= to the operator"
            )
        return HourFolder.for_interval(self.settings.account_id, category, data_interval_start)

    def destination_cloud(self, cloud: str | None = None) -> str:
        """``"s3"`` or ``"gcs"``: ``cloud`` if an operator forces one, else the connection's.

        Without a ``cloud`` field the connection's S3 settings (role ARN + External ID) select
        S3, a service account selects GCS. Raises when the chosen cloud's settings are missing.
        """
        s = self.settings
        chosen = (cloud or s.cloud or "").strip().lower() or None
        if chosen is None:
            if s.role_arn or s.external_id:
                chosen = "s3"
            elif s.service_account_email:
                chosen = "gcs"
            else:
                raise WorkMagicConfigError(
                    f"connection {s.conn_id!r}, field cloud: is not set and neither S3 settings "
                    "(role_arn, external_id) nor GCS settings (service_account_email) are there; "
                    "set cloud to 's3' or 'gcs'"
                )
        if chosen not in CLOUDS:
            raise WorkMagicConfigError(f"cloud must be 's3' or 'gcs', got {chosen!r}")
        if chosen == "s3":
            self._require_s3()
        return chosen

    def _require_s3(self) -> None:
        s = self.settings
        missing = [name for name in ("role_arn", "external_id") if not getattr(s, name)]
        if missing:
            raise WorkMagicConfigError(
                f"S3 destination needs {' and '.join(missing)} on connection {s.conn_id!r} "
                "(WorkMagic shows both under Upload order data > Amazon S3)"
            )

    # ------------------------------------------------------------------ destination hooks
    def get_s3_hook(self, **s3_hook_kwargs: Any) -> S3Hook:
        """An ``S3Hook`` that writes as WorkMagic's role (assumed with the External ID).

        Base credentials, ``endpoint_url`` and ``service_config`` come from the customer's AWS
        connection (``aws_conn_id``); extra keyword arguments go to ``S3Hook``
        (``transfer_config_args``, ``extra_args``, ``config``, ``verify``...).
        """
        self._require_s3()
        return _workmagic_s3_hook_class()(settings=self.settings, **s3_hook_kwargs)

    def get_gcs_hook(self, **gcs_hook_kwargs: Any) -> GCSHook:
        """The google provider's ``GCSHook`` of the customer's connection (``gcp_conn_id``)."""
        try:
            from airflow.providers.google.cloud.hooks.gcs import GCSHook
        except ImportError as err:
            raise MissingExtraError("apache-airflow-providers-google", "google") from err
        return GCSHook(gcp_conn_id=self.settings.gcp_conn_id, **gcs_hook_kwargs)

    def get_api_client(self, api: str = "enrich", **client_kwargs: Any) -> WorkMagicApiClient:
        """A batched, retrying client of WorkMagic's Enrich (``"enrich"``) or Orders API.

        Keyword arguments go to :class:`~workmagic_provider.hooks.api.WorkMagicApiClient`
        (``batch_size``, ``max_workers``, ``retry``, ``max_rps``, ``clock``).
        """
        from workmagic_provider.hooks.api import WorkMagicApiClient

        return WorkMagicApiClient(self.api_endpoint(api), **client_kwargs)

    def api_endpoint(self, api: str = "enrich") -> ApiEndpoint:
        """The Enrich Order API (key: the password) or the Orders API (``orders_api_key``)."""
        from workmagic_provider.hooks.api import ENRICH_PATH, ORDERS_PATH, ApiEndpoint

        s = self.settings
        if api == "enrich":
            if not s.enrich_api_key:
                raise WorkMagicConfigError(
                    f"connection {s.conn_id!r}: the Enrich API key is missing; put it in the "
                    "connection's password (WorkMagic: Settings > Store Data Settings > Enrich "
                    "Order API > Copy)"
                )
            return ApiEndpoint(
                name="Enrich Order API",
                base_url=s.enrich_api_url,
                path=ENRICH_PATH,
                auth_header="Authorization",
                auth_value=f"Bearer {s.enrich_api_key}",
                id_field="order_id",
                conn_id=s.conn_id,
                key_hint="the connection's password must be the key shown under Settings > "
                "Store Data Settings > Enrich Order API (generating a new key invalidates the "
                "old one)",
            )
        if api == "orders":
            if not s.orders_api_key:
                raise WorkMagicConfigError(
                    f"connection {s.conn_id!r}, field orders_api_key: is not set (the "
                    "X-API-KEY WorkMagic gave you for the custom-site Orders API)"
                )
            return ApiEndpoint(
                name="Orders API",
                base_url=s.orders_api_url,
                path=ORDERS_PATH,
                auth_header="X-API-KEY",
                auth_value=s.orders_api_key,
                id_field="id",
                conn_id=s.conn_id,
                key_hint="field orders_api_key must be the X-API-KEY WorkMagic issued for your "
                "custom site",
            )
        raise WorkMagicConfigError(f"api must be 'enrich' or 'orders', got {api!r}")

    # ------------------------------------------------------------------ UI test button
    def test_connection(self) -> tuple[bool, str]:
        """Validate the fields and list one object of the account folder in the destination."""
        secrets: tuple[str, ...] = ()
        try:
            settings = self.settings
            secrets = settings.secrets
            cloud = self.destination_cloud()
            if cloud == "s3":
                return self._test_s3()
            return self._test_gcs()
        except Exception as err:
            return False, _redact(f"{type(err).__name__}: {err}", secrets)

    def _test_s3(self) -> tuple[bool, str]:
        s = self.settings
        location = f"s3://{s.bucket}/{s.account_prefix}"
        secrets: list[str | None] = list(s.secrets)
        stage = "assume"
        try:
            s3 = self.get_s3_hook()
            base = s3.base_conn_config  # type: ignore[attr-defined]
            secrets += [base.password, base.aws_secret_access_key, base.aws_session_token]
            client = s3.get_conn()  # the AssumeRole happens here
            stage = "list"
            page = client.list_objects_v2(Bucket=s.bucket, Prefix=s.account_prefix, MaxKeys=1)
        except Exception as err:
            return False, _redact(self._explain_s3_error(err, stage, location), secrets)
        found = page.get("KeyCount", len(page.get("Contents", []) or []))
        return True, (
            f"Assumed {s.role_arn} with the External ID (session {s.role_session_name}) and "
            f"listed {location}: {'not empty' if found else 'empty so far'}."
        )

    def _explain_s3_error(self, err: Exception, stage: str, location: str) -> str:
        s = self.settings
        code = _error_code(err)
        name = type(err).__name__
        if isinstance(err, WorkMagicConfigError):
            return str(err)
        if name in ("NoCredentialsError", "PartialCredentialsError"):
            return (
                f"No AWS credentials found for aws_conn_id {s.aws_conn_id!r}: give that connection "
                "the access key of the IAM user whose ARN you registered with WorkMagic."
            )
        if name in ("EndpointConnectionError", "ConnectTimeoutError", "ConnectionClosedError"):
            return f"Could not reach AWS ({name}): {err}"
        if stage == "assume":
            if code.startswith("AccessDenied"):
                return assume_role_denied_message(s, code)
            return f"Could not assume WorkMagic's role {s.role_arn} ({code or name}): {err}"
        if code in ("AccessDenied", "403", "Forbidden"):
            return (
                f"Assumed {s.role_arn}, but listing {location} was denied: check that account_id "
                f"{s.account_id} and bucket {s.bucket!r} are the ones WorkMagic issued with this "
                "role."
            )
        if code in ("NoSuchBucket", "404"):
            return f"Assumed {s.role_arn}, but bucket {s.bucket!r} does not exist: check bucket."
        return f"Listing {location} as {s.role_arn} failed ({code or name}): {err}"

    def _test_gcs(self) -> tuple[bool, str]:
        s = self.settings
        location = f"gs://{s.bucket}/{s.account_prefix}"
        who = (
            f"service account {s.service_account_email}"
            if s.service_account_email
            else f"the identity of gcp_conn_id {s.gcp_conn_id!r}"
        )
        try:
            gcs = self.get_gcs_hook()
            client = gcs.get_conn()
            blobs = list(client.list_blobs(s.bucket, prefix=s.account_prefix, max_results=1))
        except Exception as err:
            name = type(err).__name__
            code = getattr(err, "code", None)
            if name == "Forbidden" or code == 403:
                hint = (
                    f"Access denied to {location} for {who}: register that service account with "
                    "WorkMagic (Upload order data > Google Cloud Storage) and check account_id "
                    "and bucket."
                )
            elif name == "NotFound" or code == 404:
                hint = f"Bucket {s.bucket!r} not found for {who}: check bucket."
            elif name == "DefaultCredentialsError":
                hint = f"No Google credentials for gcp_conn_id {s.gcp_conn_id!r}: {err}"
            else:
                hint = f"Listing {location} as {who} failed ({name}): {err}"
            return False, _redact(hint, s.secrets)
        return True, f"Listed {location} as {who}: {'not empty' if blobs else 'empty so far'}."


__all__ = ["WorkMagicHook", "WorkMagicSettings"]
