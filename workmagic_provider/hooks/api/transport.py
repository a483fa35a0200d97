"""One logical request to a WorkMagic API, retried for a bounded time, shared by many threads.

Retries run on tenacity (as the http provider's ``run_with_advanced_retry`` does), on the
injected :class:`~workmagic_provider.hooks.api.clock.Clock`:

* **429**: the server's ``Retry-After`` (capped; with a little jitter) pauses *every* worker of
  the transport, not only the one that was throttled: a polite client does not keep hammering a
  rate limiter from its other threads.
* **5xx, timeouts, dropped or refused connections**: full-jitter exponential backoff.
* Both are retried for at most ``RetryPolicy.retry_for`` seconds per request, measured from its
  first attempt, so a routine API restart (tens of seconds) costs nothing but time.
* **401/403**: every worker stops at once (:class:`WorkMagicApiAuthError`, naming the
  connection, never the key). **Other 4xx** are the caller's to handle (never retried as is).

``httpx`` is imported when the first request is made, not when this module is imported.
"""

from __future__ import annotations

import logging
import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import tenacity

from workmagic_provider.exceptions import (
    WorkMagicApiAuthError,
    WorkMagicConfigError,
)
from workmagic_provider.hooks.api.clock import SYSTEM_CLOCK, Clock
from workmagic_provider.hooks.api.endpoint import ApiEndpoint
from workmagic_provider.redaction import redact

if TYPE_CHECKING:
    import httpx


@dataclass(frozen=True)
class RetryPolicy:
    """How long and how a request is retried on 429, 5xx, timeouts and dropped connections.

    :param retry_for: seconds one request keeps retrying, from its first attempt (Retry-After
        pauses included); then its orders are reported as failed.
    :param backoff: upper bound of the first backoff delay; doubles per attempt (full jitter).
    :param max_backoff: cap of one backoff delay.
    :param max_retry_after: cap of a server's ``Retry-After``.
    :param default_retry_after: pause after a 429 that names no ``Retry-After``.
    :param timeout: seconds for connecting and for each read.
    """

    retry_for: float = 120.0
    backoff: float = 0.5
    max_backoff: float = 30.0
    max_retry_after: float = 300.0
    default_retry_after: float = 1.0
    timeout: float = 30.0

    def __post_init__(self) -> None:
        if self.retry_for < 0:
            raise WorkMagicConfigError(f"retry_for must not be negative, got {self.retry_for}")
        if self.backoff < 0 or self.timeout <= 0:
            raise WorkMagicConfigError("backoff must be >= 0 and timeout > 0")


@dataclass
class Reply:
    """The outcome of one logical request: the final response (None when retries ran out),
    the last problem seen, and what it took."""

    response: httpx.Response | None = None
    problem: str = ""
    requests: int = 0
    statuses: Counter[str] = field(default_factory=Counter)

    @property
    def retries(self) -> int:
        return max(self.requests - 1, 0)


class Stopped(Exception):
    """Another worker hit a fatal error (401/403): abandon this request."""


class _Transient(Exception):
    """A failed attempt worth retrying (a 429 is ``rate_limited``: paused, not backed off)."""

    def __init__(self, problem: str, *, rate_limited: bool = False) -> None:
        super().__init__(problem)
        self.problem = problem
        self.rate_limited = rate_limited


class Transport:
    """Pooled HTTP/1.1 client of one endpoint with the shared pause, throttle and retries.

    :param max_connections: pooled connections (one per worker thread).
    :param max_rps: at most this many requests per second over all threads (None: no limit).
    """

    def __init__(
        self,
        endpoint: ApiEndpoint,
        *,
        policy: RetryPolicy | None = None,
        max_connections: int = 4,
        max_rps: float | None = None,
        clock: Clock | None = None,
        seed: int | None = None,
    ) -> None:
        if max_rps is not None and max_rps <= 0:
            raise WorkMagicConfigError(f"max_rps must be positive, got {max_rps}")
        self.endpoint = endpoint
        self.policy = policy or RetryPolicy()
        self.max_connections = max_connections
        self.max_rps = max_rps
        self.clock: Clock = clock or SYSTEM_CLOCK
        #: set on a fatal error: every thread abandons its request
        self.stopped = threading.Event()
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._pause_until = float("-inf")
        self._next_slot = float("-inf")
        self._wait_backoff = tenacity.wait_random_exponential(
            multiplier=self.policy.backoff, max=self.policy.max_backoff
        )
        self._http: httpx.Client | None = None

    # ------------------------------------------------------------------ the HTTP client
    @property
    def http(self) -> httpx.Client:
        if self._http is None:
            import httpx

            # httpx logs every request at INFO; one line per batch is the caller's to write.
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
                timeout=httpx.Timeout(self.policy.timeout),
                limits=httpx.Limits(
                    max_connections=self.max_connections + 1,
                    max_keepalive_connections=self.max_connections + 1,
                ),
                follow_redirects=False,
            )
        return self._http

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    def redact(self, text: str) -> str:
        return redact(text, (self.endpoint.secret,))

    # ------------------------------------------------------------------ one logical request
    def request(
        self, method: str, *, content: bytes | None = None, params: dict[str, Any] | None = None
    ) -> Reply:
        """Send until a response that is not retryable arrives, or ``retry_for`` has passed.

        Raises :class:`WorkMagicApiAuthError` on 401/403 and :class:`Stopped` when another
        worker did.
        """
        reply = Reply()
        started = self.clock.monotonic()
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(_Transient),
            stop=lambda state: (
                self.stopped.is_set() or self.clock.monotonic() - started >= self.policy.retry_for
            ),
            wait=self._wait,
            sleep=lambda seconds: self.clock.sleep(seconds, self.stopped),
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    reply.response = self._attempt(method, content, params, reply)
        except _Transient as err:
            if self.stopped.is_set():
                raise Stopped from None
            elapsed = self.clock.monotonic() - started
            reply.problem = f"{err.problem} (still failing after {elapsed:.0f} s of retries)"
        return reply

    def _attempt(
        self, method: str, content: bytes | None, params: dict[str, Any] | None, reply: Reply
    ) -> httpx.Response:
        import httpx

        self._wait_turn()
        reply.requests += 1
        try:
            response = self.http.request(method, self.endpoint.url, content=content, params=params)
        except httpx.TransportError as err:
            reply.statuses[type(err).__name__] += 1
            text = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
            raise _Transient(self.redact(text)) from None
        status = response.status_code
        reply.statuses[str(status)] += 1
        if status in (401, 403):
            self.stopped.set()
            raise auth_error(self.endpoint, status)
        if status == 429:
            self._pause(self._retry_after(response))
            raise _Transient(self.reason(response), rate_limited=True)
        if status >= 500:
            raise _Transient(self.reason(response))
        if status >= 400:
            reply.problem = self.reason(response)
        return response

    def _wait(self, state: tenacity.RetryCallState) -> float:
        """Backoff after a failed attempt; none after a 429, whose pause every worker waits."""
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, _Transient) and error.rate_limited:
            return 0.0
        return float(self._wait_backoff(state))

    # ------------------------------------------------------------------ shared pause, throttle
    def _wait_turn(self) -> None:
        """Sleep through a shared Retry-After pause and the ``max_rps`` throttle."""
        while True:
            if self.stopped.is_set():
                raise Stopped
            with self._lock:
                now = self.clock.monotonic()
                wait_for = self._pause_until - now
                throttled = False
                if wait_for <= 0:
                    if self.max_rps is None:
                        return
                    slot = max(self._next_slot, now)
                    self._next_slot = slot + 1.0 / self.max_rps
                    wait_for = slot - now
                    if wait_for <= 0:
                        return
                    throttled = True
            self.clock.sleep(wait_for, self.stopped)
            if throttled:
                return

    def _pause(self, seconds: float) -> None:
        """Hold every worker for ``seconds`` (plus up to 10 % jitter) from now."""
        jitter = self._rng.uniform(0, 0.1 * max(seconds, 0.1))
        with self._lock:
            until = self.clock.monotonic() + seconds + jitter
            self._pause_until = max(self._pause_until, until)

    def _retry_after(self, response: httpx.Response) -> float:
        value = response.headers.get("Retry-After")
        seconds: float | None = None
        if value:
            try:
                seconds = float(value)
            except ValueError:
                seconds = _http_date_in(value, self.clock.now())
        if seconds is None:
            seconds = self.policy.default_retry_after
        return min(max(seconds, 0.0), self.policy.max_retry_after)

    def reason(self, response: httpx.Response) -> str:
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


def _http_date_in(value: str, now: datetime) -> float | None:
    """Seconds until an HTTP-date ``Retry-After``, or None when it is not one."""
    from email.utils import parsedate_to_datetime

    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return (moment - now).total_seconds()


def auth_error(endpoint: ApiEndpoint, status: int) -> WorkMagicApiAuthError:
    """The 401/403 error: names the connection and what to check, never the key."""
    meaning = "Unauthorized" if status == 401 else "Forbidden"
    return WorkMagicApiAuthError(
        f"WorkMagic {endpoint.name} answered {status} {meaning}: it refused the API key "
        f"of connection {endpoint.conn_id!r} ({endpoint.url}). {endpoint.key_hint}."
    )


__all__ = ["Reply", "RetryPolicy", "Stopped", "Transport", "auth_error"]
