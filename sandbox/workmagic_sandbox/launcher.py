"""The sandbox: WorkMagic's side on loopback, for tests, the demo and users' dry runs.

:class:`Sandbox` composes one small server class per part (``aws.AwsSandboxServer`` for S3 + STS,
``gcs.GcsSandboxServer`` for GCS, ``api.ApiSandboxServer`` for the Enrich and Orders APIs) and
knows the Airflow connections that point at them::

    with Sandbox(account_id="121226") as sandbox:
        os.environ.update(sandbox.env())           # AIRFLOW_CONN_*, STORAGE_EMULATOR_HOST
        WorkMagicHook().get_s3_hook().load_bytes(b"...", key=..., bucket_name=sandbox.bucket)

Every credential here is a sandbox-only test value; printing them is expected.
"""

from __future__ import annotations

import json
from types import TracebackType
from typing import Any

from workmagic_provider.standards import validate_account_id, validate_bucket
from workmagic_sandbox.api import ApiSandboxServer
from workmagic_sandbox.aws import (
    WORKMAGIC_AWS_ACCOUNT,
    AssumeRoleRecord,
    AwsSandboxServer,
    Denial,
    S3Write,
)
from workmagic_sandbox.gcs import DEFAULT_PROJECT, GcsSandboxServer

#: Connection ids the sandbox's connections use.
AWS_CONN_ID = "wm_sandbox_aws"
GCP_CONN_ID = "wm_sandbox_gcp"
WORKMAGIC_CONN_ID = "workmagic_default"
#: The customer's (dummy) IAM user keys: base credentials that AssumeRole into WorkMagic's role.
CUSTOMER_ACCESS_KEY_ID = "AKIASANDBOXCUSTOMER1"
CUSTOMER_SECRET_ACCESS_KEY = "sandbox-customer-secret-not-a-real-key"
SERVICE_ACCOUNT_EMAIL = "workmagic-upload@test-project.iam.gserviceaccount.com"
ENRICH_API_KEY = "sandbox-enrich-api-key"
ORDERS_API_KEY = "sandbox-orders-api-key"
#: A closed loopback port: API URLs point here when the sandbox runs without its API server
#: (``api=False``), so nothing run against the sandbox can reach the real WorkMagic API.
UNREACHABLE_API_URL = "http://127.0.0.1:9"


class Sandbox:
    """Loopback S3/STS and GCS servers standing in for WorkMagic, with matching connections.

    :param account_id: WorkMagic account id the sandbox issues a role for.
    :param role_arn: default ``arn:aws:iam::588759585297:role/AmazonS3FolderAccess{account}``.
    :param external_id: default ``ext_id_account_{account}``.
    :param s3_port / gcs_port / api_port: 0 picks free ports.
    :param api: run the WorkMagic API server (Enrich + Orders API); its state is a SQLite file
        (``api_state_path``, default a temporary file) that survives ``sandbox.api.stop()`` /
        ``start()``.
    """

    def __init__(
        self,
        account_id: str = "121226",
        data_category: str = "order-geo-date-data",
        bucket: str = "workmagic-inbound-data",
        region: str = "us-east-1",
        *,
        role_arn: str | None = None,
        external_id: str | None = None,
        host: str = "127.0.0.1",
        s3_port: int = 0,
        gcs_port: int = 0,
        gcp_project: str = DEFAULT_PROJECT,
        workmagic_aws_account: str = WORKMAGIC_AWS_ACCOUNT,
        api: bool = True,
        api_port: int = 0,
        api_state_path: str | None = None,
    ) -> None:
        self.account_id = validate_account_id(account_id)
        self.data_category = data_category
        self.bucket = validate_bucket(bucket)
        self.region = region
        self.gcp_project = gcp_project
        self.role_arn = (
            role_arn
            or f"arn:aws:iam::{workmagic_aws_account}:role/AmazonS3FolderAccess{self.account_id}"
        )
        self.external_id = external_id or f"ext_id_account_{self.account_id}"
        self.aws = AwsSandboxServer(
            bucket=bucket,
            region=region,
            host=host,
            port=s3_port,
            workmagic_aws_account=workmagic_aws_account,
        )
        self.gcs = GcsSandboxServer(bucket=bucket, host=host, port=gcs_port, project=gcp_project)
        self.enrich_api_key = ENRICH_API_KEY
        self.orders_api_key = ORDERS_API_KEY
        self.api: ApiSandboxServer | None = (
            ApiSandboxServer(
                host=host,
                port=api_port,
                state_path=api_state_path,
                enrich_api_key=ENRICH_API_KEY,
                orders_api_key=ORDERS_API_KEY,
            )
            if api
            else None
        )
        self._started = False

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> Sandbox:
        if self._started:
            return self
        try:
            self.aws.start()
            self.gcs.start()
            if self.api is not None:
                self.api.start()
            self.aws.issue_role(self.account_id, self.role_arn, self.external_id)
        except BaseException:
            self.stop()
            raise
        self._started = True
        return self

    def stop(self) -> None:
        self.aws.stop()
        self.gcs.stop()
        if self.api is not None:
            self.api.stop()  # the state file stays until exit: start() again finds the orders
        self._started = False

    def reset(self) -> None:
        """Empty both stores (and moto's other services), keep the issued role and servers."""
        self.aws.reset()
        self.gcs.reset()
        if self.api is not None and self.api.running:
            self.api.reset()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ facts
    @property
    def s3_endpoint(self) -> str:
        return self.aws.endpoint

    @property
    def gcs_endpoint(self) -> str:
        return self.gcs.endpoint

    @property
    def api_endpoint(self) -> str:
        """Base URL of the Enrich and Orders APIs (a closed port when there is no API server)."""
        if self.api is None:
            return UNREACHABLE_API_URL
        return self.api.endpoint

    @property
    def account_prefix(self) -> str:
        return f"account-{self.account_id}/"

    @property
    def writes(self) -> list[S3Write]:
        """Allowed writes into the S3 inbound bucket since the last reset."""
        return self.aws.writes

    @property
    def assumed_roles(self) -> list[AssumeRoleRecord]:
        return self.aws.assumed_roles

    @property
    def denials(self) -> list[Denial]:
        return self.aws.denials

    # ------------------------------------------------------------------ connections
    def connection_dicts(
        self,
        cloud: str = "s3",
        *,
        workmagic_conn_id: str = WORKMAGIC_CONN_ID,
        **workmagic_extra: Any,
    ) -> dict[str, dict[str, Any]]:
        """Airflow connections (as dicts) for the sandbox: customer AWS, customer GCP, WorkMagic.

        ``workmagic_extra`` overrides fields of the WorkMagic connection (e.g.
        ``external_id_secret="wrong"``); a field set to ``None`` is left out.
        """
        endpoint = self.s3_endpoint
        aws = {
            "conn_type": "aws",
            "login": CUSTOMER_ACCESS_KEY_ID,
            "password": CUSTOMER_SECRET_ACCESS_KEY,
            "extra": {
                "region_name": self.region,
                "endpoint_url": endpoint,
                # The amazon provider never uses the global endpoint_url for AssumeRole.
                "service_config": {"sts": {"endpoint_url": endpoint}},
            },
        }
        gcp = {
            "conn_type": "google_cloud_platform",
            "extra": {"is_anonymous": True, "project": self.gcp_project},
        }
        extra: dict[str, Any] = {
            "account_id": self.account_id,
            "data_category": self.data_category,
            "cloud": cloud,
            "bucket": self.bucket,
            "region": self.region,
            "role_arn": self.role_arn,
            "external_id_secret": self.external_id,
            "aws_conn_id": AWS_CONN_ID,
            "gcp_conn_id": GCP_CONN_ID,
            "gcs_account_email": SERVICE_ACCOUNT_EMAIL,
            "enrich_api_url": self._api_url(),
            "orders_api_key": ORDERS_API_KEY,
            "orders_api_url": self._api_url(),
        }
        extra.update(workmagic_extra)
        workmagic = {
            "conn_type": "workmagic",
            "password": ENRICH_API_KEY,
            "extra": {k: v for k, v in extra.items() if v is not None},
        }
        return {AWS_CONN_ID: aws, GCP_CONN_ID: gcp, workmagic_conn_id: workmagic}

    def _api_url(self) -> str:
        # A stopped API server keeps its port: connections stay valid across stop()/start().
        if self.api is None or not self.api.port:
            return UNREACHABLE_API_URL
        return (
            f"http://127.0.0.1:{self.api.port}"
            if self.api.host in ("0.0.0.0", "")
            else f"http://{self.api.host}:{self.api.port}"
        )

    def connections(self, cloud: str = "s3", **overrides: Any) -> dict[str, str]:
        """Connection id -> JSON string for ``AIRFLOW_CONN_<ID>`` (see :meth:`connection_dicts`)."""
        return {
            conn_id: json.dumps(conn)
            for conn_id, conn in self.connection_dicts(cloud, **overrides).items()
        }

    def env(self, cloud: str = "s3", **overrides: Any) -> dict[str, str]:
        """Environment for Airflow processes: ``AIRFLOW_CONN_*`` and ``STORAGE_EMULATOR_HOST``."""
        env = {
            f"AIRFLOW_CONN_{conn_id.upper()}": value
            for conn_id, value in self.connections(cloud, **overrides).items()
        }
        env["STORAGE_EMULATOR_HOST"] = self.gcs_endpoint
        return env
