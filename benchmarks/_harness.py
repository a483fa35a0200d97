"""Shared benchmark plumbing: run a child process, time it, read its peak memory, print tables.

Each benchmark measures our code and a baseline in the same run on the same data and reports
ratios, so numbers compare across machines only as ratios.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Cached venvs of the tools we compare with (``.gitignore``d).
WORK = Path(__file__).resolve().parent / ".work"


@dataclass
class ChildRun:
    """One measured child process: its own report plus wall time and peak RSS."""

    report: dict[str, Any]
    wall_seconds: float
    peak_rss_mb: float


def run_child(argv: Sequence[str]) -> ChildRun:
    """Run ``argv`` (a Python child printing one JSON line last) and measure it."""
    started = time.perf_counter()
    process = subprocess.Popen(list(argv), stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"benchmark child failed ({process.returncode}): {' '.join(argv)}")
    last = [line for line in output.splitlines() if line.strip()][-1]
    return ChildRun(json.loads(last), wall, usage.ru_maxrss / 1024)  # ru_maxrss is KiB on Linux


def own_peak_rss_mb() -> float:
    """This process's own peak RSS (``VmHWM``), for a child to put in its report.

    ``ChildRun.peak_rss_mb`` comes from ``wait4``'s ``ru_maxrss``, which on Linux also holds the
    spawning parent's RSS at the time of the spawn (the pre-exec memory's high-water mark is
    kept across exec), so it is only right while the parent is small. A parent that hosts a
    server (``bench_sync``'s sandbox) must read this instead.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> str:
    return f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}"


def print_table(
    headers: Sequence[str], rows: Sequence[Sequence[object]], *, left_columns: int = 0
) -> None:
    """Print an aligned table; numbers right-aligned, the first ``left_columns`` left-aligned."""
    cells = [[str(h) for h in headers]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for n, row in enumerate(cells):
        print(
            "  ".join(
                c.rjust(w) if n and i >= left_columns else c.ljust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            print("  ".join("-" * w for w in widths))


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def python() -> str:
    return sys.executable


def tool_python(name: str, requirements: Sequence[str]) -> Path:
    """The interpreter of ``benchmarks/.work/<name>``, a venv holding exactly ``requirements``.

    Tools we compare with live outside the project's venv, so neither their pins nor ours
    bend the other. Built once with uv (warm cache: seconds), rebuilt when the pins change.
    """
    venv = WORK / name
    stamp = venv / "requirements.txt"
    wanted = "\n".join(requirements) + "\n"
    if stamp.exists() and stamp.read_text() == wanted:
        return venv / "bin" / "python"
    shutil.rmtree(venv, ignore_errors=True)
    print(f"creating {venv} ({' '.join(requirements)}, once)", file=sys.stderr, flush=True)
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv") or "uv"
    for argv in (
        [uv, "venv", "--quiet", "--python", sys.executable, str(venv)],
        [uv, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), *requirements],
    ):
        done = subprocess.run(argv, capture_output=True, text=True)
        if done.returncode != 0:
            shutil.rmtree(venv, ignore_errors=True)
            raise SystemExit(f"{' '.join(argv)} failed:\n{done.stdout}{done.stderr}")
    stamp.write_text(wanted)
    return venv / "bin" / "python"
