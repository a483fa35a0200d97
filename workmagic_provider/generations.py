"""Run generations: why two runs of one hour never leave a mix of their files.

Two runs of the same hour can overlap (a manual trigger beside a backfill, a zombie try beside
its retry). If both wrote the same part names, their writes would interleave and the folder
could end as half of one run and half of the other. So every run of an hour takes a
*generation*: a token that sorts by the time the run started publishing (UTC microseconds, then
random digits so two runs in the same microsecond still differ). A run writes only names of its
own generation and, once everything it wrote is in, settles the folder with
:func:`plan_settle`:

* every part of an **older** generation is deleted (what earlier runs left behind);
* if a **newer complete** generation is present, this run's own parts are deleted too: it lost
  the race, and the folder keeps the newer run's complete output;
* parts of a newer generation that is not complete yet are left alone: that run settles the
  folder itself when it finishes (or its retry does, if it died).

Whatever the interleaving, once the runs have finished the folder holds exactly one complete
generation: the newest one that finished. Flows that keep other names (the sync keeps source
file names) put the generation in object metadata and use :func:`may_delete` so that a run never
deletes what a newer run wrote.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone

#: Object metadata key naming the generation that wrote an object (flows that keep names).
GENERATION_MARK = "workmagic-generation"

#: ``YYYYMMDDTHHMMSSffffff`` + 4 hex digits; sorts as the time it was taken.
GENERATION_PATTERN = r"\d{8}T\d{12}[0-9a-f]{4}"
_GENERATION_RE = re.compile(rf"^{GENERATION_PATTERN}$")


def new_generation(now: Callable[[], datetime] | None = None) -> str:
    """A fresh generation token, taken when a run is about to publish."""
    moment = (now or (lambda: datetime.now(timezone.utc)))().astimezone(timezone.utc)
    return moment.strftime("%Y%m%dT%H%M%S%f") + secrets.token_hex(2)


def is_generation(value: object) -> bool:
    return isinstance(value, str) and bool(_GENERATION_RE.fullmatch(value))


def may_delete(written_by: str | None, mine: str) -> bool:
    """Whether a run of generation ``mine`` may delete an object written by ``written_by``.

    Objects without a (valid) generation come from before generations existed: older than any.
    """
    return not is_generation(written_by) or written_by < mine  # type: ignore[operator]


@dataclass
class SettlePlan:
    """What settling an hour folder after publishing means for one run."""

    delete: list[str] = field(default_factory=list)
    #: the newer complete generation this run's own parts gave way to, if any
    superseded_by: str | None = None
    #: parts of newer generations still being written, left to their own run
    left_in_progress: list[str] = field(default_factory=list)


def plan_settle(
    parts: Mapping[str, str | None],
    mine: str,
    *,
    complete: Collection[str] | None = None,
) -> SettlePlan:
    """Which of a flow's parts in one hour folder a run of generation ``mine`` deletes.

    ``parts`` maps every part name the flow owns in the folder (listed after this run published)
    to the generation that wrote it (``None``: before generations). ``complete`` names the
    generations whose parts are all present; ``None`` counts every generation as complete (flows
    whose writer is atomic from our side, such as a warehouse unload that returned).
    """
    generations = {g for g in parts.values() if g is not None and is_generation(g)}

    def finished(generation: str) -> bool:
        return generation == mine or complete is None or generation in complete

    newest_complete = max(g for g in generations | {mine} if finished(g))
    plan = SettlePlan(superseded_by=newest_complete if newest_complete > mine else None)
    for name, generation in sorted(parts.items()):
        if generation not in generations or generation < newest_complete:  # type: ignore[operator]
            plan.delete.append(name)
        elif generation != newest_complete:
            plan.left_in_progress.append(name)
    return plan


def complete_generations(
    parts: Mapping[str, str | None], counts: Mapping[str, int | None]
) -> set[str]:
    """Generations all of whose parts are listed: every part declares the same count M and M
    parts are there. ``counts`` maps part name to its declared count (``None`` if absent)."""
    seen: dict[str, int] = {}
    declared: dict[str, set[int | None]] = {}
    for name, generation in parts.items():
        if is_generation(generation):
            assert generation is not None
            seen[generation] = seen.get(generation, 0) + 1
            declared.setdefault(generation, set()).add(counts.get(name))
    return {
        g
        for g, n in seen.items()
        if len(declared[g]) == 1 and next(iter(declared[g])) == n  # every part agrees on n
    }
