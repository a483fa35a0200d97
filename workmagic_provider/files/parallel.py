"""Validate JSON lines in worker processes, in input order, in bounded memory.

Validation (pydantic-core, ~13 us per custom-site order) is most of the CPU of an upload and
holds the GIL, so threads cannot share it; processes can. The calling process reads the input,
packs it into batches (``workmagic_provider.schemas.batch``, 512 KiB of raw lines each), sends
them to the workers and compresses the valid rows that come back (~8 us per row here); whenever
the oldest result is not back yet it validates the next batch itself instead of waiting. So one
worker per *spare* CPU keeps every CPU busy (on 2 CPUs: 1 worker, ~1.5x the rows/s of one
process; 2 workers oversubscribe and lose). Results are consumed in input order and every batch
runs the same code wherever it runs, so parts, reports and rejected rows are exactly those of
``workers=0``.

How the workers are started, and why:

* **Not** ``multiprocessing`` with ``fork``: Airflow task processes (and the client libraries
  they load) run threads; forking a threaded process can deadlock on a lock another thread
  held, and Python 3.12+ warns about it.
* **Not** ``multiprocessing`` with ``spawn``/``forkserver`` either: both re-run the parent's
  ``__main__`` in every worker. In a task that is the ``airflow`` (or ``celery``) console
  script, which imports Airflow: ~2 s and Airflow's settings/logging set-up in every worker.
  Forkserver workers are also not children of the caller, which hides their memory from it.
* **Instead** plain ``subprocess`` (``fork_exec`` in C, safe in threaded processes) running
  ``python -c`` with the parent's ``sys.path``, importing only ``workmagic_provider.schemas``
  (pydantic, no Airflow): a worker is ready in ~0.3 s, during which this process validates.
  Messages are pickled over two pipes per worker (``multiprocessing.connection.Connection``
  framing; Linux pipe buffers raised to 1 MiB so a batch is one write).

Flow control: each worker has at most ``AHEAD`` (2) batches outstanding and this process at
most ``LOCAL_AHEAD`` (2) finished batches waiting behind an unfinished one, so at most
``2 x workers + 2`` batches are in flight: memory stays flat whatever the input size, and the
input is never read further ahead. A reader thread in each worker takes requests off the pipe
as they arrive, so a send never waits for a validation and the pipes cannot deadlock. No worker
is started for an input of a single batch.

Failures: a worker that dies (killed, out of memory) or raises is reported as a
``WorkMagicError`` naming the rows of the batch it held; the pipeline spools parts and publishes
only after the whole input was read, so nothing is published and no row is silently lost. The
workers are stopped on every exit path, including the consumer abandoning the iterator.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import signal
import subprocess
import sys
from array import array
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from workmagic_provider.exceptions import WorkMagicConfigError, WorkMagicError
from workmagic_provider.schemas import SchemaOptions, ValidationReport
from workmagic_provider.schemas.batch import (
    BATCH_BYTES,
    BATCH_ROWS,
    Batch,
    BatchResult,
    BatchValidator,
    pack_batches,
)

log = logging.getLogger(__name__)

#: ``workers=None`` uses one worker per usable CPU but one (this process validates too when it
#: has time), at most this many: this process reads and compresses at ~8 us per row, and two
#: workers validating at ~13 us per row each already outpace it, so more would only cost memory
#: (~45 MB each) -- which adds up when an Airflow worker runs several uploads at once.
MAX_AUTO_WORKERS = 2
#: Batches sent to each worker ahead of the one it works on: one queued behind the current one,
#: so a worker never waits for this process to read its last result.
AHEAD = 2
#: Batches this process may validate itself beyond those in flight in the workers.
LOCAL_AHEAD = 2
#: Pipe buffer asked for (Linux ``F_SETPIPE_SZ``; 1 MiB is the unprivileged maximum).
PIPE_BYTES = 1 << 20
#: Seconds a worker gets to exit after its input was closed before it is killed.
STOP_TIMEOUT = 10.0

_BOOTSTRAP = (
    "import json, sys; sys.path[:] = json.loads(sys.argv[1]); "
    "from workmagic_provider.schemas.batch import serve; serve(int(sys.argv[2]), int(sys.argv[3]))"
)

RejectedConsumer = Callable[[int, bytes], None]


def usable_cpus() -> int:
    """CPUs this process may use: its affinity mask, capped by a cgroup CPU quota if any.

    Containers (Kubernetes pods with a CPU limit, Docker ``--cpus``) see every host CPU in
    ``os.cpu_count()``; the quota in ``cpu.max`` (cgroup v2) or ``cpu.cfs_quota_us`` (v1) is
    what they may actually use.
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    quota = _cgroup_cpu_quota()
    if quota is not None:
        cpus = min(cpus, max(1, math.floor(quota)))
    return max(cpus, 1)


def _cgroup_cpu_quota() -> float | None:
    try:
        text = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        if text and text[0] != "max":
            return int(text[0]) / int(text[1])
        return None
    except (OSError, ValueError, IndexError):
        pass
    try:
        quota = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").read_text())
        period = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return quota / period if quota > 0 and period > 0 else None


def default_workers() -> int:
    """Worker processes for ``workers=None``: usable CPUs minus one (at most 2), 0 on one CPU.

    This process is the remaining CPU: it reads, compresses and validates whenever a worker's
    result is not ready yet, so one worker per *spare* CPU keeps every CPU busy without
    oversubscribing them (on 2 CPUs, 1 worker beat 2 in ``benchmarks/bench_convert.py``).
    """
    return min(max(usable_cpus() - 1, 0), MAX_AUTO_WORKERS)


def resolve_workers(workers: int | None) -> int:
    """Check ``workers`` (``None`` = automatic, ``0`` = validate in the calling process)."""
    if workers is None:
        return default_workers()
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
        raise WorkMagicConfigError(
            f"workers must be a number of processes >= 0 (0: validate in this process) or "
            f"None (automatic), got {workers!r}"
        )
    return workers


@dataclass
class ValidBatch:
    """Valid rows of one batch, ready for ``PartWriter.write_block``."""

    data: bytes  # rows of compact JSON, each followed by b"\n"
    rows: array[int]  # their row numbers


@dataclass
class ParallelStats:
    """What the workers did: how many took part (got ready before the input ended), how many
    batches went through, the largest peak RSS of one worker, the pids of all started."""

    workers: int = 0
    batches: int = 0
    remote_batches: int = 0
    worker_peak_rss_kib: int = 0
    pids: list[int] = field(default_factory=list)


def validate_json_batches(
    lines: Iterable[tuple[int, bytes | str]],
    schema: str,
    *,
    report: ValidationReport,
    options: SchemaOptions | None = None,
    rejected: RejectedConsumer | None = None,
    workers: int | None = 0,
    stats: ParallelStats | None = None,
    batch_bytes: int = BATCH_BYTES,
    batch_rows: int = BATCH_ROWS,
) -> Iterator[ValidBatch]:
    """Validate ``(row number, JSON line)`` pairs batch by batch; yield the valid rows in order.

    Like ``validate_json_lines`` but in batches and, with ``workers`` > 0 (``None``: see
    :func:`default_workers`), partly in worker processes. Each batch's counts and errors are
    merged into ``report`` in input order, and each rejected row is passed to
    ``rejected(row, raw_line)`` (in order) before the batch's valid rows are yielded. Closing
    the iterator early stops the workers.
    """
    count = resolve_workers(workers)
    validator = BatchValidator(
        schema,
        options,
        report_name=report.schema,
        max_errors=report.max_errors,
        keep_rejected=rejected is not None,
    )
    stats = stats if stats is not None else ParallelStats()
    batches = pack_batches(lines, max_bytes=batch_bytes, max_rows=batch_rows)
    if count == 0:
        results: Iterator[BatchResult] = map(validator, batches)
    else:
        results = _run_in_workers(batches, validator, count, stats)
    try:
        for result in results:
            stats.batches += 1
            report.merge(result.report)
            if rejected is not None:
                for row, raw in result.rejected:
                    rejected(row, raw)
            yield ValidBatch(result.valid, result.rows)
    finally:
        close = getattr(results, "close", None)
        if close is not None:
            close()  # stops the workers now, not when garbage is collected


def _run_in_workers(
    batches: Iterator[Batch], validator: BatchValidator, count: int, stats: ParallelStats
) -> Iterator[BatchResult]:
    """Results of ``batches`` in order, validated by up to ``count`` workers and this process.

    Every batch read goes to the end of ``pending`` together with the worker it was sent to,
    or with its result if this process validated it; a worker answers in the order it was
    sent, so reading ``pending`` front to back yields the results in input order. Each ready
    worker is kept ``AHEAD`` batches deep. When the oldest pending result is not there yet,
    this process validates the next batch itself instead of waiting (up to ``LOCAL_AHEAD``
    batches beyond the workers'), so with one worker per spare CPU no CPU idles: while the
    workers start (~0.3 s), while a worker is busy, and when the workers outpace the writing
    here, this process simply validates less.
    """
    first = next(batches, None)
    if first is None:
        return
    second = next(batches, None)
    if second is None:  # one batch: not worth starting a process
        yield validator(first)
        return
    read_ahead: deque[Batch] = deque((first, second))

    def next_batch() -> Batch | None:
        return read_ahead.popleft() if read_ahead else next(batches, None)

    pool: list[_Worker] = []
    pending: deque[tuple[Batch, _Worker | None, BatchResult | None]] = deque()
    limit = count * AHEAD + LOCAL_AHEAD
    exhausted = False
    try:
        settings = validator.settings()
        for index in range(count):
            pool.append(_Worker(index))
            stats.pids.append(pool[-1].process.pid)
            pool[-1].start(settings)
        log.info("validating in up to %d worker processes and this one", len(pool))
        while True:
            for worker in pool:  # keep every ready worker AHEAD batches deep
                while not exhausted and worker.outstanding < AHEAD and worker.poll_ready():
                    batch = next_batch()
                    if batch is None:
                        exhausted = True
                        break
                    worker.send(batch)
                    pending.append((batch, worker, None))
            if not pending:
                if exhausted:
                    return
                batch = next_batch()  # no worker ready yet: validate here meanwhile
                if batch is None:
                    return
                yield validator(batch)
                continue
            batch, owner, local = pending[0]
            if owner is None:
                pending.popleft()
                assert local is not None
                yield local
                continue
            if not (exhausted or len(pending) >= limit or owner.has_result()):
                upcoming = next_batch()  # the oldest result is not there yet: work meanwhile
                if upcoming is None:
                    exhausted = True
                else:
                    pending.append((upcoming, None, validator(upcoming)))
                continue
            pending.popleft()
            result = owner.receive(batch)
            stats.remote_batches += 1
            stats.worker_peak_rss_kib = max(stats.worker_peak_rss_kib, result.peak_rss_kib)
            yield result
    finally:
        stats.workers = sum(worker.ready for worker in pool)
        failed = sys.exc_info()[0] is not None or bool(pending)
        for worker in pool:
            worker.stop(kill=failed or worker.failed)


class _Worker:
    """One validation process and its two pipes."""

    def __init__(self, index: int) -> None:
        self.index = index
        request_read, request_write = os.pipe()
        result_read, result_write = os.pipe()
        for fd in (request_write, result_write):
            _grow_pipe(fd)
        try:
            path = json.dumps([p for p in sys.path if isinstance(p, str)])
            self.process = subprocess.Popen(
                [sys.executable, "-c", _BOOTSTRAP, path, str(request_read), str(result_write)],
                pass_fds=(request_read, result_write),
                stdin=subprocess.DEVNULL,
            )
        except BaseException:
            for fd in (request_read, request_write, result_read, result_write):
                os.close(fd)
            raise
        os.close(request_read)
        os.close(result_write)
        self.requests = Connection(request_write, readable=False)
        self.results = Connection(result_read, writable=False)
        self.ready = False
        self.failed = False  # could not start (see poll_ready)
        self.outstanding = 0  # batches sent and not yet answered

    def start(self, settings: dict[str, Any]) -> None:
        """Send the validator settings (the worker builds its model from them)."""
        try:
            self.requests.send(settings)
        except OSError as err:
            raise self._died(None, err) from err

    def poll_ready(self) -> bool:
        """Whether the worker has built its model (never blocks).

        A worker that could not start (this interpreter cannot run ``python -c``, a broken
        environment) held no rows yet: it is left out with a warning and the upload goes on
        with the others, or in this process alone.
        """
        if not self.ready and not self.failed and self.results.poll(0):
            try:
                self._read_ready(None)
            except WorkMagicError as err:
                self.failed = True
                log.warning("%s; going on without it", err)
        return self.ready

    def _read_ready(self, batch: Batch | None) -> None:
        try:
            kind, payload = self.results.recv()
        except (EOFError, OSError) as err:
            raise self._died(batch, err) from err
        if kind != "ready":  # pragma: no cover - serve() answers "ready" or exits
            raise WorkMagicError(f"validation worker {self.index} failed to start: {payload}")
        self.ready = True

    def send(self, batch: Batch) -> None:
        try:
            self.requests.send(batch)
        except OSError as err:  # BrokenPipeError: the worker is gone
            raise self._died(batch, err) from err
        self.outstanding += 1

    def has_result(self) -> bool:
        """Whether the oldest answer can be read without waiting (never blocks)."""
        return self.results.poll(0)

    def receive(self, batch: Batch) -> BatchResult:
        if not self.ready:
            self._read_ready(batch)
        try:
            kind, payload = self.results.recv()
        except (EOFError, OSError) as err:
            raise self._died(batch, err) from err
        self.outstanding -= 1
        if kind != "ok":
            raise WorkMagicError(
                f"validation worker {self.index} failed on {_rows(batch)}: {payload}; "
                "nothing was published"
            )
        result: BatchResult = payload
        return result

    def _died(self, batch: Batch | None, err: BaseException) -> WorkMagicError:
        try:
            code = self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            code = None
        if code is not None and code < 0:
            try:
                how = f"was killed by {signal.Signals(-code).name}"
            except ValueError:
                how = f"was killed by signal {-code}"
            if code == -signal.SIGKILL:
                how += " (out of memory?)"
        elif code is not None:
            how = f"exited with code {code} (its error is in the log above)"
        else:
            how = f"stopped answering ({type(err).__name__})"
        if batch is None:
            return WorkMagicError(
                f"validation worker {self.index} (pid {self.process.pid}) {how} while starting"
            )
        return WorkMagicError(
            f"validation worker {self.index} (pid {self.process.pid}) {how} while validating "
            f"{_rows(batch)}; nothing was published. Re-run, or set workers=0 to validate in "
            "this process."
        )

    def stop(self, *, kill: bool = False) -> None:
        """Close the pipes (the worker exits at end of input); kill it if asked or stuck."""
        if kill and self.process.poll() is None:
            self.process.kill()
        for connection in (self.requests, self.results):
            with contextlib.suppress(OSError):
                connection.close()
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _grow_pipe(fd: int) -> None:
    """Ask Linux for a 1 MiB pipe buffer (default 64 KiB): fewer wake-ups per batch."""
    try:
        import fcntl

        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except (ImportError, AttributeError, OSError):  # not Linux, or over the user's pipe quota
        pass


def _rows(batch: Batch) -> str:
    return f"rows {batch.first_row}-{batch.last_row}"
