"""WorkMagic's directory standards, written once for every flow.

Objects go to ``account-{id}/{data_category}/YYYY/MM/DD/HH/`` where the hour is the UTC start
hour of the run's data interval, never the wall clock, so a backfill or a re-run of hour H writes
to the same folder and replaces what an earlier run of H wrote there (see ``generations``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from workmagic_provider.exceptions import WorkMagicConfigError
from workmagic_provider.generations import (
    GENERATION_PATTERN,
    SettlePlan,
    complete_generations,
    plan_settle,
)

#: Hard limit of WorkMagic's "< 1.5M" per file, read as bytes of the compressed file.
HARD_LIMIT_BYTES = 1_500_000
#: Default target size of one part: WorkMagic's own Snowflake sample uses 1 MiB.
DEFAULT_MAX_PART_BYTES = 1_000_000
#: Flows that own parts in an hour folder; pruning only ever touches its own flow's names.
FLOWS = ("upload", "files", "snowflake", "bigquery")
#: Default overlap of warehouse windows: WorkMagic's samples export the "past 2 hours" hourly.
DEFAULT_LOOKBACK = timedelta(hours=1)

_ACCOUNT_RE = re.compile(r"^[0-9]{1,20}$")
_SLUG_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,126}[A-Za-z0-9])?$")
_FLOW_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


def validate_account_id(value: object) -> str:
    """Return the WorkMagic account id as a string of digits, or raise naming the bad value."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise WorkMagicConfigError(f"account id must be digits, got {value!r}")
    text = str(value).strip()
    if not _ACCOUNT_RE.fullmatch(text):
        raise WorkMagicConfigError(f"account id must be digits, got {value!r}")
    return text


def validate_data_category(value: object) -> str:
    """Return a data category that is one safe path segment (letters, digits, ``-_.``)."""
    if not isinstance(value, str) or not value:
        raise WorkMagicConfigError(f"data category must be a non-empty string, got {value!r}")
    if ".." in value or not _SLUG_RE.fullmatch(value):
        raise WorkMagicConfigError(
            f"data category must be one path segment of letters, digits, '-', '_' or '.' "
            f"(no '/', '..', spaces or braces), got {value!r}"
        )
    return value


_ROLE_ARN_RE = re.compile(r"^arn:aws(?:-[a-z]+)*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}$")


def validate_role_arn(value: object) -> str:
    """An IAM role ARN as WorkMagic issues it: ``arn:aws:iam::<12 digits>:role/<name>``."""
    text = value.strip() if isinstance(value, str) else None
    if text is None or not _ROLE_ARN_RE.fullmatch(text):
        shown = repr(value[:80]) if isinstance(value, str) else type(value).__name__
        raise WorkMagicConfigError(
            "role ARN must look like arn:aws:iam::123456789012:role/AmazonS3FolderAccess121226 "
            f"(copy it from WorkMagic's UI), got {shown}"
        )
    return text


def validate_flow(value: str) -> str:
    """Flow names become part of object names; keep them short lowercase identifiers."""
    if not isinstance(value, str) or not _FLOW_RE.fullmatch(value):
        raise WorkMagicConfigError(f"flow must be a short lowercase identifier, got {value!r}")
    return value


def to_utc_hour(moment: datetime) -> datetime:
    """Floor an aware datetime to its UTC hour; a naive datetime is refused, never guessed."""
    if not isinstance(moment, datetime):
        raise WorkMagicConfigError(f"expected a datetime, got {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise WorkMagicConfigError(
            f"datetime {moment.isoformat()} has no time zone; pass an aware datetime "
            "(Airflow's data_interval_start is one)"
        )
    utc = _as_utc(moment)
    return datetime(utc.year, utc.month, utc.day, utc.hour, tzinfo=timezone.utc)


def _as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a clear error where that leaves years 1-9999 (9999-12-31T23:30-05:00)."""
    try:
        return moment.astimezone(timezone.utc)
    except OverflowError:
        raise WorkMagicConfigError(
            f"{moment.isoformat()} is out of range once converted to UTC (years 1 to 9999)"
        ) from None


def parse_hour(text: str) -> datetime:
    """Parse an ISO-8601 timestamp with a zone (``2026-03-08T02:00:00Z``) into its UTC hour."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except (ValueError, AttributeError) as err:
        raise WorkMagicConfigError(
            f"hour must be an ISO-8601 timestamp such as 2026-03-08T02:00:00Z, got {text!r}"
        ) from err
    return to_utc_hour(moment)


def hour_of_interval(data_interval_start: datetime | None) -> datetime:
    """The hour folder of a run: the UTC hour its data interval starts in."""
    if data_interval_start is None:
        raise WorkMagicConfigError(
            "this run has no data interval; use an interval timetable such as "
            "CronDataIntervalTimetable('0 * * * *', timezone='UTC')"
        )
    return to_utc_hour(data_interval_start)


def window(
    data_interval_start: datetime,
    data_interval_end: datetime,
    lookback: timedelta = DEFAULT_LOOKBACK,
) -> tuple[datetime, datetime]:
    """Half-open UTC window ``[start - lookback, end)`` a warehouse query selects rows from."""
    start, end = (to_utc(data_interval_start), to_utc(data_interval_end))
    if end < start:
        raise WorkMagicConfigError(
            f"data interval end {end.isoformat()} is before its start {start.isoformat()}"
        )
    if lookback < timedelta(0):
        raise WorkMagicConfigError(f"lookback must not be negative, got {lookback}")
    return start - lookback, end


def hour_starts(start: datetime, end: datetime) -> list[datetime]:
    """UTC hour starts ``h`` with ``start <= h < end`` (``start`` rounded up to the hour)."""
    first = to_utc_hour(start)
    if first < to_utc(start):
        first += timedelta(hours=1)
    hours = []
    while first < to_utc(end):
        hours.append(first)
        first += timedelta(hours=1)
    return hours


def to_utc(moment: datetime) -> datetime:
    """A plain ``datetime`` in UTC (pendulum's DateTime loses its zone in some arithmetic)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise WorkMagicConfigError(f"datetime {moment.isoformat()} has no time zone")
    utc = _as_utc(moment)
    return datetime(
        utc.year,
        utc.month,
        utc.day,
        utc.hour,
        utc.minute,
        utc.second,
        utc.microsecond,
        tzinfo=timezone.utc,
    )


def hour_path(hour: datetime) -> str:
    """``YYYY/MM/DD/HH`` of a UTC hour (zero-padded, 24-hour clock)."""
    return to_utc_hour(hour).strftime("%Y/%m/%d/%H")


def hour_stamp(hour: datetime) -> str:
    """``YYYY-MM-DD-HH`` prefix of every part name of that hour."""
    return to_utc_hour(hour).strftime("%Y-%m-%d-%H")


@dataclass(frozen=True)
class HourFolder:
    """One WorkMagic hour folder: where a run of hour ``hour`` writes its parts."""

    account_id: str
    data_category: str
    hour: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "account_id", validate_account_id(self.account_id))
        object.__setattr__(self, "data_category", validate_data_category(self.data_category))
        object.__setattr__(self, "hour", to_utc_hour(self.hour))

    @classmethod
    def for_interval(
        cls, account_id: str, data_category: str, data_interval_start: datetime | None
    ) -> HourFolder:
        return cls(account_id, data_category, hour_of_interval(data_interval_start))

    @property
    def account_prefix(self) -> str:
        return f"account-{self.account_id}/"

    @property
    def prefix(self) -> str:
        """``account-{id}/{category}/YYYY/MM/DD/HH/`` (always ends with ``/``)."""
        return f"account-{self.account_id}/{self.data_category}/{hour_path(self.hour)}/"

    def part_name(
        self,
        flow: str,
        index: int,
        suffix: str = ".json.gz",
        *,
        generation: str | None = None,
        count: int | None = None,
    ) -> str:
        return part_name(self.hour, flow, index, suffix, generation=generation, count=count)

    def part_key(self, flow: str, index: int, suffix: str = ".json.gz") -> str:
        return self.prefix + self.part_name(flow, index, suffix)

    def uri(self, cloud: str, bucket: str) -> str:
        """``s3://bucket/prefix`` or ``gs://bucket/prefix``."""
        scheme = {"s3": "s3", "gcs": "gs"}.get(cloud)
        if scheme is None:
            raise WorkMagicConfigError(f"cloud must be 's3' or 'gcs', got {cloud!r}")
        return f"{scheme}://{validate_bucket(bucket)}/{self.prefix}"


def part_name(
    hour: datetime,
    flow: str,
    index: int,
    suffix: str = ".json.gz",
    *,
    generation: str | None = None,
    count: int | None = None,
) -> str:
    """Part name of one run: ``YYYY-MM-DD-HH-{flow}-{generation}-{NNNN}of{MMMM}{suffix}``.

    The generation (``workmagic_provider.generations``) keeps two runs of one hour apart; with
    ``count`` the name says "part N of M" (1-based), so a listing alone shows whether a run's
    output is complete. Without a generation: the older ``YYYY-MM-DD-HH-{flow}-{NNNN}`` form
    (0-based), still recognised as the flow's own by :func:`parse_part_name`.
    """
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index <= 9998:
        raise WorkMagicConfigError(f"part index must be 0..9998, got {index!r}")
    head = f"{hour_stamp(hour)}-{validate_flow(flow)}"
    if generation is None:
        return f"{head}-{index:04d}{suffix}"
    if not re.fullmatch(GENERATION_PATTERN, generation):
        raise WorkMagicConfigError(f"not a run generation: {generation!r}")
    if count is None:
        return f"{head}-{generation}-{index:04d}{suffix}"
    if not index < count <= 9999:
        raise WorkMagicConfigError(f"part {index + 1} of {count} is out of range")
    return f"{head}-{generation}-{index + 1:04d}of{count:04d}{suffix}"


@dataclass(frozen=True)
class PartNameInfo:
    """What a flow's part name says: its generation and, when named, "part N of M"."""

    generation: str | None
    number: int | None = None
    count: int | None = None


def owned_part_pattern(hour: datetime, flow: str) -> re.Pattern[str]:
    """Regex matching the names a flow owns in an hour folder (both name forms)."""
    stamp = re.escape(hour_stamp(hour))
    return re.compile(
        rf"^{stamp}-{re.escape(validate_flow(flow))}-(?:(?P<generation>{GENERATION_PATTERN})-)?"
        r"(?:(?P<number>\d{4})of(?P<count>\d{4})|\d{4})[^/]*$"
    )


def parse_part_name(name: str, hour: datetime, flow: str) -> PartNameInfo | None:
    """``None`` unless ``name`` is one of ``flow``'s parts of ``hour``."""
    match = owned_part_pattern(hour, flow).match(name)
    if match is None:
        return None
    number, count = match.group("number"), match.group("count")
    return PartNameInfo(
        match.group("generation"),
        int(number) if number else None,
        int(count) if count else None,
    )


def plan_folder_settle(names: Iterable[str], hour: datetime, flow: str, mine: str) -> SettlePlan:
    """Settle ``flow``'s parts among ``names`` (one hour folder's listing) for generation ``mine``.

    A generation counts as complete when its names say "N of M" and all M are listed; names
    without a count (a warehouse's own file names) count as complete, their writer being atomic.
    """
    parts: dict[str, str | None] = {}
    counts: dict[str, int | None] = {}
    uncounted: set[str] = set()
    for name in names:
        info = parse_part_name(name, hour, flow)
        if info is None:
            continue
        parts[name] = info.generation
        counts[name] = info.count
        if info.generation is not None and info.count is None:
            uncounted.add(info.generation)
    complete = complete_generations(parts, counts) | uncounted
    return plan_settle(parts, mine, complete=complete)


_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.\-_]{1,220}[a-z0-9]$")


def validate_bucket(value: object) -> str:
    """A bucket name as S3 and GCS accept it (lowercase, digits, ``.-_``; no scheme, no slash)."""
    if not isinstance(value, str) or not _BUCKET_RE.fullmatch(value) or ".." in value:
        raise WorkMagicConfigError(
            f"bucket must be a bare bucket name such as 'workmagic-inbound-data', got {value!r}"
        )
    return value
