"""The ``workmagic`` connection: one place that knows where an account's data goes and how.

A user fills in ONE ``workmagic`` connection beside the AWS / Google Cloud connections they
already have. :class:`WorkMagicHook` parses it once into a frozen
:class:`~workmagic_provider.hooks.settings.WorkMagicSettings` and hands out:

* :meth:`WorkMagicHook.get_s3_hook` - the amazon provider's ``S3Hook`` whose base credentials
  come from the customer's AWS connection and which assumes WorkMagic's role with the External
  ID (``hooks/s3_access.py``);
* :meth:`WorkMagicHook.get_gcs_hook` - the google provider's ``GCSHook`` of the customer's
  Google Cloud connection;
* :meth:`WorkMagicHook.hour_folder` - the account/category hour folder of a data interval;
* :meth:`WorkMagicHook.test_connection` - the form's Test button (``hooks/diagnostics.py``).

Importing this module must stay cheap (DAG files import it at parse time): boto3, botocore and
the Google libraries are imported only inside the methods that use them.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook

from workmagic_provider.exceptions import MissingExtraError, WorkMagicConfigError
from workmagic_provider.get_provider_info import (
    EXTERNAL_ID_KEY,
    SERVICE_ACCOUNT_KEY,
    UI_FIELD_BEHAVIOUR,
)
from workmagic_provider.hooks.settings import CLOUDS, WorkMagicSettings
from workmagic_provider.redaction import redact
from workmagic_provider.standards import HourFolder

if TYPE_CHECKING:
    from datetime import datetime

    from airflow.providers.amazon.aws.hooks.s3 import S3Hook
    from airflow.providers.google.cloud.hooks.gcs import GCSHook

    from workmagic_provider.hooks.api import ApiEndpoint, WorkMagicApiClient


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
                    f"(role_arn, {EXTERNAL_ID_KEY}) nor GCS settings ({SERVICE_ACCOUNT_KEY}) are "
                    "there; "
                    "set cloud to 's3' or 'gcs'"
                )
        if chosen not in CLOUDS:
            raise WorkMagicConfigError(f"cloud must be 's3' or 'gcs', got {chosen!r}")
        if chosen == "s3":
            self._require_s3()
        return chosen

    def _require_s3(self) -> None:
        s = self.settings
        missing = [
            key
            for key, name in (("role_arn", "role_arn"), (EXTERNAL_ID_KEY, "external_id"))
            if not getattr(s, name)
        ]
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
        from workmagic_provider.hooks.s3_access import workmagic_s3_hook

        return workmagic_s3_hook(self.settings, **s3_hook_kwargs)

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
        """Show the identity to register with WorkMagic and check list/put/delete rights."""
        from workmagic_provider.hooks import diagnostics

        secrets: tuple[str, ...] = ()
        try:
            settings = self.settings
            secrets = settings.secrets
            if self.destination_cloud() == "s3":
                return diagnostics.check_s3(settings, self.get_s3_hook())
            return diagnostics.check_gcs(settings, self.get_gcs_hook())
        except Exception as err:
            return False, redact(f"{type(err).__name__}: {err}", secrets)


__all__ = ["WorkMagicHook", "WorkMagicSettings"]
