"""OpenLineage of the object-store operators, each run for real on moto / the GCS emulator.

After ``execute`` the operator is asked what the openlineage provider asks after a success:
sync (the customer's hour folder -> WorkMagic's), uploads and the file import (the files read
-> the hour folder), the audit (WorkMagic's category folder, read only).
"""

from __future__ import annotations

import gzip
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from dag_helpers import REPO_ROOT
from test_sync_delivery import HOUR, Cloud, folder, gz, lines

pytestmark = pytest.mark.integration

CATEGORY = "account-121226/order-geo-date-data"
HOUR_FOLDER = f"{CATEGORY}/2026/03/08/02"
CONTEXT: Any = {"data_interval_start": HOUR, "data_interval_end": HOUR + timedelta(hours=1)}


@pytest.fixture(params=["s3", "gcs"])
def cloud(request: Any, customer: Any, sandbox: Any, airflow_connections: Any) -> Cloud:
    if request.param == "gcs":
        airflow_connections(cloud="gcs")
    return Cloud(request.param, customer, sandbox)


def _names(datasets: Any) -> list[tuple[str, str]]:
    return [(d.namespace, d.name) for d in datasets]


def _scheme(cloud: Cloud) -> str:
    return "s3" if cloud.name == "s3" else "gs"


def test_sync_names_the_source_and_destination_hour_folders(cloud: Cloud) -> None:
    cloud.put(HOUR, "orders.json.gz", gz(lines(3, seed=1)))
    late = HOUR - timedelta(hours=1)  # a file that landed after its hour's run
    cloud.put(late, "late.json.gz", gz(lines(2, seed=2)))
    quiet = HOUR - timedelta(hours=2)  # re-checked, nothing new: not part of the run's lineage
    operator = cloud.operator(recheck_hours=2)
    operator.execute(CONTEXT)

    lineage = operator.get_openlineage_facets_on_complete(None)

    source = f"{_scheme(cloud)}://{cloud.customer.bucket}"
    inbound = f"{_scheme(cloud)}://{cloud.sandbox.bucket}"
    assert _names(lineage.inputs) == [
        (source, f"exports/{folder(HOUR)}".rstrip("/")),
        (source, f"exports/{folder(late)}".rstrip("/")),
    ]
    assert _names(lineage.outputs) == [
        (inbound, f"{CATEGORY}/{folder(HOUR)}".rstrip("/")),
        (inbound, f"{CATEGORY}/{folder(late)}".rstrip("/")),
    ]
    assert all(folder(quiet).rstrip("/") not in name for _, name in _names(lineage.inputs))


@pytest.mark.parametrize("flavour", ["s3", "gcs"])
def test_upload_names_the_file_it_read_and_the_hour_folder(
    flavour: str, clean_sandbox: Any, airflow_connections: Any, tmp_path: Path
) -> None:
    from workmagic_provider.operators.gcs import GCSUploadToWorkMagicOperator
    from workmagic_provider.operators.s3 import S3UploadToWorkMagicOperator

    export = tmp_path / "02.jsonl.gz"
    export.write_bytes(gzip.compress(lines(4, seed=3)))
    kind = S3UploadToWorkMagicOperator if flavour == "s3" else GCSUploadToWorkMagicOperator
    operator = kind(task_id="upload", source=str(export))
    operator.execute(CONTEXT)

    lineage = operator.get_openlineage_facets_on_complete(None)

    assert _names(lineage.inputs) == [("file", str(export))]
    scheme = "s3" if flavour == "s3" else "gs"
    assert _names(lineage.outputs) == [(f"{scheme}://{clean_sandbox.bucket}", HOUR_FOLDER)]


def test_upload_from_the_customers_bucket_names_its_object(
    clean_sandbox: Any, customer: Any, airflow_connections: Any
) -> None:
    from workmagic_provider.operators.s3 import S3UploadToWorkMagicOperator

    key = "exports/2026/03/08/02.jsonl"
    customer.s3_client().put_object(Bucket=customer.bucket, Key=key, Body=lines(2, seed=4))
    source = f"s3://customer_source_aws@{customer.bucket}/{key}"
    operator = S3UploadToWorkMagicOperator(task_id="upload", source=source)
    operator.execute(CONTEXT)

    lineage = operator.get_openlineage_facets_on_complete(None)

    assert _names(lineage.inputs) == [(f"s3://{customer.bucket}", key)]


def test_file_import_names_the_files_the_glob_matched(
    clean_sandbox: Any, airflow_connections: Any, tmp_path: Path
) -> None:
    from workmagic_provider.operators.files import OrderFileToWorkMagicOperator

    landing = tmp_path / "landing"
    landing.mkdir()
    shutil.copy(REPO_ROOT / "tests/data/files/imported_comma.csv", landing / "sales.csv")
    (landing / "README.txt").write_text("not matched by the glob")
    operator = OrderFileToWorkMagicOperator(task_id="import", source=str(landing / "*.csv"))
    operator.execute(CONTEXT)

    lineage = operator.get_openlineage_facets_on_complete(None)

    assert _names(lineage.inputs) == [("file", str(landing / "sales.csv"))]
    assert _names(lineage.outputs) == [(f"s3://{clean_sandbox.bucket}", HOUR_FOLDER)]


def test_audit_reads_the_category_folder_and_writes_nothing(
    clean_sandbox: Any, airflow_connections: Any
) -> None:
    from workmagic_provider.operators.audit import WorkMagicAuditOperator
    from workmagic_provider.operators.s3 import S3UploadToWorkMagicOperator

    S3UploadToWorkMagicOperator(task_id="upload", rows=[_order()]).execute(CONTEXT)
    operator = WorkMagicAuditOperator(task_id="audit")
    operator.execute(CONTEXT)

    lineage = operator.get_openlineage_facets_on_complete(None)

    assert _names(lineage.inputs) == [(f"s3://{clean_sandbox.bucket}", CATEGORY)]
    assert lineage.outputs == []


def _order() -> dict[str, Any]:
    return {
        "id": "1001",
        "created_at": "2026-03-08T02:10:00Z",
        "updated_at": "2026-03-08T02:10:00Z",
        "total_price": 12.5,
    }
