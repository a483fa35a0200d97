"""``EnrichOrdersOperator`` vs one request per order (a plain ``HttpOperator`` user), same run.

One WorkMagic API sandbox (``workmagic_sandbox.api``) runs in this process with
``--latency`` seconds (default 20 ms) added to every answer, like a remote API. Each side runs in
its own child process with the same Airflow connections and sends enrich orders for the same
known order ids; the sandbox's delivery log counts what each side really delivered.

* **baseline**: what a user gets from the http provider: ``HttpHook(method="POST").run()`` once
  per order, ``{"orders": [order]}`` with the Bearer header (no validation, no retries). Only
  ``--baseline-orders`` orders are sent (one request each takes the full latency), and the rate
  is compared.
* **ours**: ``EnrichOrdersOperator(rows=...).execute()`` on ``--orders`` rows: validation, last-wins
  de-duplication, batches of 100, 4 concurrent requests, retries. Timed around ``execute`` (the
  imports a worker has loaded already are excluded for both sides).

    python benchmarks/bench_enrich.py [--orders 10000] [--baseline-orders 400] [--latency 0.02]
                                      [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import machine, own_peak_rss_mb, print_table, python, run_child

HTTP_CONN_ID = "wm_bench_http"


def the_hour() -> datetime:
    """The last complete UTC hour: the data interval both sides run for."""
    now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    return now - timedelta(hours=1)


def rows(count: int, hour: datetime) -> list[dict[str, Any]]:
    out = []
    for n in range(count):
        moment = hour + timedelta(seconds=(n * 7) % 3600, milliseconds=n % 1000)
        out.append(
            {
                "order_id": f"bench_{n:07d}",
                "order_timestamp": moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
                "sales_amount": round(10 + (n % 500) * 1.37, 2),
                "profit_amount": round(((n % 97) - 40) * 0.85, 2),
                "currency": "USD",
            }
        )
    return out


# ----------------------------------------------------------------------------- children
def child_baseline(args: argparse.Namespace) -> dict[str, Any]:
    from airflow.providers.http.hooks.http import HttpHook

    from workmagic_sandbox.launcher import ENRICH_API_KEY

    hook = HttpHook(method="POST", http_conn_id=HTTP_CONN_ID)
    headers = {"Authorization": f"Bearer {ENRICH_API_KEY}", "Content-Type": "application/json"}
    data = rows(args.baseline_orders, the_hour())
    started = time.perf_counter()
    for row in data:
        hook.run("/enrich/orders", data=json.dumps({"orders": [row]}), headers=headers)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "orders": len(data), "requests": len(data)}


def child_ours(args: argparse.Namespace) -> dict[str, Any]:
    import logging

    from workmagic_provider.operators.enrich import EnrichOrdersOperator

    logging.getLogger("airflow.task").setLevel(logging.WARNING)
    hour = the_hour()
    operator = EnrichOrdersOperator(task_id="enrich", rows=rows(args.orders, hour))
    context = {"data_interval_start": hour, "data_interval_end": hour + timedelta(hours=1)}
    started = time.perf_counter()
    summary = operator.execute(context)  # type: ignore[arg-type]
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "orders": summary["accepted"],
        "requests": summary["requests"],
        "peak_rss_mb": own_peak_rss_mb(),
    }


# ----------------------------------------------------------------------------- parent
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--baseline-orders", type=int, default=400)
    parser.add_argument("--latency", type=float, default=0.02, help="seconds per answer")
    parser.add_argument("--json", action="store_true", help="print one JSON object at the end")
    parser.add_argument("--child", choices=("baseline", "ours"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        measure = child_baseline if args.child == "baseline" else child_ours
        print(json.dumps(measure(args)))
        return

    from workmagic_sandbox.api import ApiFaults, ApiSandboxServer
    from workmagic_sandbox.launcher import ENRICH_API_KEY, ORDERS_API_KEY

    server = ApiSandboxServer(enrich_api_key=ENRICH_API_KEY, orders_api_key=ORDERS_API_KEY)
    server.start()
    try:
        server.faults = ApiFaults(latency=args.latency)
        server.seed_orders(
            r["order_id"] for r in rows(max(args.orders, args.baseline_orders), the_hour())
        )
        os.environ["AIRFLOW_CONN_WORKMAGIC_DEFAULT"] = json.dumps(
            {
                "conn_type": "workmagic",
                "password": ENRICH_API_KEY,
                "extra": {"account_id": "121226", "enrich_api_url": server.endpoint},
            }
        )
        host, port = server.endpoint.removeprefix("http://").split(":")
        os.environ[f"AIRFLOW_CONN_{HTTP_CONN_ID.upper()}"] = json.dumps(
            {"conn_type": "http", "host": host, "port": int(port), "schema": "http"}
        )
        base_argv = [python(), __file__, "--orders", str(args.orders)]
        base_argv += ["--baseline-orders", str(args.baseline_orders)]
        results: dict[str, dict[str, Any]] = {}
        for side in ("baseline", "ours"):
            before = sum(server.delivery_counts().values())
            child = run_child([*base_argv, "--child", side])
            delivered = sum(server.delivery_counts().values()) - before
            report = child.report
            if delivered != report["orders"]:
                raise SystemExit(
                    f"{side}: sandbox saw {delivered} deliveries, child said {report['orders']}"
                )
            report["orders_per_s"] = report["orders"] / report["seconds"]
            report["wall_seconds"] = child.wall_seconds
            results[side] = report
    finally:
        server.close()

    ratio = results["ours"]["orders_per_s"] / results["baseline"]["orders_per_s"]
    print(f"Enrich API push, sandbox latency {args.latency * 1000:.0f} ms per answer ({machine()})")
    print_table(
        ["side", "orders", "requests", "seconds", "orders/s"],
        [
            [
                "baseline: HttpHook, 1 request per order",
                results["baseline"]["orders"],
                results["baseline"]["requests"],
                results["baseline"]["seconds"],
                results["baseline"]["orders_per_s"],
            ],
            [
                "ours: EnrichOrdersOperator (100/batch, 4 workers)",
                results["ours"]["orders"],
                results["ours"]["requests"],
                results["ours"]["seconds"],
                results["ours"]["orders_per_s"],
            ],
        ],
        left_columns=1,
    )
    print(f"ratio (orders/s, ours / baseline): {ratio:.1f}x (goal >= 20x)")
    if args.json:
        print(
            json.dumps(
                {
                    "benchmark": "enrich",
                    "machine": machine(),
                    "latency_s": args.latency,
                    "baseline": results["baseline"],
                    "ours": results["ours"],
                    "ratio": round(ratio, 2),
                    "goal": 20,
                }
            )
        )


if __name__ == "__main__":
    main()
