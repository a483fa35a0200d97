"""``convert`` throughput and peak memory vs a naive baseline, measured in the same run.

Ours: ``workmagic_provider.files.pipeline.upload_lines`` (what ``workmagic-provider convert``
runs): bytes -> ``model_validate_json`` -> ``model_dump_json`` -> size-capped gzip parts.
Baseline (testing-notes): ``json.loads`` + ``Model.model_validate(dict)`` +
``json.dumps(model_dump(mode="json"))`` through ``gzip.open`` (level 9), line by line, same
model, same input. Each side runs in its own process so peak RSS is its own.

    python benchmarks/bench_convert.py [--sizes 100000,1000000] [--json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import machine, print_table, python, run_child


def child_ours(source: str, out: str) -> dict[str, object]:
    from workmagic_provider.files.jsonl import read_json_lines
    from workmagic_provider.files.pipeline import upload_lines
    from workmagic_provider.files.sinks import LocalDirSink
    from workmagic_provider.standards import HourFolder, parse_hour

    folder = HourFolder("121226", "orders", parse_hour("2026-03-08T02:00:00Z"))
    started = time.perf_counter()
    result = upload_lines(
        read_json_lines(source),
        schema="custom-site",
        folder=folder,
        flow="upload",
        sink=LocalDirSink(out, folder.prefix),
    )
    seconds = time.perf_counter() - started
    return {
        "rows": result.rows_written,
        "seconds": seconds,
        "parts": len(result.parts),
        "max_part_bytes": max(p.bytes for p in result.parts),
    }


def child_naive(source: str, out: str) -> dict[str, object]:
    import gzip

    from workmagic_provider.schemas import get_model

    model = get_model("custom-site")
    started = time.perf_counter()
    rows = 0
    with open(source, encoding="utf-8") as lines, gzip.open(Path(out) / "all.json.gz", "wt") as gz:
        for line in lines:
            if not line.strip():
                continue
            record = model.model_validate(json.loads(line))
            gz.write(json.dumps(record.model_dump(mode="json")) + "\n")
            rows += 1
    return {"rows": rows, "seconds": time.perf_counter() - started}


def generate(path: Path, rows: int) -> None:
    from workmagic_provider.sandbox.sample_data import custom_site_orders, write_json_lines

    write_json_lines(path, custom_site_orders(rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--json", action="store_true", help="print one JSON object at the end")
    parser.add_argument("--child", choices=("ours", "naive"))
    parser.add_argument("source", nargs="?")
    parser.add_argument("out", nargs="?")
    args = parser.parse_args()
    if args.child:
        run = child_ours if args.child == "ours" else child_naive
        print(json.dumps(run(args.source, args.out)))
        return

    sizes = [int(s) for s in args.sizes.split(",")]
    results: dict[str, dict[str, object]] = {}
    work = Path(tempfile.mkdtemp(prefix="bench-convert-"))
    try:
        for size in sizes:
            source = work / f"orders-{size}.jsonl"
            generate(source, size)
            for side in ("ours", "naive"):
                out = work / f"out-{side}-{size}"
                out.mkdir()
                run = run_child([python(), __file__, "--child", side, str(source), str(out)])
                assert run.report["rows"] == size, run.report
                results[f"{side}-{size}"] = {
                    **run.report,
                    "rows_per_s": size / float(run.report["seconds"]),
                    "peak_rss_mb": run.peak_rss_mb,
                }
                shutil.rmtree(out)
            source.unlink()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    table = []
    for size in sizes:
        ours, naive = results[f"ours-{size}"], results[f"naive-{size}"]
        table.append(
            [
                size,
                float(ours["rows_per_s"]),
                float(naive["rows_per_s"]),
                float(ours["rows_per_s"]) / float(naive["rows_per_s"]),
                float(ours["peak_rss_mb"]),
                float(naive["peak_rss_mb"]),
                ours["max_part_bytes"],
            ]
        )
    print(f"bench_convert on {machine()}")
    print_table(
        ["rows", "ours rows/s", "naive rows/s", "speedup", "ours MB", "naive MB", "max part B"],
        table,
    )
    summary: dict[str, object] = {
        "benchmark": "convert",
        "machine": machine(),
        "speedup": {str(s): row[3] for s, row in zip(sizes, table, strict=True)},
    }
    if len(sizes) > 1:
        growth = float(results[f"ours-{sizes[-1]}"]["peak_rss_mb"]) / float(
            results[f"ours-{sizes[0]}"]["peak_rss_mb"]
        )
        summary["memory_growth"] = growth
        print(f"peak memory growth {sizes[0]:,} -> {sizes[-1]:,} rows: {growth:.2f}x (goal < 1.2x)")
    summary["goal_speedup"] = 3.0
    if args.json:
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
