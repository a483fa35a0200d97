"""The clock the API client reads and sleeps on, injected so tests can simulate time.

Everything time-related in the client (retry budgets, backoff sleeps, the shared
``Retry-After`` pause, the ``max_rps`` throttle) and the Enrich four-week rule go through one
:class:`Clock`. Production uses :data:`SYSTEM_CLOCK`; a test passes a clock whose ``sleep``
advances simulated time, so "the API is down for 30 s" costs no 30 s of wall time while the
requests are still real HTTP.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from typing import Protocol


class Clock(Protocol):
    """Monotonic seconds, an interruptible sleep, and the current UTC time."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (only differences matter)."""
        ...

    def sleep(self, seconds: float, interrupt: threading.Event | None = None) -> None:
        """Wait ``seconds``; return early once ``interrupt`` is set."""
        ...

    def now(self) -> datetime:
        """The current time, aware, in UTC."""
        ...


class SystemClock:
    """The real clock: ``time.monotonic``, ``Event.wait`` and ``datetime.now(UTC)``."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float, interrupt: threading.Event | None = None) -> None:
        if seconds <= 0:
            return
        if interrupt is None:
            time.sleep(seconds)
        else:
            interrupt.wait(seconds)

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


SYSTEM_CLOCK = SystemClock()

__all__ = ["SYSTEM_CLOCK", "Clock", "SystemClock"]
