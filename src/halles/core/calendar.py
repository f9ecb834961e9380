"""Business-day calendar used for order deadlines.

Deadlines such as "the seller accepts within 5 business days" or "a message is
answered within 48 business hours" are computed with a :class:`BusinessCalendar`.

* A *business day* is a Monday to Friday that is not a public holiday of the
  calendar's country (as given by the ``holidays`` package).
* A *business hour* is any hour of a business day: a business day counts all of
  its hours, weekends and public holidays count for nothing.

All computations happen in the calendar's time zone (``Europe/Paris`` by
default), whatever the time zone of the datetimes passed in. Datetimes must be
aware (the project runs with ``USE_TZ=True``); naive ones are rejected.
"""

from __future__ import annotations

import datetime
import functools
import zoneinfo

import holidays

__all__ = ["BusinessCalendar", "calendar_for"]

_ONE_DAY = datetime.timedelta(days=1)
_UTC = datetime.UTC


@functools.lru_cache(maxsize=256)
def _holiday_dates(country: str, year: int) -> frozenset[datetime.date]:
    """The public holidays of ``country`` in ``year``.

    Cached per (country, year) as an immutable set, so that calendars can be
    shared between threads: a ``holidays`` object expands its years lazily,
    i.e. it mutates itself on lookup.
    """
    return frozenset(holidays.country_holidays(country, years=year))


def _require_aware(value: datetime.datetime, name: str) -> None:
    if not isinstance(value, datetime.datetime):
        raise TypeError(f"{name} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got naive {value!r}")


def _require_date(value: datetime.date, name: str) -> None:
    # A datetime is a date too, but which local date it stands for depends on a
    # time zone: make callers say it explicitly.
    if isinstance(value, datetime.datetime) or not isinstance(value, datetime.date):
        raise TypeError(
            f"{name} must be a date, not {type(value).__name__} "
            "(use calendar.local_date(dt) for a datetime)"
        )


class BusinessCalendar:
    """Business days and hours of one country, seen from one time zone."""

    def __init__(self, country: str = "FR", tz: str | zoneinfo.ZoneInfo = "Europe/Paris") -> None:
        """Build the calendar of ``country`` (ISO 3166-1 alpha-2 code) in ``tz``.

        Raises ``ValueError`` for a country the ``holidays`` package does not
        know, and ``zoneinfo.ZoneInfoNotFoundError`` for an unknown time zone.
        """
        country = country.upper()
        if country not in holidays.list_supported_countries():
            raise ValueError(f"unsupported country code: {country!r}")
        self.country = country
        self.tz = tz if isinstance(tz, zoneinfo.ZoneInfo) else zoneinfo.ZoneInfo(tz)

    def __repr__(self) -> str:
        return f"BusinessCalendar(country={self.country!r}, tz={self.tz.key!r})"

    # -- days -----------------------------------------------------------------

    def is_business_day(self, day: datetime.date) -> bool:
        """Whether ``day`` is a Monday to Friday that is not a public holiday.

        ``day`` must be a ``date``, not a ``datetime``: use :meth:`local_date`
        to get the calendar's local date of an aware datetime.
        """
        _require_date(day, "day")
        return day.weekday() < 5 and day not in _holiday_dates(self.country, day.year)

    def local_date(self, moment: datetime.datetime) -> datetime.date:
        """The date of the aware datetime ``moment`` in the calendar's time zone."""
        _require_aware(moment, "moment")
        return moment.astimezone(self.tz).date()

    def business_days_between(self, start: datetime.date, end: datetime.date) -> int:
        """Number of business days ``d`` with ``start < d <= end`` (0 if ``end <= start``)."""
        _require_date(start, "start")
        _require_date(end, "end")
        count = 0
        day = start + _ONE_DAY
        while day <= end:
            count += self.is_business_day(day)
            day += _ONE_DAY
        return count

    def add_business_days(self, start: datetime.datetime, days: int) -> datetime.datetime:
        """The deadline ``days`` business days after ``start``, at the same local time.

        Rule: ``start`` is converted to the calendar's time zone; from its local
        date we step forward one calendar day at a time, counting each business
        day reached; the result is the ``days``-th business day reached, at the
        same local wall-clock time as ``start``. Whether ``start`` itself is a
        business day does not matter: Friday 10:00 + 1 and Saturday 10:00 + 1
        are both Monday 10:00 (barring holidays). Equivalently, the result's
        local date ``r`` is the earliest one with
        ``business_days_between(start_date, r) == days``.

        The local time is kept across daylight-saving changes (Friday 10:00 CET
        + 1 is Monday 10:00 CEST). Should that wall-clock time not exist on the
        result day (skipped by a DST change) it is moved forward by the gap;
        should it occur twice, the first occurrence is used.

        ``days == 0`` returns ``start`` (the same instant, in the calendar's
        time zone). The result is an aware datetime in the calendar's time zone.
        Raises ``ValueError`` if ``days`` is negative or ``start`` is naive.
        """
        _require_aware(start, "start")
        if days < 0:
            raise ValueError(f"days must be >= 0, got {days}")
        local = start.astimezone(self.tz)
        if days == 0:
            return local
        day = local.date()
        remaining = days
        while remaining:
            day += _ONE_DAY
            if self.is_business_day(day):
                remaining -= 1
        return self._local_datetime(day, local.time().replace(fold=0))

    # -- hours ----------------------------------------------------------------

    def add_business_hours(self, start: datetime.datetime, hours: int | float) -> datetime.datetime:
        """The deadline ``hours`` business hours after ``start``.

        Every instant of a business day counts (all of its hours, from local
        midnight to the next local midnight); instants on weekends and public
        holidays do not. Durations are real elapsed time, so a 23-hour or
        25-hour DST day counts 23 or 25 hours. Examples (no holiday): 48 hours
        from Monday 10:00 is Wednesday 10:00, from Friday 15:00 is Tuesday
        15:00, from Saturday 09:00 is Wednesday 00:00 (counting starts on Monday
        00:00 and Monday and Tuesday are consumed whole).

        When the hours run out exactly at the end of a business day, the result
        is the following local midnight, even if that day is not a business day
        (24 hours from Friday 00:00 is Saturday 00:00).

        ``hours == 0`` returns ``start`` (the same instant). The result is an
        aware datetime in the calendar's time zone. Raises ``ValueError`` if
        ``hours`` is negative or ``start`` is naive.
        """
        _require_aware(start, "start")
        if not hours >= 0:  # also rejects NaN
            raise ValueError(f"hours must be >= 0, got {hours}")
        if hours == 0:
            return start.astimezone(self.tz)
        remaining = datetime.timedelta(hours=hours)
        # Arithmetic on aware datetimes sharing a tzinfo ignores UTC offsets, so
        # walk in UTC and only use local time to find day boundaries.
        now = start.astimezone(_UTC)
        day = start.astimezone(self.tz).date()
        while True:
            next_midnight = self._local_datetime(day + _ONE_DAY, datetime.time()).astimezone(_UTC)
            if self.is_business_day(day):
                available = next_midnight - now
                if remaining <= available:
                    return (now + remaining).astimezone(self.tz)
                remaining -= available
            now = next_midnight
            day += _ONE_DAY

    # -- helpers --------------------------------------------------------------

    def _local_datetime(self, day: datetime.date, wall: datetime.time) -> datetime.datetime:
        """``day`` at ``wall`` local time, normalised to an existing instant."""
        wall_clock = datetime.datetime.combine(day, wall, tzinfo=self.tz)
        # A wall time skipped by a DST change (e.g. 02:30 on spring-forward day)
        # is interpreted with the pre-change offset; the UTC round trip turns it
        # into the real local time (03:30).
        return wall_clock.astimezone(_UTC).astimezone(self.tz)


def calendar_for(country: str = "FR", tz: str = "Europe/Paris") -> BusinessCalendar:
    """The (shared, cached) :class:`BusinessCalendar` of ``country`` in ``tz``."""
    # Normalise before hitting the cache: calendar_for() and
    # calendar_for("fr", "Europe/Paris") are the same calendar.
    return _cached_calendar(country.upper(), tz)


@functools.lru_cache(maxsize=32)
def _cached_calendar(country: str, tz: str) -> BusinessCalendar:
    return BusinessCalendar(country, tz)
