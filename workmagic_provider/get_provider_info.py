"""Provider metadata read by Airflow through the ``apache_airflow_provider`` entry point.

Airflow validates this dict against its ``provider_info.schema.json`` at discovery and, since 3.2,
builds the connection form from ``connection-types[].conn-fields`` / ``ui-field-behaviour``
without importing the hook. Airflow 3 stores every conn-field as a plain key of the connection's
extra (``{"account_id": "121226", ...}``); the hook also accepts the legacy
``extra__workmagic__<field>`` spelling.

Keep this module free of imports beyond the package version: Airflow imports it for every CLI call.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from workmagic_provider import __version__

#: Defaults shared with the hook (``workmagic_provider.hooks.workmagic``).
DEFAULT_BUCKET = "workmagic-inbound-data"
DEFAULT_REGION = "us-east-1"
DEFAULT_AWS_CONN_ID = "aws_default"
DEFAULT_GCP_CONN_ID = "google_cloud_default"
DEFAULT_ENRICH_API_URL = "https://api.workmagic.io"
DEFAULT_ORDERS_API_URL = "https://store-api.workmagic.io"
#: Marker object the Test button writes and deletes under ``account-<id>/`` (no hour folder).
DEFAULT_TEST_OBJECT = ".airflow-connection-test"

#: Airflow hides an extra's value by key name: "secret" in the key hides the External ID, and
#: a key without "service_account" keeps the registered e-mail readable.
EXTERNAL_ID_KEY = "external_id_secret"
SERVICE_ACCOUNT_KEY = "gcs_account_email"
#: Earlier key names, still read (with a deprecation warning naming the new key).
DEPRECATED_KEYS = {"external_id": EXTERNAL_ID_KEY, "service_account_email": SERVICE_ACCOUNT_KEY}

_STR = ["string", "null"]


def _field(
    label: str,
    description: str,
    *,
    default: str | None = None,
    secret: bool = False,
    enum: list[str | None] | None = None,
) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": list(_STR)}
    if default is not None:
        schema["default"] = default
    if secret:
        schema["format"] = "password"
    if enum is not None:
        schema["enum"] = enum
    return {"label": label, "description": description, "schema": schema}


#: The ``workmagic`` connection's own fields, in form order.
CONN_FIELDS: dict[str, dict[str, Any]] = {
    "account_id": _field(
        "WorkMagic account id",
        "Digits only, e.g. 121226; objects go under account-<id>/ in WorkMagic's bucket.",
    ),
    "data_category": _field(
        "Data category",
        "Folder under the account, as shown in WorkMagic's upload settings "
        "(e.g. order-geo-date-data for imported channels).",
    ),
    "cloud": _field(
        "Destination cloud",
        "s3 or gcs: where the general upload operator writes. S3*/GCS* operators write to "
        "their own cloud whatever this says.",
        default="s3",
        enum=["s3", "gcs", None],
    ),
    "bucket": _field(
        "Bucket",
        "WorkMagic's inbound bucket (same name on S3 and GCS).",
        default=DEFAULT_BUCKET,
    ),
    "region": _field(
        "AWS region",
        "Region of WorkMagic's S3 bucket and the STS endpoint used to assume its role.",
        default=DEFAULT_REGION,
    ),
    "role_arn": _field(
        "WorkMagic IAM role ARN (S3)",
        "Role WorkMagic issued for your account, e.g. "
        "arn:aws:iam::588759585297:role/AmazonS3FolderAccess121226.",
    ),
    EXTERNAL_ID_KEY: _field(
        "External ID (S3)",
        "External ID WorkMagic issued with the role; sent on every AssumeRole (hidden in the UI; "
        "the earlier key external_id still works).",
        secret=True,
    ),
    "aws_conn_id": _field(
        "Your AWS connection",
        "Airflow connection id of the IAM user (ARN registered with WorkMagic) that assumes "
        "WorkMagic's role.",
        default=DEFAULT_AWS_CONN_ID,
    ),
    "gcp_conn_id": _field(
        "Your Google Cloud connection",
        "Airflow connection id of the service account registered with WorkMagic (GCS).",
        default=DEFAULT_GCP_CONN_ID,
    ),
    SERVICE_ACCOUNT_KEY: _field(
        "Registered service account (GCS)",
        "E-mail of the Google service account you registered with WorkMagic; the Test button "
        "compares it with the identity of your Google Cloud connection (the earlier key "
        "service_account_email still works).",
    ),
    "enrich_api_url": _field(
        "Enrich API base URL",
        "Base URL of WorkMagic's Enrich Order API.",
        default=DEFAULT_ENRICH_API_URL,
    ),
    "orders_api_key": _field(
        "Orders API key",
        "API key of WorkMagic's Orders API (custom sites).",
        secret=True,
    ),
    "orders_api_url": _field(
        "Orders API base URL",
        "Base URL of WorkMagic's Orders API.",
        default=DEFAULT_ORDERS_API_URL,
    ),
    "test_object": _field(
        "Test-button marker object",
        "Name of the small object the Test button writes and deletes directly under "
        "account-<id>/ (never in an hour folder) to check put and delete rights; none skips "
        "that check.",
        default=DEFAULT_TEST_OBJECT,
    ),
}

#: Form behaviour of the built-in fields: only password (the Enrich API key) and extra stay.
UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["host", "schema", "port", "login"],
    "relabeling": {"password": "Enrich API key"},
    "placeholders": {
        "password": "Enrich Order API key (Settings > Store Data Settings > Enrich Order API)",
        "account_id": "121226",
        "data_category": "order-geo-date-data",
        "cloud": "s3",
        "bucket": DEFAULT_BUCKET,
        "region": DEFAULT_REGION,
        "role_arn": "arn:aws:iam::588759585297:role/AmazonS3FolderAccess121226",
        EXTERNAL_ID_KEY: "ext_id_account_121226",
        "aws_conn_id": DEFAULT_AWS_CONN_ID,
        "gcp_conn_id": DEFAULT_GCP_CONN_ID,
        SERVICE_ACCOUNT_KEY: "workmagic-upload@my-project.iam.gserviceaccount.com",
        "enrich_api_url": DEFAULT_ENRICH_API_URL,
        "orders_api_url": DEFAULT_ORDERS_API_URL,
        "test_object": DEFAULT_TEST_OBJECT,
    },
}


def get_provider_info() -> dict[str, Any]:
    """Describe the package, its ``workmagic`` connection type, form fields and hooks."""
    return {
        "package-name": "airflow-provider-workmagic",
        "name": "WorkMagic",
        "description": (
            "Deliver e-commerce order data to `WorkMagic <https://www.workmagic.io/>`__: hourly "
            "S3/GCS uploads, warehouse unloads, object-store sync and the Enrich Order API."
        ),
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "WorkMagic",
                "external-doc-url": "https://www.workmagic.io/",
                "tags": ["service"],
            }
        ],
        "hooks": [
            {
                "integration-name": "WorkMagic",
                "python-modules": [
                    "workmagic_provider.hooks.workmagic",
                    "workmagic_provider.hooks.api",
                ],
            }
        ],
        "operators": [
            {
                "integration-name": "WorkMagic",
                "python-modules": [
                    "workmagic_provider.operators.s3",
                    "workmagic_provider.operators.gcs",
                    "workmagic_provider.operators.upload",
                    "workmagic_provider.operators.files",
                    "workmagic_provider.operators.sheets",
                    "workmagic_provider.operators.enrich",
                    "workmagic_provider.operators.snowflake",
                    "workmagic_provider.operators.bigquery",
                    "workmagic_provider.operators.warehouse",
                    "workmagic_provider.operators.audit",
                ],
            }
        ],
        "connection-types": [
            {
                "hook-class-name": "workmagic_provider.hooks.workmagic.WorkMagicHook",
                "hook-name": "WorkMagic",
                "connection-type": "workmagic",
                "ui-field-behaviour": deepcopy(UI_FIELD_BEHAVIOUR),
                "conn-fields": deepcopy(CONN_FIELDS),
            }
        ],
        "extra-links": [
            "workmagic_provider.links.HourFolderLink",
            "workmagic_provider.links.BigQueryJobLink",
            "workmagic_provider.links.WorkMagicSettingsLink",
        ],
    }
