"""File import throughput and peak memory: a CSV of imported rows -> size-capped parts.

Ours: ``InputReader`` (delimiter detection, header labels, cleaning of every row, primary keys
unique within the import) -> ``upload_lines`` (validation, size-capped gzip parts), what
``OrderFileToWorkMagicOperator`` and ``workmagic-provider convert`` run. Baseline, measured in
the same run on the same file: pandas ``read_csv`` (all columns as text) + ``to_json`` (JSON
lines) + ``gzip`` into one file, without cleaning or validation (the code users write by hand).
If pandas is not installed, the baseline is the standard library's ``csv`` + ``json`` + ``gzip``.
Each side runs in its own process; peak memory is its peak RSS (plus worker processes' for ours).
The input is generated here (never in tests): one row per (day, ZIP), money written ``$1,234.50``.

    python benchmarks/bench_files.py [--sizes 100000,1000000] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import machine, print_table, python, run_child

HEADER = (
    "Date Type,Date Code,Geo Type,Geo Code,Sales Platform,Platform Type,Country Code,"
    "Orders,Sales,Profit\n"
)


def generate(path: Path, rows: int) -> None:
    rng = random.Random(7)
    start = date(2020, 1, 6)
    zips = 1000
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(HEADER)
        for n in range(rows):
            day = start + timedelta(days=n // zips)
            sales = rng.randint(100, 500_000) / 100
            out.write(
                f"DAILY,{day.isoformat()},ZIP,{n % zips:05d},Walmart,SECONDARY,US,"
                f'{rng.randint(1, 40)},"${sales:,.2f}",{sales / 10:.2f}\n'
            )


def child_ours(source: str, out: str) -> dict[str, object]:
    import logging

    from workmagic_provider.files.pipeline import upload_lines
    from workmagic_provider.files.readers import InputReader
    from workmagic_provider.files.sinks import LocalDirSink
    from workmagic_provider.schemas import ValidationReport
    from workmagic_provider.standards import HourFolder, parse_hour

    logging.disable(logging.INFO)
    folder = HourFolder("121226", "order-geo-date-data", parse_hour("2026-03-08T02:00:00Z"))
    report = ValidationReport("imported")
    reader = InputReader("imported", report)
    started = time.perf_counter()
    result = upload_lines(
        reader.read(source),
        schema="imported",
        folder=folder,
        flow="files",
        sink=LocalDirSink(out, folder.prefix),
        report=report,
    )
    return {
        "rows": result.rows_written,
        "rejected": report.rows_rejected,
        "seconds": time.perf_counter() - started,
        "parts": len(result.parts),
        "max_part_bytes": max(p.bytes for p in result.parts),
        "cleaned": reader.cleaned,
    }


def child_baseline(source: str, out: str) -> dict[str, object]:
    import gzip

    try:
        import pandas as pd
    except ImportError:
        pd = None
    started = time.perf_counter()  # after the import, as ours is timed after its imports
    target = Path(out) / "all.json.gz"
    if pd is not None:
        frame = pd.read_csv(source, dtype=str, keep_default_na=False)
        text = frame.to_json(orient="records", lines=True)
        with gzip.open(target, "wt", encoding="utf-8") as gz:
            gz.write(text)
        rows, kind = len(frame), f"pandas {pd.__version__}"
    else:
        import csv

        rows, kind = 0, "stdlib csv+json+gzip"
        with open(source, newline="", encoding="utf-8") as handle, gzip.open(target, "wt") as gz:
            for record in csv.DictReader(handle):
                gz.write(json.dumps(record) + "\n")
                rows += 1
    return {"rows": rows, "seconds": time.perf_counter() - started, "baseline": kind}


def measure(side: str, source: Path, out: Path) -> dict[str, object]:
    out.mkdir()
    argv = [python(), __file__, "--child", side, str(source), str(out)]
    run = run_child(argv)
    shutil.rmtree(out)
    seconds = float(run.report["seconds"])
    return {
        **run.report,
        "rows_per_s": float(run.report["rows"]) / seconds,
        "peak_rss_mb": run.peak_rss_mb,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--json", action="store_true", help="print one JSON object at the end")
    parser.add_argument("--child", choices=("ours", "baseline"))
    parser.add_argument("source", nargs="?")
    parser.add_argument("out", nargs="?")
    args = parser.parse_args()
    if args.child:
        if args.child == "ours":
            report = child_ours(args.source, args.out)
        else:
            report = child_baseline(args.source, args.out)
        print(json.dumps(report))
        return

    sizes = [int(s) for s in args.sizes.split(",")]
    results: dict[str, dict[str, object]] = {}
    work = Path(tempfile.mkdtemp(prefix="bench-files-"))
    try:
        for size in sizes:
            source = work / f"imported-{size}.csv"
            generate(source, size)
            for side in ("ours", "baseline"):
                run = measure(side, source, work / f"out-{side}-{size}")
                assert run["rows"] == size, run
                results[f"{side}-{size}"] = run
            source.unlink()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    table = []
    for size in sizes:
        ours, base = results[f"ours-{size}"], results[f"baseline-{size}"]
        table.append(
            [
                size,
                float(ours["rows_per_s"]),
                float(base["rows_per_s"]),
                float(ours["rows_per_s"]) / float(base["rows_per_s"]),
                float(ours["peak_rss_mb"]),
                float(base["peak_rss_mb"]),
                ours["parts"],
                ours["max_part_bytes"],
            ]
        )
    last = results[f"ours-{sizes[-1]}"]
    print(
        f"bench_files on {machine()}; ours in one process; "
        f"baseline: {results[f'baseline-{sizes[-1]}']['baseline']} (no cleaning, no validation)"
    )
    print_table(
        [
            "rows",
            "ours rows/s",
            "baseline rows/s",
            "ratio",
            "ours MB",
            "baseline MB",
            "parts",
            "max part B",
        ],
        table,
    )
    summary: dict[str, object] = {
        "benchmark": "files",
        "machine": machine(),
        "baseline": results[f"baseline-{sizes[-1]}"]["baseline"],
        "throughput_ratio": {str(s): row[3] for s, row in zip(sizes, table, strict=True)},
        "rows_per_s": {str(s): row[1] for s, row in zip(sizes, table, strict=True)},
        "peak_mb": {str(s): row[4] for s, row in zip(sizes, table, strict=True)},
        "baseline_peak_mb": {str(s): row[5] for s, row in zip(sizes, table, strict=True)},
    }
    if len(sizes) > 1:
        growth = float(last["peak_rss_mb"]) / float(results[f"ours-{sizes[0]}"]["peak_rss_mb"])
        summary["memory_growth"] = growth
        print(
            f"peak memory growth {sizes[0]:,} -> {sizes[-1]:,} rows: {growth:.2f}x "
            "(duplicate keys: a fixed 2 MiB table, runs spilled to a temp file, a Bloom filter)"
        )
    if args.json:
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
