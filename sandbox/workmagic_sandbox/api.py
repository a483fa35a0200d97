"""Loopback stand-in for WorkMagic's REST APIs: Enrich Order API and the custom-site Orders API.

Endpoints (what WorkMagic does not publish is an assumption listed in the README):

* ``POST /enrich/orders`` with ``Authorization: Bearer <key>`` and ``{"orders": [...]}``: every
  order must be well formed, known (seeded, or posted to ``/api/orders`` before) and not older
  than four weeks by the server's clock. A request is applied atomically: all orders or none
  (400 with ``{"errors": [{"index", "order_id", "reason"}]}``). Re-sending an ``order_id``
  overwrites (last write wins); the same ``order_id`` twice in one request is refused.
* ``GET /enrich/orders?start=&end=&limit=``: enriched orders whose ``order_timestamp`` lies in
  ``[start, end]`` (both inclusive, as in WorkMagic's example), oldest first, at most ``limit``
  (default 100, capped at ``max_limit``). No page token: clients narrow the window.
* ``POST /api/orders`` with ``X-API-KEY: <key>``: custom-site orders (upsert by ``id``); each
  posted id becomes a known order the Enrich API may then modify.

The rules are checked by :mod:`.api_rules` (the sandbox's own lines, not the provider's models:
a client bug and a server bug cannot agree by construction). State lives in a SQLite file
(:mod:`.api_store`), committed before each response, so stopping and starting the server (same
port, same file) loses nothing. Every accepted order is also appended to a delivery log (one row
per order per accepted request, never updated), so tests can assert "enriched exactly once" and
not only the final state. The HTTP plumbing is :mod:`.api_http`.

Fault injection (:class:`ApiFaults`, changeable while running): latency, 429 storms with
``Retry-After``, random 500s, connections dropped without a response, an outage of a given
length. Faults strike before anything is applied, so only a retry after a lost *response* can
deliver an order twice. Storms and outages are timed on ``monotonic``, which a test may point
at the client's simulated clock, so "down for 30 s" need not last 30 s of wall time.
"""

from __future__ import annotations

import json
import random
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from workmagic_sandbox.api_http import Dropped, Server
from workmagic_sandbox.api_rules import (
    MAX_ORDER_AGE,
    check_custom_order,
    check_enrich_order,
    parse_timestamp,
)
from workmagic_sandbox.api_store import ApiStore

DEFAULT_ENRICH_API_KEY = "sandbox-enrich-api-key"
DEFAULT_ORDERS_API_KEY = "sandbox-orders-api-key"
MAX_BATCH = 1000
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


@dataclass
class ApiFaults:
    """Fault switches; assign new values at any time (they are read per request).

    :param latency: seconds added before answering every request.
    :param error_rate: probability of a 500 (nothing applied).
    :param drop_rate: probability of closing the connection without a response (nothing applied).
    :param rate_limit_every / rate_limit_burst: 429 storms: of every ``every`` requests
        (counted by the server), the first ``burst`` get 429 with ``Retry-After``.
    :param storm_every / storm_seconds: timed 429 storms: every ``storm_every``-th request
        starts a storm in which every request for ``storm_seconds`` gets 429.
    :param retry_after: the ``Retry-After`` value in seconds (tests use 1).
    :param seed: seed of the random faults (None: not reproducible).
    :param per_order_errors: name the refused orders in a 400 body; False answers only
        "request refused" (clients must then bisect).
    :param outage_after / outage_seconds: the ``outage_after``-th request starts an outage in
        which every request for ``outage_seconds`` is cut without an answer (the API is down).
    """

    latency: float = 0.0
    error_rate: float = 0.0
    drop_rate: float = 0.0
    rate_limit_every: int = 0
    rate_limit_burst: int = 0
    storm_every: int = 0
    storm_seconds: float = 0.0
    retry_after: float = 1.0
    seed: int | None = None
    per_order_errors: bool = True
    outage_after: int = 0
    outage_seconds: float = 0.0


@dataclass
class RequestRecord:
    method: str
    path: str
    status: int
    orders: int = 0
    at: float = 0.0  # the server's ``monotonic()`` at the answer


@dataclass
class _State:
    """Counters of the running server (in memory; the orders themselves are in SQLite)."""

    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    log: list[RequestRecord] = field(default_factory=list)
    dropped: int = 0


def _wall_clock() -> datetime:
    return datetime.now(timezone.utc)


class ApiSandboxServer:
    """WorkMagic's Enrich and Orders APIs on a loopback port (0 picks a free one).

    :param state_path: SQLite file of the server's state (default: a new temporary file, kept
        across :meth:`stop`/:meth:`start` and removed by :meth:`close`).
    :param clock: "now" of the four-week rule (default: the wall clock, UTC). Tests that use
        fixed historical hours set it to a moment just after their hour.
    :param monotonic: the seconds storms and outages are timed on (default ``time.monotonic``).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        state_path: str | Path | None = None,
        enrich_api_key: str = DEFAULT_ENRICH_API_KEY,
        orders_api_key: str = DEFAULT_ORDERS_API_KEY,
        max_age: timedelta = MAX_ORDER_AGE,
        max_batch: int = MAX_BATCH,
        max_limit: int = MAX_LIMIT,
        clock: Callable[[], datetime] | None = None,
        monotonic: Callable[[], float] | None = None,
        faults: ApiFaults | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self._own_dir: tempfile.TemporaryDirectory[str] | None = None
        if state_path is None:
            self._own_dir = tempfile.TemporaryDirectory(prefix="wm-api-sandbox-")
            state_path = Path(self._own_dir.name) / "state.sqlite"
        self.state_path = Path(state_path)
        self.enrich_api_key = enrich_api_key
        self.orders_api_key = orders_api_key
        self.max_age = max_age
        self.max_batch = max_batch
        self.max_limit = max_limit
        self.clock: Callable[[], datetime] = clock or _wall_clock
        self.monotonic: Callable[[], float] = monotonic or time.monotonic
        self._faults = faults or ApiFaults()
        #: Called with (api, order ids) after each accepted request is committed.
        self.delivery_listeners: list[Callable[[str, list[str]], None]] = []
        self._rng = random.Random(self._faults.seed)
        self._store = ApiStore(self.state_path)
        self._httpd: Server | None = None
        self._thread: threading.Thread | None = None
        self._stats = _State()
        self._stats_lock = threading.Lock()
        self._storm_until = float("-inf")
        self._outage_until = float("-inf")

    @property
    def faults(self) -> ApiFaults:
        return self._faults

    @faults.setter
    def faults(self, value: ApiFaults) -> None:
        """New fault switches; their ``seed`` restarts the random faults."""
        self._faults = value
        self._rng = random.Random(value.seed)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> ApiSandboxServer:
        if self._httpd is not None:
            return self
        self._store.open()
        httpd = Server((self.host, self.port), self)
        self.port = int(httpd.server_address[1])
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop like a killed process: stop listening, cut open connections; keep the file."""
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
            httpd.drop_all_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._store.close()

    def close(self) -> None:
        """Stop and delete the state file if the server created it."""
        self.stop()
        if self._own_dir is not None:
            self._own_dir.cleanup()
            self._own_dir = None

    @property
    def running(self) -> bool:
        return self._httpd is not None

    @property
    def endpoint(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the API sandbox is not started")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}"

    def reset(self) -> None:
        """Forget every order, delivery and counter; keep keys, faults and the port."""
        self._store.clear()
        with self._stats_lock:
            self._stats = _State()
            self._storm_until = float("-inf")
            self._outage_until = float("-inf")
        self.faults = ApiFaults()
        self.delivery_listeners.clear()
        self.clock = _wall_clock
        self.monotonic = time.monotonic

    # ------------------------------------------------------------------ seeding and reading
    def seed_orders(self, order_ids: Iterable[str], source: str = "seed") -> int:
        """Make orders known (as if ingested from an integrated channel); returns how many."""
        return self._store.seed(order_ids, source)

    def enriched(self) -> dict[str, dict[str, Any]]:
        """Current enrich state: order id -> the last accepted values."""
        return self._store.enriched()

    def custom_orders(self) -> dict[str, dict[str, Any]]:
        """Orders posted to the Orders API: id -> the last posted body."""
        return self._store.custom_orders()

    def delivery_counts(self, api: str = "enrich") -> Counter[str]:
        """How many accepted requests carried each order id (from the append-only log)."""
        return self._store.delivery_counts(api)

    @property
    def statuses(self) -> Counter[int]:
        """Responses by status code since the last reset (dropped connections not counted)."""
        with self._stats_lock:
            return Counter(self._stats.statuses)

    @property
    def dropped(self) -> int:
        """Connections cut without an answer (random drops and outages) since the last reset."""
        with self._stats_lock:
            return self._stats.dropped

    @property
    def requests(self) -> list[RequestRecord]:
        with self._stats_lock:
            return list(self._stats.log)

    def record(self, method: str, path: str, status: int, orders: int) -> None:
        """Count one answered request (the HTTP handler calls this)."""
        with self._stats_lock:
            self._stats.statuses[status] += 1
            self._stats.log.append(RequestRecord(method, path, status, orders, self.monotonic()))

    # ------------------------------------------------------------------ request handling
    def handle(
        self, method: str, target: str, headers: Any, body: bytes
    ) -> tuple[int, Any, dict[str, str], int]:
        """One request: (status, JSON payload, extra headers, orders applied)."""
        faults = self.faults
        with self._stats_lock:
            self._stats.requests += 1
            number = self._stats.requests
            fault_roll = self._rng.random()
            now = self.monotonic()
            if faults.storm_every > 0 and number % faults.storm_every == 0:
                self._storm_until = max(self._storm_until, now + faults.storm_seconds)
            in_storm = now < self._storm_until
            if faults.outage_after > 0 and number == faults.outage_after:
                self._outage_until = now + faults.outage_seconds
            down = now < self._outage_until
            if down:
                self._stats.dropped += 1
        if down:
            raise Dropped
        if faults.latency > 0:
            time.sleep(faults.latency)
        url = urlsplit(target)
        route = (method, url.path.rstrip("/"))
        if route not in (
            ("POST", "/enrich/orders"),
            ("GET", "/enrich/orders"),
            ("POST", "/api/orders"),
        ):
            return 404, {"error": f"no route {method} {url.path}"}, {}, 0
        # authentication comes first: a wrong key gets 401 even in a storm
        if url.path.startswith("/enrich"):
            auth = headers.get("Authorization") or ""
            if auth != f"Bearer {self.enrich_api_key}":
                return 401, {"error": "invalid or missing API key (Authorization: Bearer)"}, {}, 0
        elif headers.get("X-API-KEY") != self.orders_api_key:
            return 401, {"error": "invalid or missing API key (X-API-KEY)"}, {}, 0
        every, burst = faults.rate_limit_every, faults.rate_limit_burst
        if in_storm or (every > 0 and burst > 0 and (number - 1) % every < burst):
            retry_after = faults.retry_after
            shown = str(int(retry_after)) if retry_after == int(retry_after) else str(retry_after)
            return 429, {"error": "rate limit exceeded"}, {"Retry-After": shown}, 0
        if fault_roll < faults.drop_rate:
            with self._stats_lock:
                self._stats.dropped += 1
            raise Dropped
        if fault_roll < faults.drop_rate + faults.error_rate:
            return 500, {"error": "internal error (injected)"}, {}, 0
        if method == "GET":
            return self._get_enriched(parse_qs(url.query))
        try:
            document = json.loads(body)
        except ValueError:
            return 400, {"error": "body is not valid JSON"}, {}, 0
        orders = document.get("orders") if isinstance(document, dict) else None
        if not isinstance(orders, list) or not orders:
            return 400, {"error": 'body must be {"orders": [ ... ]} with at least one order'}, {}, 0
        if len(orders) > self.max_batch:
            return 413, {"error": f"at most {self.max_batch} orders per request"}, {}, 0
        if url.path.startswith("/enrich"):
            return self._post_enrich(orders, number)
        return self._post_custom(orders, number)

    def _post_enrich(self, orders: list[Any], number: int) -> tuple[int, Any, dict[str, str], int]:
        now = self.clock()
        errors = []
        seen: set[str] = set()
        for index, order in enumerate(orders):
            reason = check_enrich_order(order, now, self.max_age)
            order_id = order.get("order_id") if isinstance(order, dict) else None
            if reason is None and order_id in seen:
                reason = "duplicate order_id in one request (ids must be unique)"
            if reason:
                errors.append({"index": index, "order_id": order_id, "reason": reason})
            elif isinstance(order_id, str):
                seen.add(order_id)
        if not errors:
            unknown = self._store.unknown(seen)
            errors = [
                {
                    "index": index,
                    "order_id": order["order_id"],
                    "reason": "unknown order_id: the Enrich API only modifies orders WorkMagic "
                    "already has",
                }
                for index, order in enumerate(orders)
                if order["order_id"] in unknown
            ]
        if errors:
            return 400, self._refusal(errors), {}, 0
        stamps = [parse_timestamp(o["order_timestamp"]) for o in orders]
        self._store.apply_enrich(orders, stamps, number)  # type: ignore[arg-type]
        self._notify("enrich", [o["order_id"] for o in orders])
        return 200, {"accepted": len(orders)}, {}, len(orders)

    def _post_custom(self, orders: list[Any], number: int) -> tuple[int, Any, dict[str, str], int]:
        errors = []
        seen: set[str] = set()
        for index, order in enumerate(orders):
            reason = check_custom_order(order)
            order_id = order.get("id") if isinstance(order, dict) else None
            if reason is None and order_id in seen:
                reason = "duplicate id in one request"
            if reason:
                errors.append({"index": index, "id": order_id, "reason": reason})
            elif isinstance(order_id, str):
                seen.add(order_id)
        if errors:
            return 400, self._refusal(errors), {}, 0
        self._store.apply_custom(orders, number)
        self._notify("orders", [o["id"] for o in orders])
        return 200, {"accepted": len(orders)}, {}, len(orders)

    def _get_enriched(self, query: dict[str, list[str]]) -> tuple[int, Any, dict[str, str], int]:
        bounds = []
        for name in ("start", "end"):
            moment = parse_timestamp((query.get(name) or [""])[0])
            if moment is None:
                return 400, {"error": f"{name} must be an ISO 8601 timestamp"}, {}, 0
            bounds.append(moment.timestamp())
        limit_text = (query.get("limit") or [str(DEFAULT_LIMIT)])[0]
        if not limit_text.isdigit() or int(limit_text) < 1:
            return 400, {"error": "limit must be a positive integer"}, {}, 0
        limit = min(int(limit_text), self.max_limit)
        orders = self._store.enriched_between(bounds[0], bounds[1], limit)
        return 200, {"orders": orders, "count": len(orders), "limit": limit}, {}, 0

    def _refusal(self, errors: list[dict[str, Any]]) -> dict[str, Any]:
        if self.faults.per_order_errors:
            return {"error": "request refused", "errors": errors}
        return {"error": f"request refused: {errors[0]['reason']} (and maybe others)"}

    def _notify(self, api: str, order_ids: list[str]) -> None:
        for listener in list(self.delivery_listeners):
            listener(api, order_ids)


__all__ = [
    "DEFAULT_ENRICH_API_KEY",
    "DEFAULT_ORDERS_API_KEY",
    "ApiFaults",
    "ApiSandboxServer",
    "check_custom_order",
    "check_enrich_order",
]
