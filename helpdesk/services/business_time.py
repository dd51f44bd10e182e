"""Business time for SLA timers: opening hours, holidays and time zones, as pure functions.

A :class:`BusinessCalendar` holds weekly shifts in local wall-clock time, holiday dates and an
IANA time zone. :func:`add_business_time` gives the instant a duration of business time runs
out (an SLA due time); :func:`business_time_between` measures it (e.g. time spent paused).
Durations are real elapsed time: a 01:00-05:00 Berlin shift lasts 3 h on the spring-forward night.

Rules, decided once here so that every timer agrees:

* A shift belongs to the local date it starts on and may run past midnight (``22:00-06:00``);
  when that date is a holiday the whole shift is closed.
* A wall-clock boundary is the first instant whose local time is at or after it. A boundary in
  a spring-forward gap therefore falls on the end of the gap; an ambiguous boundary in the
  repeated fall-back hour is its first occurrence (``fold=0``), and a shift running through
  the repeated hour includes both passes.
* Shifts are half-open: business time at their opening, not at their closing.
* A 24/7 calendar is open at every instant and accepts neither shifts nor holidays; for "always
  open except holidays", give every day ``00:00-24:00`` and list the holidays.
* A zero duration yields the next business moment at or after the start, so a ticket due
  "immediately" on a Saturday is due at Monday's opening.

Every function takes timezone-aware datetimes (``ValueError`` for naive ones) and returns UTC.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache, lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from holidays import country_holidays

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# Long enough for any closure an admin means to configure, short enough to fail in a millisecond.
SEARCH_HORIZON = timedelta(days=3 * 366)

_MINUTES_PER_DAY = 24 * 60
_ZERO = timedelta(0)
_SECOND, _DAY, _WEEK = timedelta(seconds=1), timedelta(days=1), timedelta(days=7)
# Instants are naive UTC inside the module: cheaper than aware ones, converted at the edges.
_EPOCH, _NAIVE_EPOCH = datetime(1970, 1, 1, tzinfo=UTC), datetime(1970, 1, 1)
# Per calendar: about five years of converted days, a few MB at most across all calendars.
_CACHED_DAYS = 2048
_SHIFT_TEXT = re.compile(r"\s*(\d{1,2}):(\d\d)\s*-\s*(\d{1,2}):(\d\d)\s*")

_Interval = tuple[datetime, datetime]


class CalendarError(ValueError):
    """A business calendar that is invalid or cannot offer any business time."""


class NoBusinessTime(CalendarError):
    """No opening within :data:`SEARCH_HORIZON`: every day on the way was closed or a holiday."""


@dataclass(frozen=True, order=True, slots=True)
class Shift:
    """Opening hours of one weekday, in minutes after that day's local midnight.

    ``end`` may pass midnight, up to 24 hours after ``start``: ``Shift.parse("22:00-06:00")``
    is ``Shift(1320, 1800)``. Raises :class:`CalendarError` when empty or out of range.
    """

    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start < _MINUTES_PER_DAY:
            raise CalendarError(f"a shift starts at minute 0 to 1439 of its day, not {self.start}")
        if self.end <= self.start:
            raise CalendarError(f"shift {self} is empty: it must end after it starts")
        if self.end - self.start > _MINUTES_PER_DAY:
            raise CalendarError(f"shift {self} is longer than 24 hours")

    @classmethod
    def parse(cls, text: str) -> Shift:
        """Read ``"09:00-18:00"``; an earlier end is on the next day; ``24:00`` is midnight."""
        match = _SHIFT_TEXT.fullmatch(text)
        if match is None:
            raise CalendarError(f"{text!r} is not a shift such as 09:00-18:00")
        start_h, start_m, end_h, end_m = (int(part) for part in match.groups())
        if start_h > 23 or end_h > 24 or start_m > 59 or end_m > 59 or (end_h == 24 and end_m):
            raise CalendarError(f"{text!r} contains an impossible time")
        start, end = start_h * 60 + start_m, end_h * 60 + end_m
        if end == start:
            raise CalendarError(f"shift {text!r} is empty: it must end after it starts")
        return cls(start, end if end > start else end + _MINUTES_PER_DAY)

    def __str__(self) -> str:
        start, end = (f"{m // 60 % 24:02d}:{m % 60:02d}" for m in (self.start, self.end))
        return f"{start}-{'24:00' if self.end == _MINUTES_PER_DAY else end}"


@dataclass(frozen=True)
class BusinessCalendar:
    """When a team works: an IANA ``timezone``, weekly ``hours`` and local ``holidays``.

    ``hours`` has seven entries, Monday first, each the shifts of that weekday. Holidays close
    the shifts that start on them. ``always_open`` makes every instant business time. Frozen
    and hashable, so computations are cached per calendar. Raises :class:`CalendarError` for an
    unknown time zone, overlapping shifts (also across midnight and from Sunday into Monday),
    a calendar without shifts, or a 24/7 calendar given shifts or holidays.
    """

    timezone: str
    hours: tuple[tuple[Shift, ...], ...] = ((),) * 7
    holidays: frozenset[date] = frozenset()
    always_open: bool = False
    # Compiled once per distinct calendar and shared, so calls neither hash nor recompile.
    _schedule: _Schedule = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _zone(self.timezone)
        if len(self.hours) != 7:
            raise CalendarError(f"hours need 7 weekdays, Monday first, not {len(self.hours)}")
        if not all(isinstance(shift, Shift) for day in self.hours for shift in day):
            raise CalendarError("hours hold Shift values, e.g. Shift.parse('09:00-18:00')")
        holidays = frozenset(self.holidays)
        if not all(isinstance(d, date) and not isinstance(d, datetime) for d in holidays):
            raise CalendarError("holidays are local dates (datetime.date), not datetimes")
        # Normalised so that equal calendars compare and hash equal.
        object.__setattr__(self, "hours", tuple(tuple(sorted(day)) for day in self.hours))
        object.__setattr__(self, "holidays", holidays)
        if self.always_open:
            if any(self.hours) or holidays:
                raise CalendarError(
                    "a 24/7 calendar takes no hours or holidays; for 24/7 except holidays, "
                    "open every day 00:00-24:00 and list the holidays"
                )
        elif not any(self.hours):
            raise CalendarError("a calendar needs at least one shift (or always_open)")
        _check_no_overlap(self.hours)
        object.__setattr__(self, "_schedule", _compile(self))

    @classmethod
    def weekly(
        cls,
        timezone: str,
        hours: Mapping[int, Iterable[str | Shift]],
        holidays: Iterable[date] = (),
    ) -> BusinessCalendar:
        """Build from ``{0: ["09:00-12:00", "13:00-18:00"], ...}`` where 0 is Monday."""
        if unknown := set(hours) - set(range(7)):
            raise CalendarError(f"weekdays are 0 (Monday) to 6 (Sunday), not {sorted(unknown)}")
        days = tuple(
            tuple(s if isinstance(s, Shift) else Shift.parse(s) for s in hours.get(d, ()))
            for d in range(7)
        )
        return cls(timezone, days, frozenset(holidays))

    @classmethod
    def twenty_four_seven(cls, timezone: str = "UTC") -> BusinessCalendar:
        """A calendar that is always open (the time zone only labels it)."""
        return cls(timezone, always_open=True)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CalendarError(f"unknown time zone {name!r}: expected an IANA name") from exc


def _check_no_overlap(hours: tuple[tuple[Shift, ...], ...]) -> None:
    spans = sorted(
        (day * _MINUTES_PER_DAY + shift.start, day * _MINUTES_PER_DAY + shift.end, day, shift)
        for day, shifts in enumerate(hours)
        for shift in shifts
    )
    # The last shift of the week is compared with the first one, a week later.
    for index, (_, end, day, shift) in enumerate(spans):
        next_start, _, next_day, next_shift = spans[(index + 1) % len(spans)]
        if index == len(spans) - 1:
            next_start += 7 * _MINUTES_PER_DAY
        if end > next_start:
            raise CalendarError(
                f"{WEEKDAYS[day]} {shift} overlaps {WEEKDAYS[next_day]} {next_shift}"
            )


class _Block(NamedTuple):
    """Shifts starting on seven consecutive days: first opening, last closing, business time."""

    opens: datetime
    closes: datetime
    total: timedelta


_Clock = tuple[int, time, time]  # days after the shift's date, wall time, same with fold=1


@cache
def _clock_of(minutes: int) -> _Clock:
    days, minutes = divmod(minutes, _MINUTES_PER_DAY)
    wall = time(minutes // 60, minutes % 60)
    return days, wall, wall.replace(fold=1)


class _Schedule:
    """A calendar compiled for the walk. Plain dict caches: a lost thread race converts twice."""

    __slots__ = ("_blocks", "_days", "holidays", "nominal_week", "shifts", "zone")

    def __init__(self, calendar: BusinessCalendar) -> None:
        hours = calendar.hours
        self.zone, self.holidays = _zone(calendar.timezone), calendar.holidays
        self.shifts = tuple(tuple((_clock_of(s.start), _clock_of(s.end)) for s in d) for d in hours)
        self.nominal_week = timedelta(minutes=sum(s.end - s.start for d in hours for s in d))
        self._days: dict[date, tuple[_Interval, ...]] = {}
        self._blocks: dict[date, tuple[_Block | None]] = {}  # boxed: None is a valid value

    def day(self, local_date: date) -> tuple[_Interval, ...]:
        """The shifts starting on ``local_date`` as ordered, non-empty UTC intervals."""
        intervals = self._days.get(local_date)
        if intervals is None:
            if len(self._days) >= _CACHED_DAYS:
                self._days.clear()
            intervals = self._days[local_date] = self._convert(local_date)
        return intervals

    def week(self, first_day: date) -> _Block | None:
        """Shifts starting on ``first_day`` or the six days after it; None if there are none."""
        boxed = self._blocks.get(first_day)
        if boxed is None:
            if len(self._blocks) >= _CACHED_DAYS:
                self._blocks.clear()
            spans = [span for n in range(7) for span in self.day(first_day + n * _DAY)]
            total = sum((closes - opens for opens, closes in spans), _ZERO)
            boxed = (_Block(spans[0][0], spans[-1][1], total) if spans else None,)
            self._blocks[first_day] = boxed
        return boxed[0]

    def _convert(self, local_date: date) -> tuple[_Interval, ...]:
        if local_date in self.holidays:
            return ()
        intervals: list[_Interval] = []
        for start, end in self.shifts[local_date.weekday()]:
            opens = _first_instant_at(local_date, start, self.zone)
            closes = _first_instant_at(local_date, end, self.zone)
            if opens < closes:  # a shift entirely inside a DST gap has no real time
                intervals.append((opens, closes))
        return tuple(intervals)


@lru_cache(maxsize=32)
def _compile(calendar: BusinessCalendar) -> _Schedule:
    return _Schedule(calendar)


def _offset(zone: ZoneInfo, moment: datetime) -> timedelta:
    return zone.utcoffset(moment) or _ZERO


def _first_instant_at(local_date: date, clock: _Clock, zone: ZoneInfo) -> datetime:
    """The first instant (naive UTC) whose local time in ``zone`` is the clock's or later."""
    days, wall_time, wall_time_fold = clock
    day = local_date + _DAY if days else local_date
    wall = datetime.combine(day, wall_time)
    earlier = _offset(zone, wall)  # fold=0: the first occurrence of an ambiguous time
    later = _offset(zone, datetime.combine(day, wall_time_fold))
    if later <= earlier:
        return wall - earlier
    # ``wall`` is in a spring-forward gap: no instant shows it, and the first one after it is
    # the transition, between these two readings. Transitions fall on whole seconds.
    low, high = wall - later, wall - earlier
    while high - low > _SECOND:
        middle = low + (high - low) // _SECOND // 2 * _SECOND
        if _offset(zone, _aware(middle).astimezone(zone)) == later:
            high = middle
        else:
            low = middle
    return high


def _naive(moment: datetime, name: str) -> datetime:
    if moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, not {moment!r}")
    return _NAIVE_EPOCH + (moment - _EPOCH)


def _aware(naive_utc: datetime) -> datetime:
    return _EPOCH + (naive_utc - _NAIVE_EPOCH)


def add_business_time(calendar: BusinessCalendar, start: datetime, duration: timedelta) -> datetime:
    """The instant (UTC) at which ``duration`` of business time has elapsed since ``start``.

    The clock runs from ``start``, or from the next opening when ``start`` is outside business
    hours. A positive duration may end exactly at a closing time; a zero duration gives
    :func:`next_business_moment`. Raises ``ValueError`` for a negative ``duration`` and
    :class:`NoBusinessTime` when no opening comes within :data:`SEARCH_HORIZON`.
    """
    now = _naive(start, "start")
    if duration < _ZERO:
        raise ValueError(f"duration must not be negative, not {duration}")
    if calendar.always_open:
        return _aware(now + duration)
    schedule = calendar._schedule
    remaining = duration
    start_day = start.astimezone(schedule.zone).date()
    day = last_open = start_day - _DAY  # yesterday's shift may run past midnight into today
    skip_weeks = remaining >= schedule.nominal_week
    while True:
        if day - last_open > SEARCH_HORIZON:
            raise NoBusinessTime(f"no business hours in the 3 years after {start_day}")
        if skip_weeks and day > start_day:
            block = schedule.week(day)
            if block is None:  # closed all week
                day += _WEEK
                continue
            if block.total >= remaining:
                skip_weeks = False  # the due time lies within this week: walk it day by day
            elif block.opens >= now:
                remaining -= block.total
                now, last_open, day = block.closes, day + 6 * _DAY, day + _WEEK
                continue
        intervals = schedule.day(day)
        for opens, closes in intervals:
            if closes <= now:
                continue
            opens = max(opens, now)
            if remaining <= closes - opens:
                return _aware(opens + remaining)
            remaining -= closes - opens
            now = closes
        if intervals:
            last_open = day
        day += _DAY


def next_business_moment(calendar: BusinessCalendar, moment: datetime) -> datetime:
    """``moment`` in UTC when it is business time, otherwise the next opening after it."""
    return add_business_time(calendar, moment, _ZERO)


def is_business_time(calendar: BusinessCalendar, moment: datetime) -> bool:
    """Whether the calendar is open at ``moment`` (open at an opening, closed at a closing)."""
    now = _naive(moment, "moment")
    if calendar.always_open:
        return True
    schedule = calendar._schedule
    today = moment.astimezone(schedule.zone).date()
    return any(
        opens <= now < closes
        for day in (today - _DAY, today, today + _DAY)
        for opens, closes in schedule.day(day)
    )


def open_until(calendar: BusinessCalendar, moment: datetime) -> datetime | None:
    """When the business period ``moment`` falls in ends (UTC), or None when closed then.

    Shifts that adjoin (an overnight shift and the next day's early one) are one period. For a
    24/7 calendar the answer is :data:`SEARCH_HORIZON` away: it never closes.
    """
    now = _naive(moment, "moment")
    if calendar.always_open:
        return _aware(now + SEARCH_HORIZON)
    schedule = calendar._schedule
    day = moment.astimezone(schedule.zone).date() - _DAY
    end: datetime | None = None
    for _ in range(9):  # enough to chain shifts across a week of adjoining days
        for opens, closes in schedule.day(day):
            if (end is None and opens <= now < closes) or (end is not None and opens == end):
                end = closes
        day += _DAY
    return None if end is None else _aware(end)


def business_time_between(calendar: BusinessCalendar, start: datetime, end: datetime) -> timedelta:
    """The business time from ``start`` to ``end``; zero when ``end`` is not after ``start``."""
    since, until = _naive(start, "start"), _naive(end, "end")
    if until <= since:
        return _ZERO
    if calendar.always_open:
        return until - since
    schedule = calendar._schedule
    start_day = start.astimezone(schedule.zone).date()
    end_day = end.astimezone(schedule.zone).date()
    total = _ZERO
    day = start_day - _DAY
    while day <= end_day + _DAY:
        if day > start_day and day + 8 * _DAY <= end_day:
            block = schedule.week(day)
            if block is None or (block.opens >= since and block.closes <= until):
                total += block.total if block else _ZERO
                day += _WEEK
                continue
        for opens, closes in schedule.day(day):
            if opens >= until:
                return total
            if closes > since:
                total += min(closes, until) - max(opens, since)
        day += _DAY
    return total


def public_holidays(
    country: str,
    years: Iterable[int],
    subdiv: str | None = None,
    language: str | None = None,
) -> dict[date, str]:
    """Public holidays from the ``holidays`` package, by date, as candidates for a calendar.

    Admins add and remove dates per calendar; this only proposes them. The package's data ends
    somewhere (Korean lunar holidays after 2100 come back empty). Raises :class:`CalendarError`
    for an unknown country or subdivision.
    """
    try:
        found = country_holidays(country, subdiv=subdiv, years=list(years), language=language)
    except NotImplementedError as exc:
        raise CalendarError(str(exc)) from exc
    return dict(sorted(found.items()))
