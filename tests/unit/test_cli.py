"""The ``workmagic-provider`` CLI contract: exit codes, reports, parts, idempotent re-runs."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from workmagic_provider.cli import main
from workmagic_provider.schemas import get_model
from workmagic_sandbox.sample_data import custom_site_orders, write_json_lines

HOUR = "2026-03-08T02:00:00Z"
PREFIX = "account-121226/orders/2026/03/08/02/"


@pytest.fixture
def orders_file(tmp_path: Path) -> Path:
    path = tmp_path / "orders.jsonl"
    write_json_lines(path, custom_site_orders(400))
    return path


@pytest.fixture
def mixed_file(tmp_path: Path) -> Path:
    """Valid orders with three bad ones at known lines (5: bad number, 9: no id, 12: not JSON)."""
    rows = [json.dumps(o) for o in custom_site_orders(20)]
    bad = json.loads(rows[4])
    bad["total_price"] = "twelve"
    rows[4] = json.dumps(bad)
    no_id = json.loads(rows[8])
    del no_id["id"]
    rows[8] = json.dumps(no_id)
    rows[11] = '{"id": "broken",'
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(rows) + "\n")
    return path


def _convert(*extra: str, source: Path, out: Path) -> list[str]:
    return [
        "convert",
        str(source),
        "--schema",
        "custom-site",
        "--account",
        "121226",
        "--category",
        "orders",
        "--hour",
        HOUR,
        "--out",
        str(out),
        *extra,
    ]


def _read_parts(folder: Path) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for part in sorted(folder.iterdir()):
        rows.extend(json.loads(line) for line in gzip.decompress(part.read_bytes()).splitlines())
    return rows


def test_validate_all_valid_exits_0(orders_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(orders_file), "--schema", "custom-site"]) == 0
    assert "400" in capsys.readouterr().out


def test_validate_reports_row_field_reason_and_exits_1(
    mixed_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["validate", str(mixed_file), "--schema", "custom-site", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert report["rows_total"] == 20 and report["rows_rejected"] == 3
    assert report["rows_valid"] == 17
    found = {(e["row"], e["field"]) for e in report["errors"]}
    assert (5, "total_price") in found
    assert (9, "id") in found
    assert any(e["row"] == 12 and "JSON" in e["reason"] for e in report["errors"])


def test_validate_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path / "nope.jsonl"), "--schema", "enrich"]) == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"[1, 2, 3]\n", "JSON array"),
        (b"hello there\nthis is not a table\n", "cannot detect the CSV delimiter"),
    ],
)
def test_validate_unusable_input_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, message: str
) -> None:
    path = tmp_path / "orders.json"
    path.write_bytes(content)
    assert main(["validate", str(path), "--schema", "custom-site"]) == 2
    assert message in capsys.readouterr().err


def test_validate_corrupt_gzip_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "orders.json.gz"
    broken.write_bytes(gzip.compress(b'{"id": "1"}\n' * 100)[:40])
    assert main(["validate", str(broken), "--schema", "custom-site"]) == 2
    assert "gzip" in capsys.readouterr().err


def test_validate_reads_gzip_input(tmp_path: Path, orders_file: Path) -> None:
    packed = tmp_path / "orders.json.gz"
    packed.write_bytes(gzip.compress(orders_file.read_bytes()))
    assert main(["validate", str(packed), "--schema", "custom-site"]) == 0


def test_convert_writes_parts_in_the_hour_folder(
    orders_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert main(_convert("--max-part-bytes", "8000", source=orders_file, out=out)) == 0
    summary = json.loads(capsys.readouterr().out)
    folder = out / PREFIX
    names = sorted(p.name for p in folder.iterdir())
    assert summary["rows"] == 400 and summary["rejected"] == 0
    assert len(summary["parts"]) == len(names) > 1
    count = len(names)
    assert names[0].startswith("2026-03-08-02-upload-")
    assert names[0].endswith(f"-0001of{count:04d}.json.gz")
    assert sum(p["rows"] for p in summary["parts"]) == 400
    for part in summary["parts"]:
        assert Path(part["path"]).stat().st_size == part["bytes"] < 8_000
    # rows read back equal the rows written, in order
    model = get_model("custom-site")
    written = [model.model_validate_json(line) for line in orders_file.read_bytes().splitlines()]
    back = [model.model_validate(row) for row in _read_parts(folder)]
    assert back == written


def test_convert_rerun_overwrites_and_removes_stale_parts(
    orders_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    folder = out / PREFIX
    folder.mkdir(parents=True)
    (folder / "customer-own-file.json.gz").write_bytes(b"keep me")
    assert main(_convert("--max-part-bytes", "6000", source=orders_file, out=out)) == 0
    many = sorted(p.name for p in folder.iterdir())
    first_bytes = sorted((folder / n).read_bytes() for n in many)
    assert main(_convert("--max-part-bytes", "6000", source=orders_file, out=out)) == 0
    again = sorted(p.name for p in folder.iterdir())
    assert len(again) == len(many) and not set(again) & (set(many) - {"customer-own-file.json.gz"})
    assert sorted((folder / n).read_bytes() for n in again) == first_bytes  # same bytes, new run
    capsys.readouterr()
    assert main(_convert(source=orders_file, out=out)) == 0
    summary = json.loads(capsys.readouterr().out)
    left = sorted(p.name for p in folder.iterdir())
    assert left[1] == "customer-own-file.json.gz" and len(left) == 2
    assert left[0].startswith("2026-03-08-02-upload-") and left[0].endswith("-0001of0001.json.gz")
    assert len(summary["removed_stale"]) == len(again) - 1
    assert len(_read_parts_of(folder, "upload")) == 400


def _read_parts_of(folder: Path, flow: str) -> list[bytes]:
    lines: list[bytes] = []
    for part in sorted(folder.glob(f"*-{flow}-*.json.gz")):
        lines.extend(gzip.decompress(part.read_bytes()).splitlines())
    return lines


def test_convert_skip_writes_valid_rows_and_keeps_rejected(
    mixed_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, rejected = tmp_path / "out", tmp_path / "rejected.jsonl"
    code = main(_convert("--rejected", str(rejected), source=mixed_file, out=out))
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert code == 1
    assert summary["rows"] == 20 and summary["rejected"] == 3 and summary["rows_written"] == 17
    assert "row 5" in captured.err and "total_price" in captured.err
    lines = mixed_file.read_bytes().splitlines()
    assert rejected.read_bytes().splitlines() == [lines[4], lines[8], lines[11]]
    ids = [row["id"] for row in _read_parts(out / PREFIX)]
    assert len(ids) == 17 and "broken" not in ids


def test_convert_fail_writes_nothing(
    mixed_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert main(_convert("--on-invalid", "fail", source=mixed_file, out=out)) == 1
    summary = json.loads(capsys.readouterr().out)
    assert summary["parts"] == [] and summary["rejected"] == 3
    assert not (out / PREFIX).exists()


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--account", "abc", "account id must be digits"),
        ("--category", "{DATA_TYPE}", "data category"),
        ("--hour", "2026-03-08T02:00:00", "time zone"),
    ],
)
def test_convert_bad_arguments_exit_2(
    orders_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    flag: str,
    value: str,
    message: str,
) -> None:
    argv = _convert(source=orders_file, out=tmp_path / "out")
    argv[argv.index(flag) + 1] = value
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_path_prints_prefix(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["path", "--account", "121226", "--category", "orders", "--hour", HOUR]) == 0
    assert capsys.readouterr().out.strip() == PREFIX


def test_console_script_is_installed(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("workmagic-provider")
    done = subprocess.run(
        [str(script), "path", "--account", "7", "--category", "c", "--hour", "2027-01-01T00:30Z"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "account-7/c/2027/01/01/00/"


def test_setup_sql_prints_the_integration_for_the_account(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import sqlglot

    role = "arn:aws:iam::588759585297:role/AmazonS3FolderAccess121226"
    argv = ["setup-sql", "snowflake", "--account", "121226", "--role-arn", role]
    assert main([*argv, "--external-id", "ext_id_account_121226"]) == 0
    out = capsys.readouterr().out
    assert "s3://workmagic-inbound-data/account-121226/" in out
    assert "STORAGE_AWS_EXTERNAL_ID = 'ext_id_account_121226'" in out  # asked for: printed
    code = "\n".join(line for line in out.splitlines() if not line.startswith("--"))
    statements = [s for s in code.split(";") if s.strip()]
    assert any(s.strip().startswith("CREATE STORAGE INTEGRATION") for s in statements)
    assert all(sqlglot.parse_one(s, read="snowflake") for s in statements)
    assert main([*argv, "--external-id", "x'; DROP TABLE t; --"]) == 2


def test_validate_and_convert_import_no_airflow_and_only_the_schema_they_use(
    tmp_path: Path,
) -> None:
    """The CLI on a laptop: no Airflow, and a custom-site file builds only the custom-site model."""
    data = tmp_path / "orders.jsonl"
    data.write_text("".join(json.dumps(order) + "\n" for order in custom_site_orders(3)))
    code = (
        "import sys\n"
        "from workmagic_provider.cli import main\n"
        f"assert main(['validate', '--schema', 'custom-site', {str(data)!r}]) == 0\n"
        "assert main(['convert', '--schema', 'custom-site', '--account', '1', '--category', 'c',"
        f" '--hour', '2026-03-08T02:00:00Z', '--out', {str(tmp_path / 'out')!r}, {str(data)!r}])"
        " == 0\n"
        "loaded = [m for m in ('airflow', 'workmagic_provider.schemas.imported',"
        " 'workmagic_provider.schemas.enrich') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
