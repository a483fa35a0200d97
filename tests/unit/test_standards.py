"""Directory standards: hour folders from data intervals, part names, and refused inputs."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pendulum
import pytest

from workmagic_provider.exceptions import WorkMagicConfigError
from workmagic_provider.generations import new_generation
from workmagic_provider.standards import (
    HourFolder,
    PartNameInfo,
    hour_of_interval,
    owned_part_pattern,
    parse_hour,
    parse_part_name,
    part_name,
    to_utc_hour,
    validate_account_id,
    validate_bucket,
    validate_data_category,
    window,
)

UTC = timezone.utc


@pytest.mark.parametrize(
    ("moment", "prefix"),
    [
        (datetime(2026, 3, 8, 2, 0, tzinfo=UTC), "account-121226/cat/2026/03/08/02/"),
        (datetime(2026, 3, 8, 2, 59, 59, 999999, tzinfo=UTC), "account-121226/cat/2026/03/08/02/"),
        # day, month and year boundaries
        (datetime(2026, 3, 8, 23, 30, tzinfo=UTC), "account-121226/cat/2026/03/08/23/"),
        (datetime(2026, 3, 9, 0, 0, tzinfo=UTC), "account-121226/cat/2026/03/09/00/"),
        (datetime(2026, 2, 28, 23, 0, tzinfo=UTC), "account-121226/cat/2026/02/28/23/"),
        (datetime(2028, 2, 29, 0, 0, tzinfo=UTC), "account-121226/cat/2028/02/29/00/"),
        (datetime(2026, 12, 31, 23, 15, tzinfo=UTC), "account-121226/cat/2026/12/31/23/"),
        (datetime(2027, 1, 1, 0, 0, tzinfo=UTC), "account-121226/cat/2027/01/01/00/"),
    ],
)
def test_prefix_at_boundaries(moment: datetime, prefix: str) -> None:
    assert HourFolder("121226", "cat", moment).prefix == prefix


def test_other_zone_is_converted_to_utc_across_a_day_and_year_boundary() -> None:
    # 2026-12-31 19:30 in New York (UTC-5) is 2027-01-01 00:30 UTC
    moment = datetime(2026, 12, 31, 19, 30, tzinfo=ZoneInfo("America/New_York"))
    assert HourFolder("1", "c", moment).prefix == "account-1/c/2027/01/01/00/"
    # +05:30 offset: 2026-03-08 05:10 local is 23:40 UTC the day before
    india = datetime(2026, 3, 8, 5, 10, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    assert to_utc_hour(india) == datetime(2026, 3, 7, 23, tzinfo=UTC)


def test_dst_transition_hours_stay_distinct() -> None:
    # Europe/Berlin falls back on 2026-10-25: 02:30 local happens twice (00:30 and 01:30 UTC)
    berlin = ZoneInfo("Europe/Berlin")
    first = datetime(2026, 10, 25, 2, 30, tzinfo=berlin, fold=0)
    second = datetime(2026, 10, 25, 2, 30, tzinfo=berlin, fold=1)
    assert to_utc_hour(first) == datetime(2026, 10, 25, 0, tzinfo=UTC)
    assert to_utc_hour(second) == datetime(2026, 10, 25, 1, tzinfo=UTC)


def test_pendulum_data_interval_start_is_accepted() -> None:
    start = pendulum.datetime(2026, 3, 8, 2, tz="UTC")
    assert hour_of_interval(start) == datetime(2026, 3, 8, 2, tzinfo=UTC)


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(WorkMagicConfigError, match="no time zone"):
        to_utc_hour(datetime(2026, 3, 8, 2))
    with pytest.raises(WorkMagicConfigError, match="no time zone"):
        HourFolder("1", "c", datetime(2026, 3, 8, 2))


def test_missing_data_interval_explains_the_timetable() -> None:
    with pytest.raises(WorkMagicConfigError, match="CronDataIntervalTimetable"):
        hour_of_interval(None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-08T02:00:00Z", datetime(2026, 3, 8, 2, tzinfo=UTC)),
        ("2026-03-08T02:45:10.5Z", datetime(2026, 3, 8, 2, tzinfo=UTC)),
        ("2026-03-08T04:00:00+02:00", datetime(2026, 3, 8, 2, tzinfo=UTC)),
    ],
)
def test_parse_hour(text: str, expected: datetime) -> None:
    assert parse_hour(text) == expected


@pytest.mark.parametrize("text", ["2026-03-08T02:00:00", "yesterday", "", "2026-13-01T00:00Z"])
def test_parse_hour_refuses(text: str) -> None:
    with pytest.raises(WorkMagicConfigError):
        parse_hour(text)


@pytest.mark.parametrize("value", ["121226", 121226, " 42 "])
def test_account_id_accepts_digits(value: object) -> None:
    assert validate_account_id(value) == str(value).strip()


@pytest.mark.parametrize(
    "value", ["abc", "", "12a", "-1", "1.5", "../1", "1 2", None, True, 1.0, "{WM_ACCOUNT_ID}"]
)
def test_account_id_refuses(value: object) -> None:
    with pytest.raises(WorkMagicConfigError, match="account id must be digits"):
        validate_account_id(value)


@pytest.mark.parametrize("value", ["order-geo-date-data", "orders", "custom_site.v2", "A1"])
def test_category_accepts_slugs(value: str) -> None:
    assert validate_data_category(value) == value


@pytest.mark.parametrize(
    "value",
    [
        "",
        "..",
        "a/b",
        "/abs",
        "a..b",
        "with space",
        "tab\t",
        "new\nline",
        "{DATA_TYPE}",
        "<data_category>",
        "-leading",
        "trailing-",
        ".hidden",
        "x" * 200,
        None,
        5,
    ],
)
def test_category_refuses_anything_that_could_escape(value: object) -> None:
    with pytest.raises(WorkMagicConfigError, match="data category"):
        validate_data_category(value)


def test_part_names_are_deterministic_and_ordered() -> None:
    hour = datetime(2026, 3, 8, 2, tzinfo=UTC)
    names = [part_name(hour, "upload", i) for i in range(3)]
    assert names == [
        "2026-03-08-02-upload-0000.json.gz",
        "2026-03-08-02-upload-0001.json.gz",
        "2026-03-08-02-upload-0002.json.gz",
    ]
    # the same hour given in another zone or minute gives the same names: re-runs overwrite
    later = datetime(2026, 3, 8, 3, 59, tzinfo=timezone(timedelta(hours=1)))
    assert part_name(later, "upload", 0) == names[0]


def test_part_names_of_a_generation_say_part_n_of_m() -> None:
    hour = datetime(2026, 3, 8, 2, tzinfo=UTC)
    generation = new_generation(lambda: datetime(2026, 3, 8, 3, 5, 1, 42, tzinfo=UTC))
    assert generation.startswith("20260308T030501000042")
    names = [part_name(hour, "upload", i, generation=generation, count=2) for i in range(2)]
    assert names == [
        f"2026-03-08-02-upload-{generation}-0001of0002.json.gz",
        f"2026-03-08-02-upload-{generation}-0002of0002.json.gz",
    ]
    info = parse_part_name(names[1], hour, "upload")
    assert info == PartNameInfo(generation, 2, 2)
    assert parse_part_name("2026-03-08-02-upload-0003.json.gz", hour, "upload") == PartNameInfo(
        None
    )
    assert parse_part_name(names[0], hour, "files") is None


@pytest.mark.parametrize("index", [-1, 9999, True, 1.0])
def test_part_index_range(index: object) -> None:
    with pytest.raises(WorkMagicConfigError, match="part index"):
        part_name(datetime(2026, 3, 8, 2, tzinfo=UTC), "upload", index)  # type: ignore[arg-type]


@pytest.mark.parametrize("flow", ["", "Upload", "up/load", "../x", "a b"])
def test_flow_refused(flow: str) -> None:
    with pytest.raises(WorkMagicConfigError, match="flow"):
        part_name(datetime(2026, 3, 8, 2, tzinfo=UTC), flow, 0)


def test_owned_pattern_matches_only_own_flow_and_hour() -> None:
    hour = datetime(2026, 3, 8, 2, tzinfo=UTC)
    pattern = owned_part_pattern(hour, "upload")
    assert pattern.match("2026-03-08-02-upload-0007.json.gz")
    assert not pattern.match("2026-03-08-02-files-0007.json.gz")
    assert not pattern.match("2026-03-08-03-upload-0007.json.gz")
    assert not pattern.match("customer-file.json.gz")
    assert isinstance(pattern, re.Pattern)


def test_window_default_lookback_and_boundaries() -> None:
    start = datetime(2027, 1, 1, 0, tzinfo=UTC)
    end = start + timedelta(hours=1)
    assert window(start, end) == (datetime(2026, 12, 31, 23, tzinfo=UTC), end)
    assert window(start, end, timedelta(0)) == (start, end)
    with pytest.raises(WorkMagicConfigError, match="before its start"):
        window(end, start)
    with pytest.raises(WorkMagicConfigError, match="negative"):
        window(start, end, timedelta(hours=-1))
    with pytest.raises(WorkMagicConfigError, match="no time zone"):
        window(datetime(2027, 1, 1), end)


def test_uri_per_cloud() -> None:
    folder = HourFolder("121226", "order-geo-date-data", datetime(2026, 3, 8, 2, tzinfo=UTC))
    assert (
        folder.uri("s3", "workmagic-inbound-data")
        == "s3://workmagic-inbound-data/account-121226/order-geo-date-data/2026/03/08/02/"
    )
    assert folder.uri("gcs", "workmagic-inbound-data").startswith("gs://workmagic-inbound-data/")
    with pytest.raises(WorkMagicConfigError, match="cloud"):
        folder.uri("azure", "b")


@pytest.mark.parametrize(
    "bucket", ["s3://b", "b/c", "UPPER", "a", "workmagic-inbound-data-account-121226/x", ""]
)
def test_bucket_refused(bucket: str) -> None:
    with pytest.raises(WorkMagicConfigError, match="bucket"):
        validate_bucket(bucket)


def test_window_of_pendulum_datetimes_stays_aware_utc() -> None:
    start = pendulum.datetime(2026, 3, 8, 2, tz="Europe/Berlin")
    low, high = window(start, start + timedelta(hours=1))
    assert low == datetime(2026, 3, 8, 0, tzinfo=UTC) and low.tzinfo is not None
    assert high == datetime(2026, 3, 8, 2, tzinfo=UTC) and high.utcoffset() == timedelta(0)
    assert type(low) is datetime and type(high) is datetime
