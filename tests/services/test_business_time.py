"""Business time for SLA timers: worked examples a support manager can check, then properties.

Pure functions: no ``app`` fixture, no database. The properties run derandomized and without
the example database, so every run checks the same cases and cannot turn flaky.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from itertools import pairwise
from typing import NamedTuple
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpdesk.services.business_time import (
    SEARCH_HORIZON,
    BusinessCalendar,
    CalendarError,
    NoBusinessTime,
    Shift,
    add_business_time,
    business_time_between,
    is_business_time,
    next_business_moment,
    open_until,
    public_holidays,
)

SEOUL = ZoneInfo("Asia/Seoul")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
ZERO = timedelta(0)
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
QUARTER = timedelta(minutes=15)
MICROSECOND = timedelta(microseconds=1)

WEEKDAYS_OFFICE = {day: ["09:00-12:00", "13:00-18:00"] for day in range(5)}
EVERY_NIGHT = {day: ["22:00-06:00"] for day in range(7)}
SEOUL_OFFICE = BusinessCalendar.weekly(
    "Asia/Seoul", WEEKDAYS_OFFICE, public_holidays("KR", range(2025, 2029))
)


def local(zone: tzinfo, text: str) -> datetime:
    """``"Fri 2026-04-10 17:30"`` on the zone's clocks; the weekday guards a table from typos."""
    moment = datetime.strptime(text[4:], "%Y-%m-%d %H:%M").replace(tzinfo=zone)
    assert f"{moment:%a}" == text[:3], f"{text} is a {moment:%A}"
    return moment


def kst(text: str) -> datetime:
    return local(SEOUL, text)


# -- Korean holidays the examples rely on -----------------------------------------------------


def test_korean_public_holidays_include_lunar_holidays_and_substitute_days():
    found = public_holidays("KR", [2026, 2027], language="en_US")
    chuseok_2026 = {d for d in found if date(2026, 9, 20) <= d <= date(2026, 10, 1)}
    seollal_2027 = {d for d in found if date(2027, 2, 1) <= d <= date(2027, 2, 12)}
    # Chuseok 2026 ends on a Saturday, which gives no substitute day; Seollal 2027 covers a
    # Sunday, so Tuesday 9 February is the substitute.
    assert chuseok_2026 == {date(2026, 9, 24), date(2026, 9, 25), date(2026, 9, 26)}
    assert seollal_2027 == {date(2027, 2, d) for d in (6, 7, 8, 9)}
    assert found[date(2027, 2, 9)] == "Alternative holiday for Korean New Year"
    assert found[date(2026, 5, 1)] == "Labor Day"
    assert found[date(2026, 10, 5)] == "Alternative holiday for National Foundation Day"
    korean = public_holidays("KR", [2026], language="ko")
    assert korean[date(2026, 9, 25)] == "추석"
    assert list(korean) == sorted(korean)


def test_public_holidays_end_where_the_data_ends_and_reject_unknown_countries():
    assert public_holidays("KR", [2101]) == {}
    with pytest.raises(CalendarError, match="XX"):
        public_holidays("XX", [2026])
    with pytest.raises(CalendarError, match="ZZ"):
        public_holidays("US", [2026], subdiv="ZZ")


# -- Seoul office: Mon-Fri 09:00-12:00 and 13:00-18:00, Korean public holidays ----------------

# Received, target, due; Seoul clocks.
SEOUL_DUE_TIMES = {
    "fri-17:30-plus-4h": ("Fri 2026-04-10 17:30", 4 * HOUR, "Mon 2026-04-13 13:30"),
    "weekend-waits-for-monday": ("Sat 2026-04-11 10:00", HOUR, "Mon 2026-04-13 10:00"),
    "lunch-is-skipped": ("Mon 2026-04-13 11:30", HOUR, "Mon 2026-04-13 13:30"),
    "lunch-waits-for-13:00": ("Mon 2026-04-13 12:15", 30 * MINUTE, "Mon 2026-04-13 13:30"),
    "40h-is-a-week-to-closing": ("Mon 2026-04-13 09:00", 40 * HOUR, "Fri 2026-04-17 18:00"),
    "zero-at-night-next-opening": ("Tue 2026-04-14 20:00", ZERO, "Wed 2026-04-15 09:00"),
    "zero-when-open-is-now": ("Tue 2026-04-14 09:00", ZERO, "Tue 2026-04-14 09:00"),
    "chuseok-2026-thu-to-sat": ("Wed 2026-09-23 17:00", 8 * HOUR, "Mon 2026-09-28 17:00"),
    "seollal-2027-substitute": ("Fri 2027-02-05 16:00", 4 * HOUR, "Wed 2027-02-10 11:00"),
    "80h-chuseok-and-oct-5": ("Mon 2026-09-21 09:00", 80 * HOUR, "Wed 2026-10-07 18:00"),
    "labor-day-2026-friday": ("Thu 2026-04-30 17:00", 2 * HOUR, "Mon 2026-05-04 10:00"),
    "childrens-day-tuesday": ("Mon 2026-05-04 17:00", 2 * HOUR, "Wed 2026-05-06 10:00"),
}


@pytest.mark.parametrize(
    ("received", "target", "due"), SEOUL_DUE_TIMES.values(), ids=list(SEOUL_DUE_TIMES)
)
def test_seoul_office_due_times(received, target, due):
    assert add_business_time(SEOUL_OFFICE, kst(received), target) == kst(due)
    assert business_time_between(SEOUL_OFFICE, kst(received), kst(due)) == target


def test_seoul_office_open_and_closed_moments():
    assert is_business_time(SEOUL_OFFICE, kst("Mon 2026-04-13 09:00"))
    assert not is_business_time(SEOUL_OFFICE, kst("Mon 2026-04-13 12:00"))  # closing is closed
    assert not is_business_time(SEOUL_OFFICE, kst("Fri 2026-09-25 10:00"))  # Chuseok
    opening = next_business_moment(SEOUL_OFFICE, kst("Thu 2026-09-24 08:00"))
    assert opening == kst("Mon 2026-09-28 09:00") and opening.tzinfo is UTC


def test_a_pending_pause_is_measured_in_business_time():
    paused, resumed = kst("Fri 2026-04-10 16:00"), kst("Mon 2026-04-13 10:30")
    assert business_time_between(SEOUL_OFFICE, paused, resumed) == 3.5 * HOUR
    assert business_time_between(SEOUL_OFFICE, resumed, paused) == ZERO


# -- Night shifts and daylight saving time ----------------------------------------------------

# One shift every day; the business time in the 24 wall-clock hours from the given time.
SHIFTS_ACROSS_DST = {
    "berlin-01-05-ordinary": (BERLIN, "01:00-05:00", "Sun 2026-04-05 00:00", 4 * HOUR),
    "berlin-01-05-spring-forward": (BERLIN, "01:00-05:00", "Sun 2026-03-29 00:00", 3 * HOUR),
    "berlin-01-05-fall-back": (BERLIN, "01:00-05:00", "Sun 2026-10-25 00:00", 5 * HOUR),
    "berlin-night-spring-forward": (BERLIN, "22:00-06:00", "Sat 2026-03-28 12:00", 7 * HOUR),
    "berlin-night-fall-back": (BERLIN, "22:00-06:00", "Sat 2026-10-24 12:00", 9 * HOUR),
    "new-york-night-spring": (NEW_YORK, "22:00-06:00", "Sat 2026-03-07 12:00", 7 * HOUR),
    "new-york-night-fall": (NEW_YORK, "22:00-06:00", "Sat 2026-10-31 12:00", 9 * HOUR),
    # 02:30 does not exist that night: the shift opens when the gap ends, at 03:00.
    "opening-in-gap": (BERLIN, "02:30-04:00", "Sun 2026-03-29 00:00", HOUR),
    "closing-in-gap": (BERLIN, "00:00-02:30", "Sun 2026-03-29 00:00", 2 * HOUR),
    # 02:30 happens twice that night: a boundary there is the first one.
    "ambiguous-opening": (BERLIN, "02:30-06:00", "Sun 2026-10-25 00:00", 4.5 * HOUR),
    "ambiguous-closing": (BERLIN, "00:00-02:30", "Sun 2026-10-25 00:00", 2.5 * HOUR),
    "new-york-shift-all-in-gap": (NEW_YORK, "02:00-03:00", "Sun 2026-03-08 00:00", ZERO),
}


@pytest.mark.parametrize(
    ("zone", "shift", "since", "expected"), SHIFTS_ACROSS_DST.values(), ids=list(SHIFTS_ACROSS_DST)
)
def test_shifts_last_the_real_time_between_their_boundaries(zone, shift, since, expected):
    calendar = BusinessCalendar.weekly(zone.key, {day: [shift] for day in range(7)})
    start = local(zone, since)
    # Adding a day to an aware datetime keeps its wall-clock time: 24 hours on the clocks.
    assert business_time_between(calendar, start, start + timedelta(days=1)) == expected


# Every night 22:00-06:00; received on local clocks, due in UTC (New York's 04:00 EDT is 08:00).
NIGHT_DUE_TIMES = {
    "ny-spring-forward": (NEW_YORK, "Sat 2026-03-07 23:00", 4 * HOUR, "Sun 2026-03-08 08:00"),
    "ny-fall-to-closing": (NEW_YORK, "Sat 2026-10-31 22:00", 9 * HOUR, "Sun 2026-11-01 11:00"),
    "berlin-fall-back": (BERLIN, "Sat 2026-10-24 23:00", 6 * HOUR, "Sun 2026-10-25 03:00"),
    "berlin-spring-morning": (BERLIN, "Sun 2026-03-29 05:00", 2 * HOUR, "Sun 2026-03-29 21:00"),
}


@pytest.mark.parametrize(
    ("zone", "received", "target", "due"), NIGHT_DUE_TIMES.values(), ids=list(NIGHT_DUE_TIMES)
)
def test_night_shift_due_times_across_dst(zone, received, target, due):
    calendar = BusinessCalendar.weekly(zone.key, EVERY_NIGHT)
    assert add_business_time(calendar, local(zone, received), target) == local(UTC, due)


def test_opening_in_the_spring_forward_gap_is_the_end_of_the_gap():
    calendar = BusinessCalendar.weekly("Europe/Berlin", {6: ["02:30-04:00"]})
    opening = next_business_moment(calendar, local(BERLIN, "Sun 2026-03-29 00:00"))
    assert opening == local(UTC, "Sun 2026-03-29 01:00")  # 03:00 CEST
    ambiguous = BusinessCalendar.weekly("Europe/Berlin", {6: ["02:30-06:00"]})
    opening = next_business_moment(ambiguous, local(BERLIN, "Sun 2026-10-25 00:00"))
    assert opening == local(UTC, "Sun 2026-10-25 00:30")  # 02:30 CEST, the first one


def test_a_night_shift_starting_on_a_holiday_is_closed():
    calendar = BusinessCalendar.weekly("Asia/Seoul", EVERY_NIGHT, {date(2026, 5, 5)})
    # The shift that started on 4 May still runs into the holiday morning.
    assert is_business_time(calendar, kst("Tue 2026-05-05 05:00"))
    assert not is_business_time(calendar, kst("Tue 2026-05-05 23:00"))
    assert not is_business_time(calendar, kst("Wed 2026-05-06 02:00"))
    due = add_business_time(calendar, kst("Tue 2026-05-05 03:00"), 4 * HOUR)
    assert due == kst("Wed 2026-05-06 23:00")
    paused = business_time_between(
        calendar, kst("Mon 2026-05-04 22:00"), kst("Thu 2026-05-07 06:00")
    )
    assert paused == 16 * HOUR


# -- Round the clock ---------------------------------------------------------------------------


def test_a_24_7_calendar_counts_real_time():
    calendar = BusinessCalendar.twenty_four_seven("Europe/Berlin")
    received = local(BERLIN, "Sat 2026-03-28 23:00")
    # Berlin clocks jump from 23:00 to 03:00: four hours on the wall, three real ones.
    assert add_business_time(calendar, received, 3 * HOUR) == local(BERLIN, "Sun 2026-03-29 03:00")
    # To the same wall time a year later, in summer time: an hour short of 365 days.
    a_year_later = local(BERLIN, "Sun 2027-03-28 23:00")
    assert business_time_between(calendar, received, a_year_later) == timedelta(days=365) - HOUR
    assert is_business_time(calendar, local(UTC, "Fri 2026-12-25 00:00"))
    assert next_business_moment(calendar, received) == received


def test_24_7_except_holidays_is_midnight_to_midnight_every_day():
    every_day = {day: ["00:00-24:00"] for day in range(7)}
    calendar = BusinessCalendar.weekly("Asia/Seoul", every_day, {date(2026, 12, 25)})
    due = add_business_time(calendar, kst("Thu 2026-12-24 20:00"), 6 * HOUR)
    assert due == kst("Sat 2026-12-26 02:00")
    due = add_business_time(calendar, kst("Wed 2026-12-23 20:00"), 4 * HOUR)
    assert due == kst("Thu 2026-12-24 00:00")
    december = business_time_between(
        calendar, kst("Tue 2026-12-01 00:00"), kst("Fri 2027-01-01 00:00")
    )
    assert december == timedelta(days=30)


# -- Invalid input ------------------------------------------------------------------------------

INVALID_CALENDARS = {
    "no-shifts": ("Asia/Seoul", {}, "at least one shift"),
    "unknown-zone": ("Mars/Olympus", WEEKDAYS_OFFICE, "unknown time zone"),
    "empty-zone": ("", WEEKDAYS_OFFICE, "unknown time zone"),
    "same-day-overlap": (
        "Asia/Seoul",
        {0: ["09:00-12:00", "11:00-13:00"]},
        "Monday 09:00-12:00 overlaps Monday 11:00-13:00",
    ),
    "overnight-overlap": (
        "Asia/Seoul",
        {0: ["22:00-06:00"], 1: ["05:00-09:00"]},
        "Monday 22:00-06:00 overlaps Tuesday 05:00-09:00",
    ),
    "sunday-into-monday": (
        "Asia/Seoul",
        {6: ["20:00-04:00"], 0: ["03:00-09:00"]},
        "Sunday 20:00-04:00 overlaps Monday 03:00-09:00",
    ),
    "zero-length": ("Asia/Seoul", {0: ["09:00-09:00"]}, "empty"),
    "unreadable": ("Asia/Seoul", {0: ["9am-5pm"]}, "not a shift"),
    "impossible-time": ("Asia/Seoul", {0: ["25:00-26:00"]}, "impossible"),
    "weekday-7": ("Asia/Seoul", {7: ["09:00-18:00"]}, "weekdays are 0"),
}


@pytest.mark.parametrize(
    ("zone", "hours", "message"), INVALID_CALENDARS.values(), ids=list(INVALID_CALENDARS)
)
def test_invalid_calendars_are_rejected(zone, hours, message):
    with pytest.raises(CalendarError, match=message):
        BusinessCalendar.weekly(zone, hours)


def test_shift_rules():
    assert Shift.parse("22:00-06:00") == Shift(22 * 60, 30 * 60)
    assert str(Shift.parse("00:00-24:00")) == "00:00-24:00"
    assert str(Shift.parse(" 13:00 - 18:30 ")) == "13:00-18:30"
    # Touching shifts are fine: one closes as the next opens.
    BusinessCalendar.weekly("Asia/Seoul", {0: ["09:00-12:00", "12:00-18:00"]})
    with pytest.raises(CalendarError, match="longer than 24 hours"):
        Shift(600, 600 + 24 * 60 + 1)
    with pytest.raises(CalendarError, match=r"datetime\.date"):
        BusinessCalendar.weekly("Asia/Seoul", WEEKDAYS_OFFICE, [datetime(2026, 1, 1)])


def test_a_24_7_calendar_takes_no_hours_or_holidays():
    with pytest.raises(CalendarError, match="00:00-24:00"):
        BusinessCalendar("Asia/Seoul", holidays=frozenset({date(2026, 1, 1)}), always_open=True)


def test_equal_calendars_are_equal_and_hashable():
    shuffled = {day: ["13:00-18:00", "09:00-12:00"] for day in range(5)}
    again = BusinessCalendar.weekly("Asia/Seoul", shuffled, SEOUL_OFFICE.holidays)
    assert again == SEOUL_OFFICE and hash(again) == hash(SEOUL_OFFICE)


def test_naive_datetimes_and_negative_durations_are_rejected():
    naive, aware = datetime(2026, 4, 13, 10), kst("Mon 2026-04-13 10:00")
    with pytest.raises(ValueError, match="timezone-aware"):
        add_business_time(SEOUL_OFFICE, naive, HOUR)
    with pytest.raises(ValueError, match="timezone-aware"):
        business_time_between(SEOUL_OFFICE, aware, naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        is_business_time(SEOUL_OFFICE, naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        next_business_moment(SEOUL_OFFICE, naive)
    with pytest.raises(ValueError, match="negative"):
        add_business_time(SEOUL_OFFICE, aware, -HOUR)


def test_years_of_holidays_fail_fast_instead_of_hanging():
    mondays = {date(2026, 1, 5) + timedelta(weeks=n) for n in range(52 * 5)}
    calendar = BusinessCalendar.weekly("Asia/Seoul", {0: ["09:00-18:00"]}, mondays)
    with pytest.raises(NoBusinessTime, match="no business hours"):
        add_business_time(calendar, kst("Thu 2026-01-01 09:00"), HOUR)
    with pytest.raises(NoBusinessTime):
        next_business_moment(calendar, kst("Thu 2026-01-01 09:00"))


# -- Properties ---------------------------------------------------------------------------------

ZONES = ["Asia/Seoul", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "UTC"]
QUARTERS_PER_WEEK = 7 * 24 * 4
TEMPLATES = [
    WEEKDAYS_OFFICE,
    EVERY_NIGHT,
    {day: ["00:00-24:00"] for day in range(7)},
    # Saturday night runs into Sunday's DST hour, which holds a shift that may be all gap.
    {5: ["23:00-02:00"], 6: ["02:00-03:00", "03:00-03:30"]},
    {0: ["09:00-10:00", "10:30-12:00", "20:00-23:45"], 3: ["12:00-12:15"], 6: ["18:00-09:00"]},
    None,  # 24/7
]
# Boundaries inside each zone's spring-forward gap and repeated fall-back hour.
DST_NIGHT = {5: ["23:00-01:15"], 6: ["01:30-02:15", "02:30-02:45", "03:00-05:00"]}
DST_ZONES = ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe"]
PROPERTIES = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _transition_days(zone_name: str) -> list[date]:
    """The days in 2024-2030 on which the zone's clocks change (Sundays, in these zones)."""
    zone, days = ZoneInfo(zone_name), []
    day = date(2024, 1, 1)
    while day.year <= 2030:
        noon = datetime.combine(day, time(12))
        if zone.utcoffset(noon) != zone.utcoffset(noon + timedelta(days=1)):
            days.append(day + timedelta(days=1))
        day += timedelta(days=1)
    return days


TRANSITION_DAYS = {zone: _transition_days(zone) for zone in ZONES}
LEAP_AND_NEW_YEAR = [date(2028, 2, 29)] + [date(year, 12, 31) for year in range(2023, 2031)]


@st.composite
def random_weeks(draw: st.DrawFn) -> dict[int, list[Shift]]:
    """Disjoint quarter-hour shifts anywhere in the week, some touching, some past midnight."""
    turn = draw(st.integers(0, QUARTERS_PER_WEEK - 1))
    position, week = 0, {}
    for index in range(draw(st.integers(1, 8))):
        position += draw(st.integers(0, 160)) if index else 0
        length = draw(st.integers(1, 96))
        if position + length > QUARTERS_PER_WEEK:
            break
        start = (position + turn) % QUARTERS_PER_WEEK * 15
        week.setdefault(start // 1440, []).append(Shift(start % 1440, start % 1440 + length * 15))
        position += length
    return week


@st.composite
def dst_nights(draw: st.DrawFn) -> dict[int, list[Shift]]:
    """Shifts from Saturday 22:00 to Sunday 04:00, on quarter hours, when clocks change."""
    quarters = sorted(draw(st.sets(st.integers(-8, 16), min_size=2, max_size=8)))
    week: dict[int, list[Shift]] = {}
    for opens, closes in zip(quarters[::2], quarters[1::2], strict=False):
        day, start = (5, 1440 + opens * 15) if opens < 0 else (6, opens * 15)
        week.setdefault(day, []).append(Shift(start, start + (closes - opens) * 15))
    return week


# Strategies are built once: building them per example costs more than the code under test.
ANY_DAY = st.dates(date(2024, 1, 1), date(2030, 12, 31))
START_DAYS = {
    zone: st.one_of(st.sampled_from(days + LEAP_AND_NEW_YEAR), ANY_DAY)
    for zone, days in TRANSITION_DAYS.items()
}
DST_START_DAYS = {zone: st.sampled_from(TRANSITION_DAYS[zone]) for zone in DST_ZONES}
START_OFFSETS = st.one_of(
    st.integers(-24, 120).map(lambda n: n * QUARTER),
    st.integers(-6 * 3600 * 10**6, 30 * 3600 * 10**6).map(lambda n: n * MICROSECOND),
)
WEEKS = st.one_of(random_weeks(), st.sampled_from([*TEMPLATES, DST_NIGHT]))
DST_WEEKS = st.one_of(dst_nights(), st.sampled_from([DST_NIGHT, EVERY_NIGHT]))
HOLIDAYS_NEARBY = st.sets(st.integers(-2, 45), max_size=12)
# Microseconds; zero, whole quarter hours or anything. Each scenario cuts them to its range.
RAW_DURATIONS = st.one_of(
    st.just(0),
    st.integers(1, 10**6).map(lambda n: n * 15 * 60 * 10**6),
    st.integers(1, 10**13),
)


class Scenario(NamedTuple):
    calendar: BusinessCalendar
    start: datetime
    longest: int  # six weeks of the calendar's hours, in microseconds

    def duration(self, raw: int) -> timedelta:
        return timedelta(microseconds=raw % self.longest)


@st.composite
def scenarios(
    draw: st.DrawFn,
    zones: list[str],
    days: dict[str, st.SearchStrategy[date]],
    weeks: st.SearchStrategy[dict[int, list[Shift]] | None],
) -> Scenario:
    """A calendar and a start: special days, quarter-hour boundaries or any microsecond."""
    zone_name = draw(st.sampled_from(zones))
    zone = ZoneInfo(zone_name)
    day = draw(days[zone_name])
    start = datetime.combine(day, time(), tzinfo=zone).astimezone(UTC) + draw(START_OFFSETS)
    hours = draw(weeks)
    if hours is None:
        calendar = BusinessCalendar.twenty_four_seven(zone_name)
    else:
        holidays = {day + timedelta(days=n) for n in draw(HOLIDAYS_NEARBY)}
        calendar = BusinessCalendar.weekly(zone_name, hours, holidays)
    week = sum((s.end - s.start for d in calendar.hours for s in d), 0) or 7 * 1440
    local = draw(st.booleans())
    return Scenario(calendar, start.astimezone(zone) if local else start, 6 * week * 60 * 10**6)


def model_is_open(calendar: BusinessCalendar, shown: datetime) -> bool:
    """The rules read literally, for the latest local time the clocks have shown so far."""
    if calendar.always_open:
        return True
    for day in (shown.date() - timedelta(days=1), shown.date()):
        midnight = datetime.combine(day, time())
        if day not in calendar.holidays and any(
            midnight + timedelta(minutes=s.start) <= shown < midnight + timedelta(minutes=s.end)
            for s in calendar.hours[day.weekday()]
        ):
            return True
    return False


# Half of all cases are nights when the clocks change.
SCENARIOS = st.one_of(
    scenarios(ZONES, START_DAYS, WEEKS), scenarios(DST_ZONES, DST_START_DAYS, DST_WEEKS)
)


@PROPERTIES
@given(SCENARIOS, RAW_DURATIONS)
def test_due_times_round_trip_and_land_in_business_hours(scenario, raw):
    calendar, start, _ = scenario
    duration = scenario.duration(raw)
    due = add_business_time(calendar, start, duration)
    assert due.tzinfo is UTC and due >= start
    assert business_time_between(calendar, start, due) == duration
    if duration:  # in business time, or exactly at a closing
        assert is_business_time(calendar, due - MICROSECOND)
    else:
        assert is_business_time(calendar, due) and due == next_business_moment(calendar, start)


@PROPERTIES
@given(SCENARIOS, RAW_DURATIONS, RAW_DURATIONS)
def test_more_business_time_is_due_later(scenario, raw, other_raw):
    calendar, start, _ = scenario
    shorter, longer = sorted([scenario.duration(raw), scenario.duration(other_raw)])
    first, second = (add_business_time(calendar, start, d) for d in (shorter, longer))
    assert first < second if shorter < longer else first == second


@PROPERTIES
@given(SCENARIOS, RAW_DURATIONS, RAW_DURATIONS)
def test_adding_in_two_steps_equals_adding_once(scenario, raw, other_raw):
    """Holds for a positive second step; a zero one moves a closing time to the next opening."""
    calendar, start, _ = scenario
    first, then = scenario.duration(raw), scenario.duration(other_raw) or MICROSECOND
    in_steps = add_business_time(calendar, add_business_time(calendar, start, first), then)
    assert in_steps == add_business_time(calendar, start, first + then)


@PROPERTIES
@given(SCENARIOS, st.integers(0, 120 * 24 * 3600))
def test_measuring_long_spans_equals_summing_short_ones(scenario, seconds):
    """Long spans skip whole weeks at once; spans of three days or less walk day by day."""
    calendar, start, _ = scenario
    end = start + timedelta(seconds=seconds)
    pieces = seconds // (3 * 24 * 3600) + 1
    cuts = [start + (end - start) * n / pieces for n in range(pieces + 1)]
    summed = sum(
        (business_time_between(calendar, a, b) for a, b in pairwise(cuts)),
        ZERO,
    )
    assert business_time_between(calendar, start, end) == summed


@PROPERTIES
@given(SCENARIOS, st.integers(0, 3 * 24 * 4))
def test_matches_a_quarter_hour_model_of_the_rules(scenario, quarters):
    """Each quarter hour on the UTC grid is open when the latest local time shown so far is.

    "Latest shown so far" makes a boundary the first instant at or after it: the end of a DST
    gap, or the first pass of a repeated hour. All zones here move by whole quarter hours.
    """
    calendar, start, _ = scenario
    zone = ZoneInfo(calendar.timezone)
    since = start.astimezone(UTC)
    since = since.replace(minute=since.minute - since.minute % 15, second=0, microsecond=0)
    until = since + quarters * QUARTER
    moment, shown, open_quarters = since - 3 * HOUR, datetime.min, 0
    while moment < until:
        shown = max(shown, moment.astimezone(zone).replace(tzinfo=None))
        if moment >= since:
            expected = model_is_open(calendar, shown)
            assert is_business_time(calendar, moment) == expected, moment
            open_quarters += expected
        moment += QUARTER
    assert business_time_between(calendar, since, until) == open_quarters * QUARTER


def test_open_until_gives_the_end_of_the_period_running_now():
    seoul = BusinessCalendar.weekly(
        "Asia/Seoul", {d: ["09:00-12:00", "13:00-18:00"] for d in range(5)}
    )
    monday = datetime(2026, 11, 23, 10, 30, tzinfo=SEOUL)
    assert open_until(seoul, monday) == datetime(2026, 11, 23, 12, 0, tzinfo=SEOUL)
    assert open_until(seoul, monday.replace(hour=12, minute=30)) is None  # lunch
    assert open_until(seoul, monday.replace(hour=18)) is None  # closing is closed
    night = BusinessCalendar.weekly("UTC", {0: ["22:00-24:00"], 1: ["00:00-06:00"]})
    late = datetime(2026, 11, 23, 23, 0, tzinfo=UTC)
    assert open_until(night, late) == datetime(2026, 11, 24, 6, 0, tzinfo=UTC)
    always = BusinessCalendar.twenty_four_seven()
    assert open_until(always, late) == late + SEARCH_HORIZON
