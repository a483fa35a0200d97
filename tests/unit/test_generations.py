"""Concurrent runs of one hour: the folder always ends as exactly one complete run's output."""

from __future__ import annotations

import gzip
import json
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from workmagic_provider.files.pipeline import UploadResult, upload_lines
from workmagic_provider.files.sinks import LocalDirSink
from workmagic_provider.generations import may_delete, new_generation, plan_settle
from workmagic_provider.standards import HourFolder, part_name
from workmagic_sandbox.sample_data import custom_site_orders

HOUR = datetime(2026, 3, 8, 2, tzinfo=UTC)
FOLDER = HourFolder("121226", "custom-site-orders", HOUR)
OLD, MID, NEW = (new_generation(lambda h=h: datetime(2026, 3, 9, h, tzinfo=UTC)) for h in (1, 2, 3))


def test_older_generations_are_deleted_and_newer_incomplete_ones_left() -> None:
    parts = {"legacy": None, "a1": OLD, "b1": MID, "c1": NEW}
    plan = plan_settle(parts, MID, complete={OLD})  # NEW is still being written
    assert plan.delete == ["a1", "legacy"]
    assert plan.superseded_by is None and plan.left_in_progress == ["c1"]


def test_a_run_gives_way_to_a_newer_complete_generation() -> None:
    plan = plan_settle({"a1": OLD, "b1": MID, "b2": MID}, OLD, complete={MID})
    assert plan.superseded_by == MID and plan.delete == ["a1"]


def test_may_delete_only_what_an_older_run_wrote() -> None:
    assert may_delete(OLD, MID) and may_delete(None, MID) and may_delete("garbage", MID)
    assert not may_delete(NEW, MID) and not may_delete(MID, MID)


def test_generations_sort_by_time_then_differ() -> None:
    same = datetime(2026, 3, 9, 1, tzinfo=UTC)
    assert len({new_generation(lambda: same) for _ in range(20)}) > 1
    assert OLD < MID < NEW


class PausingSink(LocalDirSink):
    """A run's sink that lets another run go between two steps of this one."""

    def __init__(
        self, root: Path, *, pause_in: str, other_run: threading.Event, go: threading.Event
    ):
        super().__init__(root, FOLDER.prefix)
        self.pause_in, self.other_run, self.go = pause_in, other_run, go

    def _let_the_other_run(self) -> None:
        self.go.set()
        assert self.other_run.wait(60), "the other run did not finish"

    def put(self, name: str, data: bytes) -> str:
        location = super().put(name, data)
        if self.pause_in == "publish" and "-0001of" in name:
            self._let_the_other_run()  # the other run publishes and settles mid-publish
        return location

    def names(self) -> list[str]:
        if self.pause_in == "after-listing":
            listed = super().names()  # listed first, deleted after the other run went
            self._let_the_other_run()
            return listed
        if self.pause_in == "before-listing":
            self._let_the_other_run()
        return super().names()


def _orders(count: int, seed: int) -> list[tuple[int, bytes]]:
    rows = custom_site_orders(count, hour=HOUR, seed=seed)
    return [(n, json.dumps(row).encode()) for n, row in enumerate(rows, 1)]


def _upload(lines: list[tuple[int, bytes]], sink: LocalDirSink) -> UploadResult:
    return upload_lines(
        lines, schema="custom-site", folder=FOLDER, flow="upload", sink=sink,
        max_part_bytes=9_000,
    )  # fmt: skip


def _folder_ids(folder: Path) -> list[str]:
    ids = []
    for path in sorted(folder.iterdir()):
        ids += [json.loads(line)["id"] for line in gzip.decompress(path.read_bytes()).splitlines()]
    return ids


@pytest.mark.parametrize("pause_in", ["after-listing", "before-listing", "publish"])
def test_two_runs_of_one_hour_leave_exactly_one_complete_output(
    tmp_path: Path, pause_in: str
) -> None:
    # an earlier run of the hour left 3 parts; run A writes several parts, run B (which saw
    # late rows) more: whatever the interleaving, the folder ends as one complete run's rows
    folder = tmp_path / FOLDER.prefix
    folder.mkdir(parents=True)
    for index in range(3):
        name = part_name(HOUR, "upload", index)
        (folder / name).write_bytes(gzip.compress(b'{"id": "from-an-old-run"}\n'))
    rows_a, rows_b = _orders(300, seed=1), _orders(420, seed=2)
    go, b_done = threading.Event(), threading.Event()
    results: dict[str, UploadResult] = {}

    def run_a() -> None:
        sink = PausingSink(tmp_path, pause_in=pause_in, other_run=b_done, go=go)
        results["a"] = _upload(rows_a, sink)

    thread = threading.Thread(target=run_a)
    thread.start()
    assert go.wait(60)
    results["b"] = _upload(rows_b, LocalDirSink(tmp_path, FOLDER.prefix))
    b_done.set()
    thread.join(60)

    ids_a = [json.loads(raw)["id"] for _, raw in rows_a]
    ids_b = [json.loads(raw)["id"] for _, raw in rows_b]
    assert 2 <= len(results["a"].parts) < len(results["b"].parts)
    # A took its generation first: the newer complete run, B, is what the folder holds
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in results["b"].parts)
    assert _folder_ids(folder) == ids_b != ids_a
    if pause_in != "after-listing":  # A saw B's finished output and gave way to it
        assert results["a"].superseded_by == results["b"].generation
