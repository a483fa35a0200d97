"""``sync`` (S3 -> WorkMagic S3) vs ``aws s3 sync`` on the same data, in the same run.

One loopback sandbox (moto behind the WorkMagic gate: role + External ID, writes only into
``account-{id}/``) runs in this process. A customer bucket on the same moto holds one hour
folder ``YYYY/MM/DD/HH/`` of ``--small`` gzipped order files (2-20 KB) and ``--large`` files of
``--large-mb`` MiB. Every side writes into its own fresh destination folder, which is removed
after that side is measured.

* **awscli** (the baseline): WorkMagic's documented bash sample, with awscli from PyPI in its own
  venv (``benchmarks/.work/``, cached; its botocore pin clashes with the amazon provider's):
  ``aws s3 sync`` source -> temp dir with the customer's keys, AssumeRole (boto3, sandbox STS,
  the External ID), ``aws s3 sync`` temp dir -> WorkMagic with the role's keys. Timed end to
  end; its re-run wipes the temp dir first, as the sample does.
* **awscli direct**: one ``aws s3 sync s3://src s3://dest`` with the role's keys, i.e.
  server-side copies. Possible only when the customer granted WorkMagic's role read on the
  bucket (or a same-account setup); the sandbox's gate grants it for this side and
  ``ours_server`` only (WorkMagic's documented setup grants none).
* **ours**: ``HourSync`` (S3Hook source, ``WorkMagicHook().get_s3_hook()`` destination) in a
  child process with the sandbox's connections; timed from building the hooks (AssumeRole
  included) to the end of the sync, Airflow's import excluded (a task has it already). Run
  four times. With the read grant and ``split_oversized=False`` (server-side copies, compared
  with awscli direct): once checking every new file's first bytes (the default: one ranged
  read per file that awscli does not make) and once with ``check_content=False``. Without the
  grant (the first copy is refused, the rest stream through the worker): with
  ``split_oversized=False`` (a pure byte copy, multipart: compared with the documented awscli)
  and with the default, which re-splits files over WorkMagic's 1.5 MB limit into parts (more
  work than a copy: gunzip, re-gzip). Each then re-runs unchanged with fresh hooks.
  The sandbox's ``ours_server*`` sides and awscli direct run with the role's read grant.

Objects and bytes written are counted by the sandbox's gate (allowed writes under the side's
folder) for every side alike; ours' own ``summary()`` must agree.

    python benchmarks/bench_sync.py [--small 1000] [--large 3] [--large-mb 20] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import machine, own_peak_rss_mb, print_table, python, run_child

AWSCLI_VERSION = "1.46.3"
WORK = Path(__file__).resolve().parent / ".work"
SOURCE_BUCKET = "customer-orders"
HOUR = "2026/03/08/02/"
CATEGORY = "order-geo-date-data"
WRITE_ACTIONS = frozenset({"PutObject", "CompleteMultipartUpload", "CopyObject"})
SIDES = {
    "awscli": "awscli (documented: src -> tmp dir -> WorkMagic)",
    "awscli_direct": "awscli direct s3 -> s3 (role may read source)",
    "ours_server": "ours, role may read source (server-side copy)",
    "ours_server_names": "ours, server-side, check_content=False",
    "ours_copy": "ours, split_oversized=False (streamed copy)",
    "ours_split": "ours, default (re-splits >1.5 MB files)",
}
OURS = ("ours_server", "ours_server_names", "ours_copy", "ours_split")


# ----------------------------------------------------------------------------- ours (child)
def child_ours(args: argparse.Namespace) -> dict[str, object]:
    import logging

    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    from workmagic_provider.hooks.workmagic import WorkMagicHook
    from workmagic_provider.stores import S3Store
    from workmagic_provider.sync import HourSync, SyncSettings
    from workmagic_sandbox.launcher import AWS_CONN_ID

    logging.getLogger("workmagic_provider").setLevel(logging.WARNING)  # no line per file
    settings = SyncSettings(
        sync_id="bench.sync",
        split_oversized=args.split == "on",
        check_content=args.check_content == "on",
    )

    def once() -> tuple[float, dict[str, object]]:
        started = time.perf_counter()
        hook = WorkMagicHook()
        source = S3Store(S3Hook(aws_conn_id=AWS_CONN_ID), SOURCE_BUCKET)
        destination = S3Store(hook.get_s3_hook(), hook.settings.bucket)
        sync = HourSync(
            source, args.src_prefix, destination, args.dest_prefix, settings,
            max_workers=args.workers,
        )  # fmt: skip
        summary = sync.run().summary()
        return time.perf_counter() - started, summary

    seconds, first = once()
    rerun_seconds, rerun = once()
    return {
        "seconds": seconds,
        "summary": first,
        "rerun_seconds": rerun_seconds,
        "rerun": rerun,
        "peak_rss_mb": own_peak_rss_mb(),
    }


# ----------------------------------------------------------------------------- data
def _pool(count: int) -> list[str]:
    from workmagic_sandbox.sample_data import custom_site_orders

    return [json.dumps(o, separators=(",", ":")) for o in custom_site_orders(count)]


def _gzip(data: bytes, level: int) -> bytes:
    packer = zlib.compressobj(level, zlib.DEFLATED, 31)  # gzip wrapper, header mtime 0
    return packer.compress(data) + packer.flush()


def small_files(count: int, pool: list[str]) -> dict[str, bytes]:
    """``count`` gzipped order files of 2-20 KB, each with its own order ids (deterministic)."""
    import random

    rng = random.Random(11)
    sample = _gzip(("\n".join(pool[:200]) + "\n").encode(), 6)
    per_order = len(sample) / 200
    files = {}
    for index in range(count):
        rows = max(5, round(rng.uniform(2_000, 20_000) / per_order))
        start = rng.randrange(len(pool) - rows)
        text = "\n".join(pool[start : start + rows]) + "\n"
        text = text.replace('"id":"order_', f'"id":"order_s{index:04d}_')
        files[f"orders-{index:04d}.json.gz"] = _gzip(text.encode(), 6)
    return files


def large_file(index: int, target: int, pool: list[str]) -> bytes:
    """A gzipped order file of at least ``target`` bytes (level 1, as a fast exporter writes)."""
    packer = zlib.compressobj(1, zlib.DEFLATED, 31)
    out: list[bytes] = []
    size = cycle = 0
    step = 2_000
    while size < target:
        for start in range(0, len(pool), step):
            text = "\n".join(pool[start : start + step]) + "\n"
            text = text.replace('"id":"order_', f'"id":"order_l{index}c{cycle}_')
            out.append(packer.compress(text.encode()))
            size += len(out[-1])
            if size >= target:
                break
        cycle += 1
    out.append(packer.flush())
    return b"".join(out)


def seed(client: Any, files: dict[str, bytes]) -> None:
    client.create_bucket(Bucket=SOURCE_BUCKET)
    with ThreadPoolExecutor(8) as pool:
        list(
            pool.map(
                lambda item: client.put_object(
                    Bucket=SOURCE_BUCKET, Key=HOUR + item[0], Body=item[1]
                ),
                files.items(),
            )
        )


# ----------------------------------------------------------------------------- awscli
def awscli_venv() -> Path:
    """``benchmarks/.work/awscli-<version>``: created once (venv + pip), then reused."""
    venv = WORK / f"awscli-{AWSCLI_VERSION}"
    aws = venv / "bin" / "aws"
    if aws.exists():
        probe = subprocess.run([str(aws), "--version"], capture_output=True, text=True)
        if probe.returncode == 0 and f"aws-cli/{AWSCLI_VERSION} " in probe.stdout + probe.stderr:
            return aws
        shutil.rmtree(venv)
    print(f"creating {venv} (awscli=={AWSCLI_VERSION}, once)", file=sys.stderr, flush=True)
    WORK.mkdir(exist_ok=True)
    for argv in (
        [sys.executable, "-m", "venv", str(venv)],
        [str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check",
         f"awscli=={AWSCLI_VERSION}"],
    ):  # fmt: skip
        done = subprocess.run(argv, capture_output=True, text=True)
        if done.returncode != 0:
            shutil.rmtree(venv, ignore_errors=True)
            raise SystemExit(f"{' '.join(argv)} failed:\n{done.stdout}{done.stderr}")
    return aws


def aws_env(work: Path, access_key: str, secret: str, token: str | None = None) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(work),
        "AWS_ACCESS_KEY_ID": access_key,
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": str(work / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(work / "no-aws-credentials"),
    }
    if token:
        env["AWS_SESSION_TOKEN"] = token
    return env


def run_aws(aws: Path, args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run([str(aws), *args], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"aws {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout


class Baseline:
    """WorkMagic's bash sample, step for step, with awscli; and the one-step variant."""

    def __init__(self, aws: Path, sandbox: Any, work: Path) -> None:
        from workmagic_sandbox.launcher import (
            CUSTOMER_ACCESS_KEY_ID,
            CUSTOMER_SECRET_ACCESS_KEY,
        )

        self.aws, self.sandbox, self.work = aws, sandbox, work
        self.endpoint = ["--endpoint-url", sandbox.s3_endpoint, "--no-progress"]
        self.customer = aws_env(work, CUSTOMER_ACCESS_KEY_ID, CUSTOMER_SECRET_ACCESS_KEY)

    def assume_role(self) -> dict[str, str]:
        import boto3

        sts = boto3.client(
            "sts",
            endpoint_url=self.sandbox.s3_endpoint,
            region_name="us-east-1",
            aws_access_key_id=self.customer["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.customer["AWS_SECRET_ACCESS_KEY"],
        )
        creds = sts.assume_role(
            RoleArn=self.sandbox.role_arn,
            RoleSessionName=f"order-upload-session-{self.sandbox.account_id}",
            ExternalId=self.sandbox.external_id,
        )["Credentials"]
        return aws_env(
            self.work, creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]
        )

    def documented(self, dest_prefix: str) -> dict[str, float]:
        """rm -rf tmp; sync src -> tmp; assume role; sync tmp -> dest (the bash sample)."""
        tmp = self.work / "order-upload-tmp"
        started = time.perf_counter()
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        run_aws(self.aws, ["s3", "sync", f"s3://{SOURCE_BUCKET}/{HOUR}", str(tmp), *self.endpoint],
                self.customer)  # fmt: skip
        fetched = time.perf_counter()
        role = self.assume_role()
        dest = f"s3://{self.sandbox.bucket}/{dest_prefix}"
        run_aws(self.aws, ["s3", "sync", str(tmp), dest, *self.endpoint], role)
        done = time.perf_counter()
        downloaded = sum(p.stat().st_size for p in tmp.iterdir())
        shutil.rmtree(tmp)
        return {
            "seconds": done - started,
            "download_seconds": fetched - started,
            "upload_seconds": done - fetched,
            "downloaded": downloaded,
        }

    def role_can_read_source(self) -> bool:
        import boto3
        from botocore.exceptions import ClientError

        role = self.assume_role()
        s3 = boto3.client(
            "s3",
            endpoint_url=self.sandbox.s3_endpoint,
            region_name="us-east-1",
            aws_access_key_id=role["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=role["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=role["AWS_SESSION_TOKEN"],
        )
        try:
            s3.list_objects_v2(Bucket=SOURCE_BUCKET, Prefix=HOUR, MaxKeys=1)
            s3.head_object(Bucket=SOURCE_BUCKET, Key=HOUR + "orders-0000.json.gz")
        except ClientError:
            return False
        return True

    def direct(self, dest_prefix: str) -> dict[str, float]:
        started = time.perf_counter()
        role = self.assume_role()
        src, dest = f"s3://{SOURCE_BUCKET}/{HOUR}", f"s3://{self.sandbox.bucket}/{dest_prefix}"
        run_aws(self.aws, ["s3", "sync", src, dest, *self.endpoint], role)
        return {"seconds": time.perf_counter() - started}


# ----------------------------------------------------------------------------- measuring
def written(sandbox: Any, since: int, prefix: str) -> tuple[int, int]:
    """(objects, bytes) the gate saw written under ``prefix`` since write number ``since``."""
    keys = {w.key for w in sandbox.writes[since:] if w.action in WRITE_ACTIONS}
    keys = {k for k in keys if k.startswith(prefix)}
    client = sandbox.aws.admin_client()
    sizes = {
        obj["Key"]: obj["Size"]
        for page in client.get_paginator("list_objects_v2").paginate(
            Bucket=sandbox.bucket, Prefix=prefix
        )
        for obj in page.get("Contents", [])
    }
    return len(keys), sum(sizes.get(k, 0) for k in keys)


def wipe(sandbox: Any, prefix: str) -> None:
    keys = sandbox.aws.list_keys(prefix)
    client = sandbox.aws.admin_client()
    for start in range(0, len(keys), 1000):
        batch = [{"Key": k} for k in keys[start : start + 1000]]
        client.delete_objects(Bucket=sandbox.bucket, Delete={"Objects": batch})


def measure(sandbox: Any, prefix: str, run: Any) -> dict[str, Any]:
    """Run a side, then its unchanged re-run; the gate counts what each wrote."""
    since = len(sandbox.writes)
    first = run()
    mid = len(sandbox.writes)
    objects, size = written(sandbox, since, prefix)
    again = run()
    rerun_objects, rerun_bytes = written(sandbox, mid, prefix)
    wipe(sandbox, prefix)
    return {
        "seconds": first.pop("seconds"),
        "objects": objects,
        "bytes": size,
        "rerun_seconds": again.pop("seconds"),
        "rerun_objects": rerun_objects,
        "rerun_bytes": rerun_bytes,
        "first": first,
        "rerun": again,
    }


def measure_ours(sandbox: Any, prefix: str, argv: list[str]) -> dict[str, Any]:
    """One child runs the sync and its unchanged re-run; its summaries split the gate's count."""
    since = len(sandbox.writes)
    child = run_child(argv)
    objects, size = written(sandbox, since, prefix)
    wipe(sandbox, prefix)
    first, rerun = child.report["summary"], child.report["rerun"]
    summed = (
        first["objects_written"] + rerun["objects_written"],
        first["bytes_written"] + rerun["bytes_written"],
    )
    if (objects, size) != summed:
        print(
            f"warning: the gate counted {objects} objects / {size:,} B written under {prefix}, "
            f"the sync's summaries {summed[0]} / {summed[1]:,} B",
            file=sys.stderr,
        )
    return {
        "seconds": child.report["seconds"],
        "objects": first["objects_written"],
        "bytes": first["bytes_written"],
        "rerun_seconds": child.report["rerun_seconds"],
        "rerun_objects": rerun["objects_written"],
        "rerun_bytes": rerun["bytes_written"],
        "first": first,
        "rerun": rerun,
        "wall_seconds": child.wall_seconds,
        "peak_rss_mb": child.report["peak_rss_mb"],  # not child.peak_rss_mb: see _harness
    }


def hermetic_env(work: Path) -> None:
    """No developer credentials or connections leak in; a private Airflow home for the child."""
    for name in list(os.environ):
        if name.startswith(("AIRFLOW_CONN_", "AIRFLOW_VAR_", "AWS_")):
            del os.environ[name]
    os.environ.update(
        {
            "AIRFLOW_HOME": str(work / "airflow-home"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": str(work / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(work / "no-aws-credentials"),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=1000, help="small files (2-20 KB)")
    parser.add_argument("--large", type=int, default=3, help="large files")
    parser.add_argument("--large-mb", type=float, default=20, help="size of a large file, MiB")
    parser.add_argument("--workers", type=int, default=8, help="our max_workers (default 8)")
    parser.add_argument("--json", action="store_true", help="print one JSON object at the end")
    parser.add_argument("--child", choices=("ours",), help=argparse.SUPPRESS)
    parser.add_argument("--split", choices=("on", "off"), default="on", help=argparse.SUPPRESS)
    parser.add_argument(
        "--check-content", choices=("on", "off"), default="on", help=argparse.SUPPRESS
    )
    parser.add_argument("--src-prefix", help=argparse.SUPPRESS)
    parser.add_argument("--dest-prefix", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child_ours(args)))
        return

    aws = awscli_venv()
    work = Path(tempfile.mkdtemp(prefix="sync-", dir=WORK))
    hermetic_env(work)
    from workmagic_sandbox.launcher import Sandbox

    try:
        with Sandbox(account_id="121226", data_category=CATEGORY) as sandbox:
            os.environ.update(sandbox.env())
            results, data = run_all(args, aws, sandbox, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(args, results, data)


def run_all(
    args: argparse.Namespace, aws: Path, sandbox: Any, work: Path
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    import boto3

    from workmagic_sandbox.launcher import (
        CUSTOMER_ACCESS_KEY_ID,
        CUSTOMER_SECRET_ACCESS_KEY,
    )

    started = time.perf_counter()
    pool = _pool(20_000)
    files = small_files(args.small, pool)
    target = int(args.large_mb * 1024**2)
    for index in range(args.large):
        files[f"export-large-{index}.json.gz"] = large_file(index, target, pool)
    client = boto3.client(
        "s3",
        endpoint_url=sandbox.s3_endpoint,
        region_name=sandbox.region,
        aws_access_key_id=CUSTOMER_ACCESS_KEY_ID,
        aws_secret_access_key=CUSTOMER_SECRET_ACCESS_KEY,
    )
    seed(client, files)
    small_sizes = [len(v) for k, v in files.items() if k.startswith("orders-")]
    data = {
        "objects": len(files),
        "bytes": sum(len(v) for v in files.values()),
        "small": args.small,
        "small_kb": [min(small_sizes, default=0) / 1024, max(small_sizes, default=0) / 1024],
        "large": args.large,
        "large_mb": args.large_mb,
        "prepare_seconds": time.perf_counter() - started,
    }
    del files, pool

    def dest(side: str) -> str:
        return f"{sandbox.account_prefix}bench-{side.replace('_', '-')}/{CATEGORY}/{HOUR}"

    baseline = Baseline(aws, sandbox, work)
    results: dict[str, dict[str, Any]] = {}
    prefix = dest("awscli")
    results["awscli"] = measure(sandbox, prefix, partial(baseline.documented, prefix))
    sandbox.aws.grant_read(SOURCE_BUCKET)  # the customer grants WorkMagic's role read
    if not baseline.role_can_read_source():
        raise SystemExit("the sandbox still denies the role reading the customer bucket")
    prefix = dest("awscli_direct")
    results["awscli_direct"] = measure(sandbox, prefix, partial(baseline.direct, prefix))
    sides = (("ours_server", "off", "on"), ("ours_server_names", "off", "off"),
             ("ours_copy", "off", "on"), ("ours_split", "on", "on"))  # fmt: skip
    for side, split, check in sides:
        if side == "ours_copy":
            sandbox.aws.revoke_reads()  # WorkMagic's documented setup: no read on your bucket
        prefix = dest(side)
        argv = [python(), __file__, "--child", "ours", "--split", split,
                "--check-content", check, "--src-prefix", HOUR, "--dest-prefix", prefix,
                "--workers", str(args.workers)]  # fmt: skip
        results[side] = measure_ours(sandbox, prefix, argv)
    return results, data


def report(
    args: argparse.Namespace, results: dict[str, dict[str, Any]], data: dict[str, Any]
) -> None:
    base = float(results["awscli"]["seconds"])
    seconds = {side: float(r["seconds"]) for side, r in results.items()}
    table = [
        [SIDES[side], seconds[side], r["objects"], r["bytes"] / 1e6, base / seconds[side],
         float(r["rerun_seconds"]), r["rerun_bytes"]]
        for side, r in results.items()
    ]  # fmt: skip
    lo, hi = data["small_kb"]
    print(
        f"bench_sync on {machine()}: {data['small']:,} files of {lo:.1f}-{hi:.1f} KB + "
        f"{data['large']} of {data['large_mb']:g} MiB ({data['bytes'] / 1e6:,.1f} MB), "
        f"loopback moto; awscli {AWSCLI_VERSION}, ours max_workers={args.workers}"
    )
    print_table(
        ["side", "seconds", "objects", "MB written", "speedup", "rerun s", "rerun B written"],
        table,
        left_columns=1,
    )
    print("speedup = awscli (documented) seconds / side seconds; > 1 is faster than awscli.")
    first, again = results["awscli"]["first"], results["awscli"]["rerun"]
    downloaded = int(again["downloaded"])
    print(
        f"awscli: download {first['download_seconds']:.2f} s + AssumeRole and upload "
        f"{first['upload_seconds']:.2f} s. Re-run: the upload step skips by size + mtime "
        f"({again['upload_seconds']:.2f} s), but the documented script wipes its temp dir and "
        f"re-downloads {downloaded / 1e6:,.1f} MB first ({again['download_seconds']:.2f} s)."
    )
    for side in OURS:
        r = results[side]
        print(
            f"{SIDES[side]}: {r['first']['copied']} copied "
            f"({r['first']['copied_server_side']} server-side), {r['first']['split']} split, "
            f"{r['first']['bytes_through_worker'] / 1e6:,.1f} MB through the worker; child "
            f"wall {r['wall_seconds']:.2f} s (both runs + Python/Airflow import), "
            f"peak RSS {r['peak_rss_mb']:.0f} MB"
        )
    versus_direct = seconds["ours_server"] / seconds["awscli_direct"]
    names_vs_direct = seconds["ours_server_names"] / seconds["awscli_direct"]
    print(
        f"server-side first run, time / awscli direct's {seconds['awscli_direct']:.2f} s "
        f"(goal <= 1.0x): {versus_direct:.2f}x with the content check (one ranged read of "
        f"every new file, which awscli does not make), {names_vs_direct:.2f}x trusting names"
    )
    summary: dict[str, object] = {
        "benchmark": "sync",
        "machine": machine(),
        "data": data,
        "awscli_version": AWSCLI_VERSION,
        "workers": args.workers,
        "seconds": seconds,
        "rerun_seconds": {side: float(r["rerun_seconds"]) for side, r in results.items()},
        "speedup": {side: base / s for side, s in seconds.items() if side != "awscli"},
        "objects_written": {side: r["objects"] for side, r in results.items()},
        "bytes_written": {side: r["bytes"] for side, r in results.items()},
        "server_side_time_ratio_vs_direct": versus_direct,
        "server_side_names_time_ratio_vs_direct": names_vs_direct,
        "goal_server_side_time_ratio": 1.0,
        "rerun_bytes": max(results[side]["rerun_bytes"] for side in OURS),
        "rerun_bytes_by_side": {side: r["rerun_bytes"] for side, r in results.items()},
        "awscli_steps_seconds": {
            "download": first["download_seconds"],
            "upload": first["upload_seconds"],
            "rerun_download": again["download_seconds"],
            "rerun_upload": again["upload_seconds"],
        },
        "awscli_rerun_downloaded_bytes": downloaded,
        "goal_rerun_bytes": 0,
    }
    if args.json:
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
