"""WorkMagic REST client: Enrich Order API (POST/GET ``/enrich/orders``) and the Orders API.

Both APIs take ``{"orders": [...]}`` batches, so one client serves both; an :class:`ApiEndpoint`
says what differs (URL, auth header, id field). What WorkMagic does not publish is a documented,
configurable assumption (spec §8):

* **Batches** of ``batch_size`` orders (default :data:`DEFAULT_BATCH_SIZE` = 100), sent by
  ``max_workers`` threads (default 4) over one pooled HTTP/1.1 client, optionally throttled to
  ``max_rps`` requests per second.
* **2xx** = every order of the batch accepted.
* **429, 5xx, timeouts, dropped connections**: retried with exponential backoff and full jitter,
  up to ``RetryPolicy.max_attempts`` failed attempts. A 429's ``Retry-After`` pauses *every*
  worker until it has passed (a polite client does not hammer a rate limiter from four
  threads); 429s are honoured for up to ``RetryPolicy.max_rate_limited`` seconds per request
  and do not count as failed attempts.
* **401/403**: the key is wrong; everything stops with a message that names the connection and
  never the key.
* **Any other 4xx**: the batch is refused as a whole and never retried as is: it is split in
  halves until the offending orders are isolated, each then reported with the server's reason.
* **Orders older than the cutoff** (Enrich: 28 days before the run's data interval end) are
  skipped and reported, never sent (spec §5.4).
* **GET** ``/enrich/orders?start=&end=&limit=`` has no page token: :meth:`fetch_enriched`
  narrows the time window (halves it) until every page holds fewer than ``limit`` orders.

Every order ends with exactly one outcome: accepted, rejected (with reason), skipped (too old)
or failed (after retries). Re-sending an enrich order overwrites it (Decision 11), so retrying a
batch whose response was lost is safe.

``httpx`` is imported when a client is built, not when this module is imported.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from workmagic_provider.exceptions import WorkMagicConfigError, WorkMagicError

if TYPE_CHECKING:
    import httpx

    from workmagic_provider.hooks.workmagic import WorkMagicSettings

log = logging.getLogger(__name__)

#: Orders per POST (WorkMagic publishes no maximum; spec §8).
DEFAULT_BATCH_SIZE = 100
#: Concurrent requests.
DEFAULT_MAX_WORKERS = 4
#: ``limit`` of one GET page (WorkMagic's documented default).
DEFAULT_VERIFY_LIMIT = 100
#: The Enrich API does not apply orders older than four weeks (spec §5.4).
DEFAULT_MAX_ORDER_AGE = timedelta(days=28)

ENRICH_PATH = "/enrich/orders"
ORDERS_PATH = "/api/orders"

ACCEPTED = "accepted"
REJECTED = "rejected"
SKIPPED = "skipped_too_old"
FAILED = "failed"
OUTCOMES = (ACCEPTED, REJECTED, SKIPPED, FAILED)

#: The narrowest GET window; a full page at this width cannot be narrowed further.
_MIN_WINDOW = timedelta(milliseconds=1)


class WorkMagicApiError(WorkMagicError):
    """The WorkMagic API could not be used (its message never contains a key)."""


class WorkMagicApiAuthError(WorkMagicApiError):
    """The API refused the key (401/403)."""


@dataclass(frozen=True)
class RetryPolicy:
    """How a request is retried on 429, 5xx, timeouts and dropped connections.

    :param max_attempts: attempts per request that end in 5xx, a timeout or a dropped
        connection, the first included.
    :param max_rate_limited: seconds of 429 ``Retry-After`` waits one request accepts before it
        gives up (429s do not count as attempts).
    :param backoff: delay before the 2nd attempt; doubles per attempt (full jitter).
    :param max_backoff: cap of one backoff delay.
    :param max_retry_after: cap of a server's ``Retry-After``.
    :param timeout: seconds for connecting and for each read.
    """

    max_attempts: int = 6
    backoff: float = 0.5
    max_backoff: float = 30.0
    max_retry_after: float = 300.0
    timeout: float = 30.0
    max_rate_limited: float = 900.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise WorkMagicConfigError(f"max_attempts must be at least 1, got {self.max_attempts}")
        if self.backoff < 0 or self.timeout <= 0:
            raise WorkMagicConfigError("backoff must be >= 0 and timeout > 0")

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Full-jitter exponential backoff after failed attempt number ``attempt`` (1-based)."""
        return rng.uniform(0, min(self.max_backoff, self.backoff * 2 ** (attempt - 1)))


@dataclass(frozen=True)
class ApiEndpoint:
    """One WorkMagic API: where, how it authenticates, which field is the order id."""

    name: str
    base_url: str
    path: str
    auth_header: str
    auth_value: str = field(repr=False)
    id_field: str
    conn_id: str = "workmagic_default"
    key_hint: str = ""

    def __post_init__(self) -> None:
        # httpx encodes headers as ASCII; a pasted key with a stray character would otherwise
        # fail in the first request with a UnicodeEncodeError that carries the whole header
        if not all(" " <= ch <= "~" for ch in self.auth_value):
            raise WorkMagicConfigError(
                f"connection {self.conn_id!r}: the {self.name} key holds characters an HTTP "
                "header cannot carry (non-ASCII, a line break or a control character); copy it "
                "again from WorkMagic's UI"
            )

    @property
    def url(self) -> str:
        return self.base_url.rstrip("/") + self.path

    @classmethod
    def enrich(cls, settings: WorkMagicSettings) -> ApiEndpoint:
        """The Enrich Order API of a ``workmagic`` connection (key = the connection password)."""
        if not settings.enrich_api_key:
            raise WorkMagicConfigError(
                f"connection {settings.conn_id!r}: the Enrich API key is missing; put it in the "
                "connection's password (WorkMagic: Settings > Store Data Settings > Enrich Order "
                "API > Copy)"
            )
        return cls(
            name="Enrich Order API",
            base_url=settings.enrich_api_url,
            path=ENRICH_PATH,
            auth_header="Authorization",
            auth_value=f"Bearer {settings.enrich_api_key}",
            id_field="order_id",
            conn_id=settings.conn_id,
            key_hint="the connection's password must be the key shown under Settings > Store "
            "Data Settings > Enrich Order API (generating a new key invalidates the old one)",
        )

    @classmethod
    def orders(cls, settings: WorkMagicSettings) -> ApiEndpoint:
        """The custom-site Orders API of a ``workmagic`` connection (``orders_api_key``)."""
        if not settings.orders_api_key:
            raise WorkMagicConfigError(
                f"connection {settings.conn_id!r}, field orders_api_key: is not set (the "
                "X-API-KEY WorkMagic gave you for the custom-site Orders API)"
            )
        return cls(
            name="Orders API",
            base_url=settings.orders_api_url,
            path=ORDERS_PATH,
            auth_header="X-API-KEY",
            auth_value=settings.orders_api_key,
            id_field="id",
            conn_id=settings.conn_id,
            key_hint="field orders_api_key must be the X-API-KEY WorkMagic issued for your "
            "custom site",
        )


@dataclass(frozen=True)
class ApiOrder:
    """One validated order ready to send: its input row, id, compact JSON and timestamp."""

    row: int
    order_id: str
    body: bytes
    timestamp: datetime | None = None


@dataclass(frozen=True)
class OrderOutcome:
    """What happened to one order that was not accepted (accepted ones are only counted)."""

    row: int
    order_id: str
    outcome: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "order_id": self.order_id,
            "outcome": self.outcome,
            "reason": self.reason,
        }


@dataclass
class SendResult:
    """Per-outcome counts, the orders that were not accepted, and request statistics."""

    counts: Counter[str] = field(default_factory=Counter)
    problems: list[OrderOutcome] = field(default_factory=list)
    requests: int = 0
    retries: int = 0
    splits: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def accepted(self) -> int:
        return self.counts[ACCEPTED]

    def of(self, outcome: str) -> list[OrderOutcome]:
        return [p for p in self.problems if p.outcome == outcome]

    def summary(self) -> dict[str, Any]:
        return {
            **{name: self.counts[name] for name in OUTCOMES},
            "requests": self.requests,
            "retries": self.retries,
            "splits": self.splits,
            "statuses": dict(sorted(self.statuses.items())),
            "seconds": round(self.seconds, 3),
        }


class _Stop(Exception):
    """Another worker hit a fatal error; abandon this batch."""


class WorkMagicApiClient:
    """Batched, concurrent, retrying client of one WorkMagic API endpoint.

    :param endpoint: the API (:meth:`ApiEndpoint.enrich` / :meth:`ApiEndpoint.orders`).
    :param batch_size: orders per request.
    :param max_workers: concurrent requests.
    :param retry: the :class:`RetryPolicy`.
    :param max_rps: at most this many requests per second (None: no limit).
    """

    def __init__(
        self,
        endpoint: ApiEndpoint,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_workers: int = DEFAULT_MAX_WORKERS,
        retry: RetryPolicy | None = None,
        max_rps: float | None = None,
        logger: Any = None,
        seed: int | None = None,
    ) -> None:
        if batch_size < 1 or max_workers < 1:
            raise WorkMagicConfigError("batch_size and max_workers must be at least 1")
        if max_rps is not None and max_rps <= 0:
            raise WorkMagicConfigError(f"max_rps must be positive, got {max_rps}")
        self.endpoint = endpoint
        self.batch_size = batch_size
        self.max_workers = max_workers
        self.retry = retry or RetryPolicy()
        self.max_rps = max_rps
        self.log = logger or log
        self._rng = random.Random(seed)
        self._secret = endpoint.auth_value.removeprefix("Bearer ")
        self._lock = threading.Lock()
        self._pause_until = 0.0
        self._next_slot = 0.0
        self._stop = threading.Event()
        self._http: httpx.Client | None = None

    # ------------------------------------------------------------------ plumbing
    @property
    def http(self) -> httpx.Client:
        if self._http is None:
            import httpx

            # httpx logs every request at INFO; one line per batch is ours to write.
            httpx_log = logging.getLogger("httpx")
            if httpx_log.level == logging.NOTSET:
                httpx_log.setLevel(logging.WARNING)
            self._http = httpx.Client(
                headers={
                    self.endpoint.auth_header: self.endpoint.auth_value,
                    "Content-Type": "application/json",
                    "Accept": "application/json",
                    "User-Agent": "airflow-provider-workmagic",
                },
                timeout=httpx.Timeout(self.retry.timeout),
                limits=httpx.Limits(
                    max_connections=self.max_workers + 1,
                    max_keepalive_connections=self.max_workers + 1,
                ),
                follow_redirects=False,
            )
        return self._http

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    def __enter__(self) -> WorkMagicApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def redact(self, text: str) -> str:
        return text.replace(self._secret, "***") if self._secret else text

    def _auth_error(self, status: int) -> WorkMagicApiAuthError:
        meaning = "Unauthorized" if status == 401 else "Forbidden"
        return WorkMagicApiAuthError(
            f"WorkMagic {self.endpoint.name} answered {status} {meaning}: it refused the API key "
            f"of connection {self.endpoint.conn_id!r} ({self.endpoint.url}). "
            f"{self.endpoint.key_hint}."
        )

    def _wait_turn(self) -> None:
        """Sleep through a shared Retry-After pause and the ``max_rps`` throttle."""
        while True:
            if self._stop.is_set():
                raise _Stop
            with self._lock:
                now = time.monotonic()
                wait_for = self._pause_until - now
                if wait_for <= 0:
                    if self.max_rps is None:
                        return
                    slot = max(self._next_slot, now)
                    self._next_slot = slot + 1.0 / self.max_rps
                    wait_for = slot - now
                    if wait_for <= 0:
                        return
                    throttled = True
                else:
                    throttled = False
            self._stop.wait(wait_for)
            if throttled:
                return

    def _pause(self, seconds: float) -> None:
        with self._lock:
            self._pause_until = max(self._pause_until, time.monotonic() + seconds)

    def _retry_after(self, response: httpx.Response) -> float | None:
        value = response.headers.get("Retry-After")
        if not value:
            return None
        try:
            seconds = float(value)
        except ValueError:
            from email.utils import parsedate_to_datetime

            try:
                seconds = (
                    parsedate_to_datetime(value) - datetime.now(timezone.utc)
                ).total_seconds()
            except (TypeError, ValueError):
                return None
        return min(max(seconds, 0.0), self.retry.max_retry_after)

    def _reason(self, response: httpx.Response) -> str:
        """The server's reason for a refusal, short and without secrets."""
        try:
            payload = response.json()
        except ValueError:
            payload = None
        reason = None
        if isinstance(payload, dict):
            errors = payload.get("errors")
            if isinstance(errors, list) and errors and isinstance(errors[0], dict):
                reason = errors[0].get("reason") or errors[0].get("message")
            reason = reason or payload.get("message") or payload.get("error")
            reason = reason or payload.get("detail")
        if not reason:
            reason = response.text[:200] or response.reason_phrase
        return self.redact(f"HTTP {response.status_code}: {reason}")

    def request(
        self, method: str, *, content: bytes | None = None, params: dict[str, Any] | None = None
    ) -> tuple[httpx.Response | None, str, SendResult]:
        """One logical request with retries: (final response or None, last problem, stats).

        Returns the response of the first attempt that is not retryable (2xx or a permanent
        4xx); ``None`` when every attempt failed. 401/403 raise :class:`WorkMagicApiAuthError`.
        """
        import httpx

        stats = SendResult()
        problem = ""
        failures = 0  # 5xx, timeouts, dropped connections: counted against max_attempts
        limited_for = 0.0  # seconds waited on 429s: bounded by max_rate_limited
        while True:
            self._wait_turn()
            stats.requests += 1
            if stats.requests > 1:
                stats.retries += 1
            retry_after = None
            try:
                response = self.http.request(
                    method, self.endpoint.url, content=content, params=params
                )
            except httpx.TransportError as err:
                stats.statuses[type(err).__name__] += 1
                problem = self.redact(
                    f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
                )
            else:
                status = response.status_code
                stats.statuses[str(status)] += 1
                if status in (401, 403):
                    self._stop.set()
                    raise self._auth_error(status)
                if status < 400:
                    return response, "", stats
                if status != 429 and status < 500:
                    return response, self._reason(response), stats
                problem = self._reason(response)
                if status == 429:
                    retry_after = self._retry_after(response)
                    if retry_after is None:
                        retry_after = self.retry.delay(max(failures, 1), self._rng)
            if retry_after is not None:
                # a rate limit is the server saying when to come back: honoured for a bounded
                # time, not counted as a failure; everyone waits, with a little jitter
                limited_for += retry_after
                if limited_for > self.retry.max_rate_limited:
                    problem += f" (rate limited for {limited_for:.0f} s)"
                    break
                self._pause(retry_after + self._rng.uniform(0, 0.1 * max(retry_after, 0.1)))
                continue
            failures += 1
            if failures >= self.retry.max_attempts:
                break
            self._stop.wait(self.retry.delay(failures, self._rng))
        return None, problem, stats

    # ------------------------------------------------------------------ POST
    def post_orders(
        self, orders: Iterable[ApiOrder], *, not_before: datetime | None = None
    ) -> SendResult:
        """Send every order once; return each one's outcome (see the module doc).

        ``orders`` is consumed lazily: at most ``2 * max_workers`` batches are held at a time.
        Orders whose ``timestamp`` is before ``not_before`` are skipped, not sent.
        Raises :class:`WorkMagicApiAuthError` (after stopping every worker) on 401/403.
        """
        result = SendResult()
        started = time.perf_counter()
        self._stop.clear()
        pending: set[Future[SendResult]] = set()
        number = 0
        with ThreadPoolExecutor(self.max_workers, thread_name_prefix="workmagic-api") as pool:
            try:
                for batch in self._batches(orders, not_before, result):
                    number += 1
                    pending.add(pool.submit(self._deliver_batch, number, batch))
                    while len(pending) >= 2 * self.max_workers:
                        done, pending = wait(pending, return_when=FIRST_COMPLETED)
                        for future in done:
                            self._merge(result, future.result())
                done, _ = wait(pending)
                for future in done:
                    self._merge(result, future.result())
            except BaseException:
                self._stop.set()
                for future in pending:
                    future.cancel()
                raise
        result.seconds = time.perf_counter() - started
        return result

    @staticmethod
    def _merge(result: SendResult, part: SendResult) -> None:
        result.counts.update(part.counts)
        result.problems.extend(part.problems)
        result.requests += part.requests
        result.retries += part.retries
        result.splits += part.splits
        result.statuses.update(part.statuses)

    def _batches(
        self, orders: Iterable[ApiOrder], not_before: datetime | None, result: SendResult
    ) -> Iterator[list[ApiOrder]]:
        batch: list[ApiOrder] = []
        for order in orders:
            if (
                not_before is not None
                and order.timestamp is not None
                and order.timestamp < not_before
            ):
                result.counts[SKIPPED] += 1
                result.problems.append(
                    OrderOutcome(
                        order.row,
                        order.order_id,
                        SKIPPED,
                        f"order_timestamp {order.timestamp.isoformat()} is before "
                        f"{not_before.isoformat()}: WorkMagic does not apply orders older "
                        "than 4 weeks (coordinate with WorkMagic support to send them)",
                    )
                )
                continue
            batch.append(order)
            if len(batch) >= self.batch_size:
                yield batch
                batch = []
        if batch:
            yield batch

    def _deliver_batch(self, number: int, batch: list[ApiOrder]) -> SendResult:
        result = SendResult()
        try:
            self._deliver(batch, result)
        except _Stop:
            for order in batch:
                result.counts[FAILED] += 1
                result.problems.append(
                    OrderOutcome(order.row, order.order_id, FAILED, "stopped after a fatal error")
                )
        accepted = result.counts[ACCEPTED]
        self.log.info(
            "batch %d: %d orders, %d accepted%s (%d request%s)",
            number,
            len(batch),
            accepted,
            "".join(
                f", {result.counts[name]} {name.replace('_', ' ')}"
                for name in (REJECTED, FAILED)
                if result.counts[name]
            ),
            result.requests,
            "" if result.requests == 1 else "s",
        )
        return result

    def _deliver(self, batch: Sequence[ApiOrder], result: SendResult) -> None:
        body = b'{"orders":[' + b",".join(order.body for order in batch) + b"]}"
        response, problem, stats = self.request("POST", content=body)
        self._merge(result, stats)
        if response is not None and response.status_code < 400:
            result.counts[ACCEPTED] += len(batch)
            return
        if response is None:  # retries exhausted
            for order in batch:
                result.counts[FAILED] += 1
                result.problems.append(
                    OrderOutcome(
                        order.row,
                        order.order_id,
                        FAILED,
                        f"failed after {stats.requests} attempts: {problem}",
                    )
                )
            return
        if len(batch) == 1:
            order = batch[0]
            result.counts[REJECTED] += 1
            result.problems.append(OrderOutcome(order.row, order.order_id, REJECTED, problem))
            return
        named = self._named_errors(response, batch)
        if named:
            # the server said which orders it refused: report those, re-send the rest
            for index, reason in named.items():
                order = batch[index]
                result.counts[REJECTED] += 1
                result.problems.append(OrderOutcome(order.row, order.order_id, REJECTED, reason))
            rest = [order for index, order in enumerate(batch) if index not in named]
            if rest:
                result.splits += 1
                self._deliver(rest, result)
            return
        # refused as a whole, reasons unknown: split to isolate the offending orders
        result.splits += 1
        middle = len(batch) // 2
        self._deliver(batch[:middle], result)
        self._deliver(batch[middle:], result)

    def _named_errors(
        self, response: httpx.Response, batch: Sequence[ApiOrder]
    ) -> dict[int, str] | None:
        """Per-order refusals in a 4xx body (``{"errors": [{"index", "order_id", "reason"}]}``).

        Used only when every entry points at an order of ``batch`` (by index, and by id when
        the entry names one); anything else returns None and the batch is bisected.
        """
        try:
            payload = response.json()
        except ValueError:
            return None
        errors = payload.get("errors") if isinstance(payload, dict) else None
        if not isinstance(errors, list) or not errors:
            return None
        named: dict[int, str] = {}
        for entry in errors:
            if not isinstance(entry, dict):
                return None
            index = entry.get("index")
            if isinstance(index, bool) or not isinstance(index, int):
                return None
            if not 0 <= index < len(batch):
                return None
            order_id = entry.get("order_id", entry.get("id"))
            if order_id is not None and str(order_id) != batch[index].order_id:
                return None
            reason = entry.get("reason") or entry.get("message") or "refused"
            named[index] = self.redact(f"HTTP {response.status_code}: {reason}")
        return named

    # ------------------------------------------------------------------ GET
    def fetch_enriched(
        self, start: datetime, end: datetime, *, limit: int = DEFAULT_VERIFY_LIMIT
    ) -> FetchResult:
        """Every enriched order with ``start <= order_timestamp <= end``, by narrowing windows."""
        if self.endpoint.path != ENRICH_PATH:
            raise WorkMagicConfigError("only the Enrich Order API can be read back (GET)")
        if limit < 1:
            raise WorkMagicConfigError(f"limit must be at least 1, got {limit}")
        self._stop.clear()
        fetched = FetchResult()

        def page(low: datetime, high: datetime) -> tuple[datetime, datetime, list[dict[str, Any]]]:
            response, problem, stats = self.request(
                "GET", params={"start": iso_z(low), "end": iso_z(high), "limit": str(limit)}
            )
            with self._lock:
                fetched.requests += stats.requests
            if response is None or response.status_code >= 400:
                raise WorkMagicApiError(
                    f"reading back {self.endpoint.url} for {iso_z(low)}..{iso_z(high)} failed: "
                    f"{problem}"
                )
            return low, high, _orders_of(response)

        # windows are read concurrently; a full page is dropped and its window halved
        with ThreadPoolExecutor(self.max_workers, thread_name_prefix="workmagic-get") as pool:
            pending = {pool.submit(page, _utc(start), _utc(end))}
            try:
                while pending:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        low, high, orders = future.result()
                        if len(orders) >= limit and high - low > _MIN_WINDOW:
                            middle = low + (high - low) / 2
                            pending.add(pool.submit(page, low, middle))
                            pending.add(pool.submit(page, middle, high))
                            continue
                        if len(orders) >= limit:
                            fetched.truncated_windows.append((iso_z(low), iso_z(high)))
                        for order in orders:
                            order_id = order.get("order_id")
                            if isinstance(order_id, str):
                                fetched.orders[order_id] = order
            except BaseException:
                self._stop.set()
                for future in pending:
                    future.cancel()
                raise
        return fetched


@dataclass
class FetchResult:
    """Orders read back with GET (by id), requests made, windows that stayed full."""

    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: int = 0
    truncated_windows: list[tuple[str, str]] = field(default_factory=list)


def _orders_of(response: httpx.Response) -> list[dict[str, Any]]:
    """The orders of a GET page: ``{"orders": [...]}``, ``{"data": [...]}`` or a bare list."""
    try:
        payload = response.json()
    except ValueError as err:
        raise WorkMagicApiError(
            f"GET {response.request.url.copy_with(query=None)} did not return JSON"
        ) from err
    if isinstance(payload, dict):
        payload = payload.get("orders", payload.get("data", []))
    if not isinstance(payload, list):
        raise WorkMagicApiError("GET /enrich/orders returned neither a list nor {'orders': [...]}")
    return [item for item in payload if isinstance(item, dict)]


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise WorkMagicConfigError(f"datetime {moment.isoformat()} has no time zone")
    return moment.astimezone(timezone.utc)


def iso_z(moment: datetime) -> str:
    """UTC ISO 8601 with ``Z`` (milliseconds only when there are any)."""
    moment = _utc(moment)
    if moment.microsecond:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: Any) -> datetime | None:
    """An ISO 8601 timestamp with a zone as an aware UTC datetime, else None."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(timezone.utc)


def same_enrichment(sent: dict[str, Any], stored: dict[str, Any] | None) -> bool:
    """Whether WorkMagic holds what was sent (timestamp instant, amounts, currency)."""
    if stored is None:
        return False
    if parse_iso(sent.get("order_timestamp")) != parse_iso(stored.get("order_timestamp")):
        return False
    for name in ("sales_amount", "profit_amount"):
        a, b = sent.get(name), stored.get(name)
        if not isinstance(a, (int, float)) or not isinstance(b, (int, float)):
            return False
        if abs(float(a) - float(b)) > 1e-6 * max(1.0, abs(float(a))):
            return False
    return (sent.get("currency") or "USD") == (stored.get("currency") or "USD")


def order_from_json(row: int, body: bytes, id_field: str, time_field: str | None) -> ApiOrder:
    """An :class:`ApiOrder` from one validated row's compact JSON."""
    document = json.loads(body)
    timestamp = parse_iso(document.get(time_field)) if time_field else None
    return ApiOrder(row, str(document[id_field]), body, timestamp)


__all__ = [
    "ACCEPTED",
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_MAX_ORDER_AGE",
    "DEFAULT_MAX_WORKERS",
    "DEFAULT_VERIFY_LIMIT",
    "FAILED",
    "REJECTED",
    "SKIPPED",
    "ApiEndpoint",
    "ApiOrder",
    "FetchResult",
    "OrderOutcome",
    "RetryPolicy",
    "SendResult",
    "WorkMagicApiAuthError",
    "WorkMagicApiClient",
    "WorkMagicApiError",
    "iso_z",
    "parse_iso",
    "same_enrichment",
]
