"""The audit reads WorkMagic's bucket (moto S3 through the assumed role, the GCS emulator) and
names exactly the hours that are missing or hold files WorkMagic would skip."""

from __future__ import annotations

import gzip
import json
import os
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from dag_helpers import run_hour, xcom_return

from workmagic_provider.audit import audit_range
from workmagic_provider.cli import main
from workmagic_provider.hooks.workmagic import WorkMagicHook
from workmagic_provider.operators.base import destination_store
from workmagic_provider.standards import HARD_LIMIT_BYTES, HourFolder

pytestmark = pytest.mark.integration

ACCOUNT, CATEGORY = "121226", "order-geo-date-data"
H0 = datetime(2026, 3, 8, 0, tzinfo=timezone.utc)
HOURS = [H0 + timedelta(hours=i) for i in range(4)]
GOOD = gzip.compress(b'{"id": "1001", "total_price": 12.5}\n{"id": "1002", "total_price": 3}\n')


def _prefix(hour: datetime) -> str:
    return HourFolder(ACCOUNT, CATEGORY, hour).prefix


def _put(sandbox: Any, cloud: str, key: str, data: bytes) -> None:
    """Write as WorkMagic (admin), not through the code under test."""
    if cloud == "s3":
        sandbox.aws.admin_client().put_object(Bucket=sandbox.bucket, Key=key, Body=data)
    else:
        sandbox.gcs.client().bucket(sandbox.bucket).blob(key).upload_from_string(data)


def _label(hour: datetime) -> str:
    return hour.strftime("%Y-%m-%dT%H:00Z")


@pytest.mark.parametrize("cloud", ["s3", "gcs"])
def test_cli_names_exactly_the_missing_hour_and_the_csv_hour(
    cloud: str, clean_sandbox: Any, airflow_connections: Any, capsys: Any
) -> None:
    airflow_connections(cloud)
    sandbox = clean_sandbox
    _put(sandbox, cloud, _prefix(HOURS[0]) + "2026-03-08-00-upload-0000.json.gz", GOOD)
    # HOURS[1]: nothing at all
    _put(sandbox, cloud, _prefix(HOURS[2]) + "orders.csv", b"id,total_price\n1001,12.5\n")
    _put(sandbox, cloud, _prefix(HOURS[3]) + "orders_0001.json.gz", GOOD)

    span = ["--from", "2026-03-08T00:00:00Z", "--to", "2026-03-08T03:00:00Z"]
    code = main(["audit", "--conn-id", "workmagic_default", *span, "--json"])

    out = json.loads(capsys.readouterr().out)
    assert code == 1
    assert out["missing_hours"] == [_label(HOURS[1])]
    assert out["problem_hours"] == [_label(HOURS[2])]
    assert out["hours"] == 4 and out["files"] == 3
    scheme = "s3" if cloud == "s3" else "gs"
    assert out["location"] == f"{scheme}://{sandbox.bucket}/account-{ACCOUNT}/{CATEGORY}/"
    (csv_hour,) = [h for h in out["per_hour"] if h["hour"] == _label(HOURS[2])]
    (csv,) = csv_hour["objects"]
    assert csv["name"] == "orders.csv" and not csv["gzip"] and not csv["ok"]
    assert csv["bytes"] == len(b"id,total_price\n1001,12.5\n")
    good = [o for h in out["per_hour"] for o in h["objects"] if o["ok"]]
    assert [(o["bytes"], o["gzip"], o["json_lines"]) for o in good] == [(len(GOOD), True, True)] * 2


def test_cli_exits_0_when_every_hour_is_readable(
    clean_sandbox: Any, airflow_connections: Any, capsys: Any
) -> None:
    for hour in HOURS[:2]:
        _put(clean_sandbox, "s3", _prefix(hour) + "part.json.gz", GOOD)

    code = main(["audit", "--from", "2026-03-08T00:00:00Z", "--to", "2026-03-08T01:59:00Z"])

    out = capsys.readouterr().out
    assert code == 0, out
    assert "all 2 hour(s) hold files WorkMagic can read" in out


@pytest.mark.parametrize(
    "args",
    [
        ["--from", "2026-03-08T03:00:00Z", "--to", "2026-03-08T00:00:00Z"],  # ends before start
        ["--from", "2026-03-08T00:00:00", "--to", "2026-03-08T03:00:00Z"],  # no time zone
        ["--from", "2026-03-08T00:00:00Z", "--to", "2026-03-08T03:00:00Z", "--conn-id", "nope"],
        ["--from", "2026-03-08T00:00:00Z", "--to", "2026-03-08T03:00:00Z", "--category", "a/b"],
    ],
)
def test_cli_unusable_arguments_exit_2(
    args: list[str], clean_sandbox: Any, airflow_connections: Any, capsys: Any
) -> None:
    assert main(["audit", *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines()[-1].startswith("error: ")


def test_cli_refused_role_exits_2_without_the_secret(
    clean_sandbox: Any, airflow_connections: Any, capsys: Any
) -> None:
    airflow_connections(external_id_secret="ext_id_account_121226_WRONG")
    code = main(["audit", "--from", "2026-03-08T00:00:00Z", "--to", "2026-03-08T00:00:00Z"])
    err = capsys.readouterr().err
    assert code == 2
    assert "External ID" in err and "ext_id_account_121226_WRONG" not in err


@pytest.mark.parametrize("cloud", ["s3", "gcs"])
def test_oversized_and_not_gzip_files_are_named_from_a_ranged_head(
    cloud: str, clean_sandbox: Any, airflow_connections: Any
) -> None:
    airflow_connections(cloud)
    prefix = _prefix(H0)
    # valid JSON Lines, but random (incompressible) padding makes it larger than the limit
    pad = os.urandom(HARD_LIMIT_BYTES).hex()
    big = gzip.compress(b'{"id": "1"}\n' + json.dumps({"pad": pad}).encode() + b"\n")
    assert len(big) >= HARD_LIMIT_BYTES
    plain = b'{"id": "1001", "total_price": 12.5}\n'
    for name, data in [("big.json.gz", big), ("plain.json.gz", plain), ("ok.json.gz", GOOD)]:
        _put(clean_sandbox, cloud, prefix + name, data)
    _put(clean_sandbox, cloud, prefix + "_rejected/rows.json.gz", GOOD)

    hook = WorkMagicHook()
    (hour,) = audit_range(destination_store(hook), ACCOUNT, CATEGORY, H0, H0).hours

    checks = {f.name: f for f in hour.files}
    assert sorted(checks) == [
        "_rejected/rows.json.gz",
        "big.json.gz",
        "ok.json.gz",
        "plain.json.gz",
    ]
    assert [f.name for f in hour.skipped_files] == [
        "_rejected/rows.json.gz",
        "big.json.gz",
        "plain.json.gz",
    ]
    (too_big,) = checks["big.json.gz"].problems
    assert f"{len(big):,} bytes, at or over the 1,500,000-byte limit" == too_big
    assert checks["big.json.gz"].gzip and checks["big.json.gz"].json_lines
    assert checks["big.json.gz"].head_bytes_read <= 16 * 1024  # a ranged read, not the object
    assert checks["plain.json.gz"].problems[0].startswith("not gzip")
    assert checks["_rejected/rows.json.gz"].problems == (
        "not directly in the hour folder (WorkMagic skips other paths)",
    )
    assert checks["ok.json.gz"].ok and hour.bytes == len(big) + len(plain) + 2 * len(GOOD)


AUDIT_DAG = """
from datetime import datetime, timedelta, timezone

from airflow.sdk import DAG, CronDataIntervalTimetable

from workmagic_provider.operators.audit import WorkMagicAuditOperator

with DAG(
    dag_id="{dag_id}",
    schedule=CronDataIntervalTimetable("0 * * * *", timezone="UTC"),
    start_date=datetime(2026, 3, 1, tzinfo=timezone.utc),
    catchup=False,
) as dag:
    WorkMagicAuditOperator(
        task_id="audit", hours_back=2, on_problem="{on_problem}", retries=2,
        retry_delay=timedelta(seconds=1),
    )
"""


@pytest.mark.parametrize("on_problem", ["fail", "warn"])
def test_operator_in_a_dag_run_names_the_missing_hour(
    on_problem: str,
    clean_sandbox: Any,
    airflow_connections: Any,
    load_dag_file: Any,
    airflow_db: Any,
    capfd: Any,
) -> None:
    for hour in (HOURS[0], HOURS[2]):  # HOURS[1] never delivered
        _put(clean_sandbox, "s3", _prefix(hour) + "part.json.gz", GOOD)
    dag_id = f"wm_audit_{on_problem}"
    dag = load_dag_file(AUDIT_DAG.format(dag_id=dag_id, on_problem=on_problem), dag_id)

    run = run_hour(dag, HOURS[2])

    logged = "".join(capfd.readouterr())
    assert f"missing hours: {_label(HOURS[1])}" in logged
    if on_problem == "fail":
        assert run.state == "failed"
        assert run.get_task_instance("audit").try_number == 1
    else:
        assert run.state == "success"
        summary = xcom_return(run, "audit")
        assert summary["missing_hours"] == [_label(HOURS[1])] and summary["problem_hours"] == []
        assert summary["hours"] == 3 and summary["files"] == 2 and not summary["ok"]
