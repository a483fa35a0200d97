"""The customer's own buckets: the source side of the sync flows, next to the sandbox.

WorkMagic's "use your own bucket" option reads from the customer's storage with the customer's
credentials and writes to WorkMagic's bucket as WorkMagic's role. Here the customer's S3 is a
separate plain moto server (its own port, so a test can stop WorkMagic's side alone), and the
customer's GCS bucket lives in the sandbox's GCS emulator.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from workmagic_sandbox.launcher import (
    CUSTOMER_ACCESS_KEY_ID,
    CUSTOMER_SECRET_ACCESS_KEY,
    GCP_CONN_ID,
)
from workmagic_sandbox.local_airflow import free_port

if TYPE_CHECKING:
    from workmagic_sandbox.launcher import Sandbox

#: Airflow connection id of the customer's source S3 (a plain AWS connection).
SOURCE_AWS_CONN_ID = "customer_source_aws"


class CustomerStorage:
    """A customer bucket on plain moto (S3) and in the sandbox's GCS emulator."""

    def __init__(
        self, sandbox: Sandbox, bucket: str = "customer-orders", host: str = "127.0.0.1"
    ) -> None:
        self.sandbox = sandbox
        self.bucket = bucket
        self.host = host
        self.port = 0
        self._server: Any = None

    def start(self) -> CustomerStorage:
        from moto.server import ThreadedMotoServer

        self.port = self.port or free_port(self.host)
        self._server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
        self._server.start()
        self.create_buckets()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> CustomerStorage:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def create_buckets(self) -> None:
        """(Re-)create the bucket on both clouds (after a sandbox reset wiped moto's state)."""
        client = self.s3_client()
        with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
            client.create_bucket(Bucket=self.bucket)
        self.sandbox.gcs.create_bucket(self.bucket)

    @property
    def s3_endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def s3_client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.s3_endpoint,
            region_name=self.sandbox.region,
            aws_access_key_id=CUSTOMER_ACCESS_KEY_ID,
            aws_secret_access_key=CUSTOMER_SECRET_ACCESS_KEY,
        )

    def gcs_bucket(self) -> Any:
        """A google-cloud-storage bucket handle on the emulator (anonymous, as in the tests)."""
        return self.sandbox.gcs.client().bucket(self.bucket)

    def connection_dicts(self) -> dict[str, dict[str, Any]]:
        """The customer's source S3 connection (GCS reuses the sandbox's Google connection)."""
        return {
            SOURCE_AWS_CONN_ID: {
                "conn_type": "aws",
                "login": CUSTOMER_ACCESS_KEY_ID,
                "password": CUSTOMER_SECRET_ACCESS_KEY,
                "extra": {"region_name": self.sandbox.region, "endpoint_url": self.s3_endpoint},
            }
        }

    @property
    def gcp_conn_id(self) -> str:
        return GCP_CONN_ID
