"""Clocks for tests of the API client (import: ``from clocks import SimClock, ManualClock``).

Both implement ``workmagic_provider.hooks.api.clock.Clock``; requests stay real HTTP, only
time is simulated.

* :class:`SimClock`: ``sleep`` advances simulated time at once. Minutes of backoff and pauses
  cost no wall time; the sandbox can time its storms and outages on ``monotonic`` too.
* :class:`ManualClock`: ``sleep`` blocks until the test advances time past the sleeper's wake
  time, so a test can look at who is asleep (and who keeps sending) while time stands still.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any

START = datetime(2026, 3, 8, 3, 5, tzinfo=timezone.utc)


class SimClock:
    """Simulated time that moves only when someone sleeps, at once.

    Sleeps of different threads overlap, as they would in real time: a thread's sleep ends at
    the time it last saw plus its duration, and the clock shows the latest such end. So four
    workers waiting out the same 5 s pause move the clock by 5 s, not 20 s.
    """

    def __init__(self, start: datetime = START) -> None:
        self.start = start
        self._t = 0.0
        self._lock = threading.Lock()
        self._seen = threading.local()

    def monotonic(self) -> float:
        with self._lock:
            self._seen.t = self._t
            return self._t

    def sleep(self, seconds: float, interrupt: threading.Event | None = None) -> None:
        if seconds <= 0 or (interrupt is not None and interrupt.is_set()):
            return
        with self._lock:
            seen = getattr(self._seen, "t", self._t)
            self._t = max(self._t, seen + seconds)
            self._seen.t = self._t

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.monotonic())

    def __deepcopy__(self, memo: dict[int, Any]) -> SimClock:
        return self  # one clock per test, shared by the operator and the sandbox


class ManualClock:
    """Time that stands still until :meth:`advance`; ``sleep`` blocks until its wake time."""

    def __init__(self, start: datetime = START) -> None:
        self.start = start
        self._t = 0.0
        self._cond = threading.Condition()
        #: thread name -> wake time of every thread sleeping now
        self.sleepers: dict[str, float] = {}

    def monotonic(self) -> float:
        with self._cond:
            return self._t

    def sleep(self, seconds: float, interrupt: threading.Event | None = None) -> None:
        if seconds <= 0:
            return
        name = threading.current_thread().name
        with self._cond:
            wake = self._t + seconds
            self.sleepers[name] = wake
            self._cond.notify_all()
            while self._t < wake and not (interrupt is not None and interrupt.is_set()):
                self._cond.wait(0.05)  # re-check the interrupt now and then
            self.sleepers.pop(name, None)
            self._cond.notify_all()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.monotonic())

    def advance(self, seconds: float) -> None:
        with self._cond:
            self._t += seconds
            self._cond.notify_all()

    def wait_for(self, predicate: Any, timeout: float = 30.0) -> bool:
        """Block until ``predicate(self)`` holds or ``timeout`` real seconds passed (a safety
        net for a hung test, not a measurement); re-checked on every sleep and wake."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, 0.05))
            return True


#: The clock DAG files written by a test pass to their operators (``clock=clocks.CURRENT``).
CURRENT: SimClock | None = None
