"""Parallel validation: same parts, reports and rejected rows as one process; failures loud."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from workmagic_provider.exceptions import WorkMagicConfigError, WorkMagicError
from workmagic_provider.files import parallel
from workmagic_provider.files.parallel import (
    ParallelStats,
    default_workers,
    resolve_workers,
    usable_cpus,
    validate_json_batches,
)
from workmagic_provider.files.part_writer import PartWriter
from workmagic_provider.files.pipeline import upload_lines
from workmagic_provider.files.sinks import LocalDirSink
from workmagic_provider.sandbox.sample_data import custom_site_orders
from workmagic_provider.schemas import ValidationReport, validate_json_lines
from workmagic_provider.schemas.batch import Batch, BatchValidator
from workmagic_provider.standards import HourFolder, parse_hour

FOLDER = HourFolder("121226", "orders", parse_hour("2026-03-08T02:00:00Z"))


def mixed_lines(count: int) -> list[tuple[int, bytes]]:
    """Orders with every kind of bad row sprinkled in (row numbers skip like blank lines do)."""
    lines: list[tuple[int, bytes]] = []
    number = 0
    for index, order in enumerate(custom_site_orders(count)):
        number += 2 if index % 97 == 0 else 1  # a "blank line" now and then
        if index % 53 == 5:
            order["total_price"] = "twelve"
        elif index % 61 == 7:
            del order["id"]
        elif index % 67 == 9:
            order["shipping_address"]["country_code"] = "us"
            order["line_items"][0]["quantity"] = -1
        elif index % 71 == 11:
            order["created_at"] = "2026-03-08T02:00:00"  # no zone
        elif index % 73 == 13:
            order["created_at"] = "2026-03-08T04:00:00+02:00"  # converted to UTC
            order["extra_field"] = {"nested": [1, 2, None]}
        if index % 79 == 15:
            raw = b'{"id": "broken",'
        elif index % 83 == 17:
            raw = b"[1, 2, 3]"
        else:
            raw = json.dumps(order).encode()
        lines.append((number, raw))
    return lines


def _wait(condition: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def _workers_ready(before: set[int]) -> bool:
    """Every worker started since ``before`` runs its reader thread, i.e. has said "ready"."""
    started = _children() - before
    return bool(started) and all(len(os.listdir(f"/proc/{pid}/task")) >= 2 for pid in started)


def waiting_for_workers(lines: list[tuple[int, Any]], at: int = 1200) -> Iterator[tuple[int, Any]]:
    """``lines``, pausing at line ``at`` until the workers are ready: however slow the machine,
    the workers then really validate part of the input (and the test is deterministic)."""
    before = _children()
    for index, item in enumerate(lines):
        if index == at:
            _wait(lambda: _workers_ready(before))
        yield item


def run_upload(
    lines: list[tuple[int, Any]], root: Path, workers: int, **kwargs: Any
) -> tuple[dict[str, bytes], dict[str, Any], list[tuple[int, bytes]]]:
    rejected: list[tuple[int, bytes]] = []
    report = ValidationReport("custom-site", max_errors=50)
    result = upload_lines(
        waiting_for_workers(lines) if workers else iter(lines),
        schema="custom-site",
        folder=FOLDER,
        flow="upload",
        sink=LocalDirSink(root, FOLDER.prefix),
        on_invalid="skip",
        rejected=lambda row, raw: rejected.append((row, raw)),
        report=report,
        workers=workers,
        **kwargs,
    )
    folder = root / FOLDER.prefix
    parts = {p.name: p.read_bytes() for p in sorted(folder.iterdir())}
    assert result.workers == (workers if workers else 0)
    return parts, {**report.to_dict(), "summary_rows": result.summary()["rows"]}, rejected


def test_parallel_output_is_byte_identical_to_one_process(tmp_path: Path) -> None:
    lines = mixed_lines(3000)  # ~3 MiB: several batches, so the workers really run
    parts0, report0, rejected0 = run_upload(lines, tmp_path / "p0", 0, max_part_bytes=40_000)
    parts2, report2, rejected2 = run_upload(lines, tmp_path / "p2", 2, max_part_bytes=40_000)
    assert len(parts0) > 3
    assert list(parts2.values()) == list(parts0.values())  # names differ: one generation each
    assert report2 == report0
    assert rejected2 == rejected0
    assert report0["rows_rejected"] == len(rejected0) > 100
    assert report0["errors_dropped"] > 0  # the cap is applied the same way


def test_batches_match_the_row_by_row_reference(tmp_path: Path) -> None:
    """Batches + write_block give exactly what validate_json_lines + write gave before."""
    lines = mixed_lines(1500)
    ref_report = ValidationReport("custom-site", max_errors=30)
    ref_rejected: list[tuple[int, bytes]] = []
    ref_parts: dict[str, bytes] = {}
    writer = PartWriter(
        lambda i: f"p{i}", lambda n, d: ref_parts.setdefault(n, d), max_part_bytes=50_000
    )
    for row in validate_json_lines(
        lines,
        "custom-site",
        report=ref_report,
        rejected=lambda row, raw: ref_rejected.append((row, raw)),
    ):
        writer.write(row)
    writer.close()

    for workers in (0, 1, 3):
        parts, report, rejected, stats = _batched(lines, workers)
        assert stats.workers == workers
        assert (stats.remote_batches > 0) == (workers > 0)
        assert parts == ref_parts
        assert report.to_dict() == ref_report.to_dict()
        assert rejected == ref_rejected


def _batched(
    lines: list[tuple[int, bytes]], workers: int
) -> tuple[dict[str, bytes], ValidationReport, list[tuple[int, bytes]], ParallelStats]:
    report = ValidationReport("custom-site", max_errors=30)
    rejected: list[tuple[int, bytes]] = []
    parts: dict[str, bytes] = {}
    writer = PartWriter(
        lambda i: f"p{i}", lambda n, d: parts.setdefault(n, d), max_part_bytes=50_000
    )
    stats = ParallelStats()
    for batch in validate_json_batches(
        waiting_for_workers(lines, at=400) if workers else lines,
        "custom-site",
        report=report,
        rejected=lambda row, raw: rejected.append((row, raw)),
        workers=workers,
        stats=stats,
        batch_bytes=40_000,  # many small batches
    ):
        writer.write_block(batch.data, batch.rows)
    writer.close()
    return parts, report, rejected, stats


def test_str_lines_and_newlines_inside_a_record(tmp_path: Path) -> None:
    orders = list(custom_site_orders(300))
    lines: list[tuple[int, Any]] = [
        (n, json.dumps(o, indent=2) if n % 2 else json.dumps(o).encode())
        for n, o in enumerate(orders, 1)
    ]
    lines.append((301, "\ud800 not json"))  # a lone surrogate is a bad row, not a crash
    got: list[bytes] = []
    report = ValidationReport("custom-site")
    rejected: list[tuple[int, bytes]] = []
    for batch in validate_json_batches(
        lines,
        "custom-site",
        report=report,
        workers=1,
        batch_bytes=20_000,
        rejected=lambda row, raw: rejected.append((row, raw)),
    ):
        got.extend(batch.data.splitlines())
    expected = list(validate_json_lines(lines[:-1], "custom-site", report=ValidationReport("x")))
    assert got == expected
    assert report.rows_valid == 300 and report.rows_rejected == 1
    assert [row for row, _ in rejected] == [301]


def test_reader_errors_stay_in_row_order(tmp_path: Path) -> None:
    """A reader that reports a row itself (and drops it) interleaves with validation errors."""
    lines = mixed_lines(2000)

    def run(workers: int) -> dict[str, Any]:
        report = ValidationReport("custom-site")

        def reader() -> Iterator[tuple[int, bytes]]:
            for row, raw in lines:
                if row % 250 == 0:
                    report.add(row, "<row>", "too many columns")
                    continue
                yield row, raw

        upload_lines(
            reader(),
            schema="custom-site",
            folder=FOLDER,
            flow="upload",
            sink=LocalDirSink(tmp_path / f"w{workers}", FOLDER.prefix),
            on_invalid="skip",
            report=report,
            workers=workers,
        )
        return report.to_dict()

    sequential, parallel_ = run(0), run(2)
    assert parallel_ == sequential
    rows = [error["row"] for error in sequential["errors"]]
    assert rows == sorted(rows)
    assert any(error["reason"] == "too many columns" for error in sequential["errors"])


def test_input_is_read_only_a_bounded_way_ahead() -> None:
    lines = mixed_lines(2000)
    pulled = 0

    def source() -> Iterator[tuple[int, bytes]]:
        nonlocal pulled
        for item in lines:
            pulled += 1
            yield item

    batch_rows = 20
    batches = validate_json_batches(
        source(),
        "custom-site",
        report=ValidationReport("custom-site"),
        workers=2,
        batch_rows=batch_rows,
    )
    seen = 0
    for _ in batches:
        seen += 1
        # in flight: 2 workers x AHEAD, LOCAL_AHEAD here, one being packed, two read ahead
        bound = (2 * parallel.AHEAD + parallel.LOCAL_AHEAD + 3 + seen) * batch_rows
        assert pulled <= bound
    assert pulled == len(lines) and seen == 100


def _children() -> set[int]:
    me = str(os.getpid())
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if fields[1] == me and fields[0] != "Z":
                found.add(int(entry.name))
    return found


pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")


def test_killed_worker_is_a_clear_error_and_nothing_is_published(tmp_path: Path) -> None:
    lines = mixed_lines(3000)
    before = _children()

    def source() -> Iterator[tuple[int, bytes]]:
        for index, item in enumerate(lines):
            if index == 2000:
                (pid,) = _children() - before
                deadline = time.monotonic() + 30
                while len(os.listdir(f"/proc/{pid}/task")) < 2:  # its reader thread: it is ready
                    assert time.monotonic() < deadline
                    time.sleep(0.01)
                os.kill(pid, signal.SIGKILL)
                time.sleep(0.2)
            yield item

    sink = LocalDirSink(tmp_path, FOLDER.prefix)
    with pytest.raises(WorkMagicError, match=r"worker 0 \(pid \d+\) was killed by SIGKILL") as err:
        upload_lines(
            source(), schema="custom-site", folder=FOLDER, flow="upload", sink=sink, workers=1
        )
    assert "nothing was published" in str(err.value)
    assert sink.names() == []
    assert _children() - before == set()  # no worker left behind


def test_a_worker_that_cannot_start_is_left_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    lines = mixed_lines(2000)
    expected = run_upload(lines, tmp_path / "p0", 0)
    monkeypatch.setattr(parallel, "_BOOTSTRAP", "import sys; sys.exit(3)")
    rejected: list[tuple[int, bytes]] = []
    report = ValidationReport("custom-site", max_errors=50)
    before = _children()

    def source() -> Iterator[tuple[int, bytes]]:
        for index, item in enumerate(lines):
            if index == 1200:  # the workers were started; let them fail
                _wait(lambda: not _children() - before)
            yield item

    result = upload_lines(
        source(),
        schema="custom-site",
        folder=FOLDER,
        flow="upload",
        sink=LocalDirSink(tmp_path / "p1", FOLDER.prefix),
        rejected=lambda row, raw: rejected.append((row, raw)),
        report=report,
        on_invalid="skip",
        workers=2,
    )
    assert result.workers == 0
    folder = tmp_path / "p1" / FOLDER.prefix
    assert [p.read_bytes() for p in sorted(folder.iterdir())] == list(expected[0].values())
    assert rejected == expected[2]
    assert (
        "exited with code 3 (its error is in the log above) while starting; going on" in caplog.text
    )


def test_worker_exception_is_reported_with_its_rows() -> None:
    validator = BatchValidator("custom-site")
    worker = parallel._Worker(0)
    try:
        worker.start(validator.settings())
        from array import array

        broken = Batch(array("q", [7, 8]), array("q", [2]), b"{}")  # lengths do not match rows
        worker.send(broken)
        with pytest.raises(WorkMagicError, match=r"failed on rows 7-8: ValueError"):
            worker.receive(broken)
    finally:
        worker.stop(kill=True)
    assert worker.process.returncode is not None


def test_abandoned_iterator_stops_the_workers() -> None:
    before = _children()
    batches = validate_json_batches(
        mixed_lines(2000),
        "custom-site",
        report=ValidationReport("custom-site"),
        workers=2,
        batch_rows=50,
    )
    next(batches)
    next(batches)
    assert _children() - before  # workers are running
    batches.close()
    assert _children() - before == set()


def test_one_batch_never_starts_a_process() -> None:
    stats = ParallelStats()
    out = list(
        validate_json_batches(
            mixed_lines(100),
            "custom-site",
            report=ValidationReport("custom-site"),
            workers=4,
            stats=stats,
        )
    )
    assert len(out) == 1 and stats.workers == 0 and stats.pids == []


@pytest.mark.parametrize("bad", [-1, True, 1.5, "2"])
def test_workers_must_be_a_count(bad: Any) -> None:
    with pytest.raises(WorkMagicConfigError, match="workers must be"):
        resolve_workers(bad)


def test_automatic_workers_leave_this_process_a_cpu() -> None:
    assert usable_cpus() >= 1
    assert 0 <= default_workers() <= min(parallel.MAX_AUTO_WORKERS, usable_cpus() - 1 or 0)
    assert resolve_workers(None) == default_workers()
    assert resolve_workers(0) == 0


def test_worker_code_imports_without_airflow() -> None:
    """Workers start in a fraction of a second because the schemas do not import Airflow."""
    code = (
        "import sys; import workmagic_provider.schemas.batch; "
        "print(any(m == 'airflow' or m.startswith('airflow.') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_cli_convert_workers_give_the_same_parts(tmp_path: Path) -> None:
    from workmagic_provider.cli import main

    source = tmp_path / "orders.jsonl"
    source.write_bytes(b"\n".join(raw for _, raw in mixed_lines(2500)) + b"\n")
    outputs = []
    for workers in ("0", "2"):
        out = tmp_path / f"out{workers}"
        argv = ["convert", str(source), "--schema", "custom-site", "--account", "121226"]
        argv += ["--category", "orders", "--hour", "2026-03-08T02:00:00Z", "--out", str(out)]
        argv += ["--workers", workers, "--rejected", str(tmp_path / f"rejected{workers}")]
        assert main(argv) == 1  # some rows are invalid
        folder = out / FOLDER.prefix
        parts = [gzip.decompress(p.read_bytes()) for p in sorted(folder.iterdir())]
        outputs.append((parts, (tmp_path / f"rejected{workers}").read_bytes()))
    assert outputs[0] == outputs[1]


def test_cli_rejects_a_bad_worker_count(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from workmagic_provider.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(
            [
                "convert",
                "x",
                "--schema",
                "custom-site",
                "--account",
                "1",
                "--category",
                "c",
                "--hour",
                "2026-03-08T02:00:00Z",
                "--out",
                str(tmp_path),
                "--workers",
                "-2",
            ]
        )
    assert exit_.value.code == 2
    assert "--workers" in capsys.readouterr().err
