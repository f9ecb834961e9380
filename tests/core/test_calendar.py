"""Business-day calendar: public holidays, business-day and business-hour deadlines."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from halles.core.calendar import BusinessCalendar, calendar_for

PARIS = ZoneInfo("Europe/Paris")
UTC = dt.UTC


def paris(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=PARIS)


@pytest.fixture
def fr() -> BusinessCalendar:
    return BusinessCalendar()


# -- is_business_day --------------------------------------------------------


@pytest.mark.parametrize(
    "holiday",
    [
        dt.date(2026, 1, 1),  # Thursday, New Year's Day
        dt.date(2026, 4, 6),  # Monday, Easter Monday
        dt.date(2026, 5, 1),  # Friday, Labour Day
        dt.date(2026, 5, 8),  # Friday, Victory in Europe Day
        dt.date(2026, 5, 14),  # Thursday, Ascension
        dt.date(2026, 5, 25),  # Monday, Whit Monday
        dt.date(2026, 7, 14),  # Tuesday, Bastille Day
        dt.date(2026, 11, 11),  # Wednesday, Armistice
        dt.date(2026, 12, 25),  # Friday, Christmas
    ],
)
def test_french_public_holidays_on_weekdays_are_not_business_days(fr, holiday):
    # given a French public holiday falling on a weekday
    assert holiday.weekday() < 5
    # when / then
    assert fr.is_business_day(holiday) is False


@pytest.mark.parametrize(
    "day",
    [
        dt.date(2026, 3, 30),  # Monday
        dt.date(2026, 4, 7),  # Tuesday after Easter Monday
        dt.date(2026, 5, 4),  # Monday after the May 1st weekend
        dt.date(2026, 5, 13),  # Wednesday before Ascension
        dt.date(2026, 5, 15),  # Friday after Ascension ("pont", not a holiday)
        dt.date(2026, 7, 15),  # Wednesday
    ],
)
def test_ordinary_weekdays_are_business_days(fr, day):
    assert fr.is_business_day(day) is True


@pytest.mark.parametrize(
    "day",
    [
        dt.date(2026, 5, 2),  # Saturday
        dt.date(2026, 5, 3),  # Sunday
        dt.date(2026, 8, 15),  # Saturday, Assumption
        dt.date(2026, 11, 1),  # Sunday, All Saints
    ],
)
def test_weekends_are_not_business_days(fr, day):
    assert fr.is_business_day(day) is False


def test_is_business_day_refuses_a_datetime(fr):
    # a datetime's date depends on the time zone: the caller must pick it
    with pytest.raises(TypeError):
        fr.is_business_day(paris(2026, 5, 4, 10, 0))


def test_local_date_is_taken_in_the_calendar_time_zone(fr):
    # given 23:30 UTC on Thursday, which is already Friday in Paris
    moment = dt.datetime(2026, 5, 7, 23, 30, tzinfo=UTC)
    # when / then
    assert fr.local_date(moment) == dt.date(2026, 5, 8)


def test_unknown_country_is_rejected():
    with pytest.raises(ValueError):
        BusinessCalendar("XX")


def test_country_code_is_case_insensitive():
    assert BusinessCalendar("fr").is_business_day(dt.date(2026, 5, 1)) is False


def test_calendar_for_returns_a_shared_french_paris_calendar():
    # when
    calendar = calendar_for()
    # then
    assert calendar is calendar_for("FR", "Europe/Paris")
    assert calendar is calendar_for("fr")
    assert calendar.country == "FR"
    assert calendar.tz == PARIS
    assert calendar.is_business_day(dt.date(2026, 5, 8)) is False


# -- business_days_between ------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        # May 1st (holiday), 2-3 (weekend), then Monday 4th
        (dt.date(2026, 4, 30), dt.date(2026, 5, 4), 1),
        # 7, 11, 12, 13, 15 (8th and 14th are holidays)
        (dt.date(2026, 5, 6), dt.date(2026, 5, 15), 5),
        # start is excluded, end is included
        (dt.date(2026, 5, 4), dt.date(2026, 5, 5), 1),
        (dt.date(2026, 5, 4), dt.date(2026, 5, 4), 0),
        (dt.date(2026, 5, 5), dt.date(2026, 5, 4), 0),
        # whole year 2026: 261 weekdays minus 9 holidays on weekdays
        (dt.date(2025, 12, 31), dt.date(2026, 12, 31), 252),
    ],
)
def test_business_days_between(fr, start, end, expected):
    assert fr.business_days_between(start, end) == expected


# -- add_business_days ----------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        # Thursday + 1 skips Labour Day (Friday) and the weekend
        (paris(2026, 4, 30, 10, 0), 1, paris(2026, 5, 4, 10, 0)),
        # Wednesday + 5: 7 (1), 8 holiday, 11 (2), 12 (3), 13 (4), 14 Ascension, 15 (5)
        (paris(2026, 5, 6, 10, 0), 5, paris(2026, 5, 15, 10, 0)),
        # Friday + 1 skips the weekend and Easter Monday
        (paris(2026, 4, 3, 16, 45), 1, paris(2026, 4, 7, 16, 45)),
        # Friday and Saturday + 1 both give Monday
        (paris(2026, 5, 15, 10, 0), 1, paris(2026, 5, 18, 10, 0)),
        (paris(2026, 5, 16, 10, 0), 1, paris(2026, 5, 18, 10, 0)),
        # Sunday + 1 skips Whit Monday
        (paris(2026, 5, 24, 10, 0), 1, paris(2026, 5, 26, 10, 0)),
        # across the new year: January 1st 2027 is a Friday
        (paris(2026, 12, 31, 9, 0), 1, paris(2027, 1, 4, 9, 0)),
        # ordinary week
        (paris(2026, 6, 1, 8, 30), 5, paris(2026, 6, 8, 8, 30)),
    ],
)
def test_add_business_days(fr, start, days, expected):
    # when
    deadline = fr.add_business_days(start, days)
    # then
    assert deadline == expected
    assert deadline.tzinfo == PARIS
    assert deadline.time() == expected.time()


def test_add_zero_business_days_returns_start(fr):
    # given a start on a holiday
    start = paris(2026, 5, 1, 10, 0)
    # when / then
    assert fr.add_business_days(start, 0) == start


def test_add_business_days_keeps_local_time_across_dst_change(fr):
    # given Friday 10:00 CET (09:00 UTC); clocks go forward on Sunday 29 March
    start = paris(2026, 3, 27, 10, 0)
    assert start.astimezone(UTC).hour == 9
    # when
    deadline = fr.add_business_days(start, 1)
    # then Monday 10:00 CEST, i.e. 08:00 UTC
    assert deadline == paris(2026, 3, 30, 10, 0)
    assert deadline.astimezone(UTC) == dt.datetime(2026, 3, 30, 8, 0, tzinfo=UTC)
    assert (deadline.hour, deadline.minute) == (10, 0)


def test_add_business_days_counts_from_the_local_date_of_start(fr):
    # given 22:30 UTC on Tuesday 12 May, i.e. 00:30 on Wednesday 13 May in Paris
    start = dt.datetime(2026, 5, 12, 22, 30, tzinfo=UTC)
    # when
    deadline = fr.add_business_days(start, 1)
    # then Thursday 14 (Ascension) is skipped: Friday 15 at 00:30 Paris time
    assert deadline == paris(2026, 5, 15, 0, 30)
    assert deadline.tzinfo == PARIS


def test_add_business_days_moves_a_wall_time_skipped_by_dst_forward():
    # given Cairo, where clocks jump from 00:00 to 01:00 on Friday 24 April 2026
    cairo = BusinessCalendar("FR", "Africa/Cairo")
    start = dt.datetime(2026, 4, 23, 0, 30, tzinfo=ZoneInfo("Africa/Cairo"))
    # when
    deadline = cairo.add_business_days(start, 1)
    # then 00:30 does not exist that day: it becomes 01:30 (+03:00)
    assert deadline.date() == dt.date(2026, 4, 24)
    assert (deadline.hour, deadline.minute) == (1, 30)
    assert deadline.utcoffset() == dt.timedelta(hours=3)
    assert deadline.astimezone(UTC) == dt.datetime(2026, 4, 23, 22, 30, tzinfo=UTC)


def test_add_negative_business_days_is_rejected(fr):
    with pytest.raises(ValueError):
        fr.add_business_days(paris(2026, 5, 4, 10, 0), -1)


def test_add_business_days_rejects_naive_datetimes(fr):
    with pytest.raises(ValueError):
        fr.add_business_days(dt.datetime(2026, 5, 4, 10, 0), 1)


def test_german_calendar_uses_german_holidays():
    # given Germany: May 1st is a holiday, May 8th is not (it is in France)
    de = BusinessCalendar("DE", "Europe/Berlin")
    berlin = ZoneInfo("Europe/Berlin")
    assert de.is_business_day(dt.date(2026, 5, 1)) is False
    assert de.is_business_day(dt.date(2026, 5, 8)) is True
    assert de.is_business_day(dt.date(2026, 4, 3)) is False  # Good Friday
    # when / then
    assert de.add_business_days(dt.datetime(2026, 5, 7, 10, 0, tzinfo=berlin), 1) == dt.datetime(
        2026, 5, 8, 10, 0, tzinfo=berlin
    )


def test_british_calendar_uses_uk_bank_holidays():
    # given the UK: May 1st 2026 is an ordinary Friday, the early May bank
    # holiday is Monday 4 May
    gb = BusinessCalendar("GB", "Europe/London")
    london = ZoneInfo("Europe/London")
    assert gb.is_business_day(dt.date(2026, 5, 1)) is True
    assert gb.is_business_day(dt.date(2026, 5, 4)) is False
    # when / then
    thursday = dt.datetime(2026, 4, 30, 10, 0, tzinfo=london)
    assert gb.add_business_days(thursday, 1) == dt.datetime(2026, 5, 1, 10, 0, tzinfo=london)
    assert gb.add_business_days(thursday, 2) == dt.datetime(2026, 5, 5, 10, 0, tzinfo=london)


# -- add_business_hours ---------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "hours", "expected"),
    [
        # Monday 10:00 + 48 = Wednesday 10:00
        (paris(2026, 5, 18, 10, 0), 48, paris(2026, 5, 20, 10, 0)),
        # Friday 15:00: 9 h on Friday, 24 on Monday, 15 on Tuesday
        (paris(2026, 5, 15, 15, 0), 48, paris(2026, 5, 19, 15, 0)),
        # Saturday 09:00: counting starts Monday 00:00, Monday and Tuesday whole
        (paris(2026, 5, 16, 9, 0), 48, paris(2026, 5, 20, 0, 0)),
        # Thursday 12:00: 12 h on Thursday, Friday 8 May (holiday) and the
        # weekend skipped, 24 on Monday, 12 on Tuesday
        (paris(2026, 5, 7, 12, 0), 48, paris(2026, 5, 12, 12, 0)),
        # same start, escalation after 72 h: Wednesday 12:00
        (paris(2026, 5, 7, 12, 0), 72, paris(2026, 5, 13, 12, 0)),
        # Friday 15:00 before Whit Monday: 9 + 24 (Tuesday) + 15 (Wednesday)
        (paris(2026, 5, 22, 15, 0), 48, paris(2026, 5, 27, 15, 0)),
        # fractions of an hour
        (paris(2026, 5, 18, 10, 0), 1.5, paris(2026, 5, 18, 11, 30)),
        # hours running out exactly at the end of Friday: Saturday 00:00
        (paris(2026, 5, 15, 0, 0), 24, paris(2026, 5, 16, 0, 0)),
    ],
)
def test_add_business_hours(fr, start, hours, expected):
    # when
    deadline = fr.add_business_hours(start, hours)
    # then
    assert deadline == expected
    assert deadline.tzinfo == PARIS
    assert deadline.time() == expected.time()


def test_add_zero_business_hours_returns_start(fr):
    start = paris(2026, 5, 16, 9, 0)  # a Saturday
    assert fr.add_business_hours(start, 0) == start


def test_add_business_hours_across_a_weekend_dst_change(fr):
    # given Friday 10:00 CET; clocks go forward on Sunday 29 March
    start = paris(2026, 3, 27, 10, 0)
    # when: 14 h on Friday, 24 on Monday, 10 on Tuesday
    deadline = fr.add_business_hours(start, 48)
    # then Tuesday 10:00 CEST, i.e. 08:00 UTC
    assert deadline == paris(2026, 3, 31, 10, 0)
    assert deadline.astimezone(UTC) == dt.datetime(2026, 3, 31, 8, 0, tzinfo=UTC)
    assert (deadline.hour, deadline.minute) == (10, 0)


def test_add_business_hours_counts_real_time_on_a_23_hour_business_day():
    # given Cairo, where Friday 24 April 2026 lasts 23 hours (00:00 -> 01:00)
    cairo_tz = ZoneInfo("Africa/Cairo")
    cairo = BusinessCalendar("FR", cairo_tz)
    start = dt.datetime(2026, 4, 23, 12, 0, tzinfo=cairo_tz)
    # when: 12 h left on Thursday, then 12 real hours into Friday
    deadline = cairo.add_business_hours(start, 24)
    # then 13:00 local (+03:00), exactly 24 real hours later
    assert deadline == dt.datetime(2026, 4, 24, 13, 0, tzinfo=cairo_tz)
    assert (deadline.hour, deadline.minute) == (13, 0)
    assert deadline.astimezone(UTC) - start.astimezone(UTC) == dt.timedelta(hours=24)


def test_add_business_hours_counts_real_time_on_a_25_hour_business_day():
    # given Cairo, where Thursday 29 October 2026 lasts 25 hours (23:00 twice)
    cairo_tz = ZoneInfo("Africa/Cairo")
    cairo = BusinessCalendar("FR", cairo_tz)
    start = dt.datetime(2026, 10, 28, 12, 0, tzinfo=cairo_tz)
    # when: 12 h on Wednesday plus the whole 25-hour Thursday
    deadline = cairo.add_business_hours(start, 37)
    # then Friday 00:00 (+02:00)
    assert deadline.date() == dt.date(2026, 10, 30)
    assert (deadline.hour, deadline.minute) == (0, 0)
    assert deadline.astimezone(UTC) == dt.datetime(2026, 10, 29, 22, 0, tzinfo=UTC)


def test_add_negative_business_hours_is_rejected(fr):
    with pytest.raises(ValueError):
        fr.add_business_hours(paris(2026, 5, 4, 10, 0), -0.5)


def test_add_business_hours_rejects_naive_datetimes(fr):
    with pytest.raises(ValueError):
        fr.add_business_hours(dt.datetime(2026, 5, 4, 10, 0), 48)


# -- properties -----------------------------------------------------------------

aware_starts = st.datetimes(
    min_value=dt.datetime(2026, 1, 1),
    max_value=dt.datetime(2027, 12, 31, 23, 59),
    timezones=st.sampled_from([PARIS, UTC, ZoneInfo("America/New_York"), ZoneInfo("Asia/Tokyo")]),
    allow_imaginary=False,
)


@given(start=aware_starts, n=st.integers(min_value=0, max_value=30))
def test_add_business_days_lands_on_the_nth_business_day(start, n):
    fr = calendar_for()
    # when
    deadline = fr.add_business_days(start, n)
    # then
    local_start = start.astimezone(PARIS)
    assert deadline.tzinfo == PARIS
    if n == 0:
        assert deadline == start
        return
    assert deadline > start
    assert fr.is_business_day(deadline.date())
    assert deadline.time() == local_start.time().replace(fold=0)
    # counting from the local start date, whether it is a business day or not:
    # the deadline date is the first date with exactly n business days after start
    assert fr.business_days_between(local_start.date(), deadline.date()) == n
    day_before = deadline.date() - dt.timedelta(days=1)
    assert fr.business_days_between(local_start.date(), day_before) == n - 1


@given(
    start=aware_starts,
    first=st.integers(min_value=0, max_value=100),
    second=st.integers(min_value=0, max_value=100),
)
def test_add_business_hours_is_additive(start, first, second):
    fr = calendar_for()
    # when
    in_two_steps = fr.add_business_hours(fr.add_business_hours(start, first), second)
    # then
    assert in_two_steps == fr.add_business_hours(start, first + second)
    assert in_two_steps - start >= dt.timedelta(hours=first + second)


@given(start=aware_starts, n=st.integers(min_value=0, max_value=20))
def test_24n_business_hours_from_a_business_day_is_n_business_days(start, n):
    # In Paris DST changes happen on Sundays, so every business day lasts 24 h;
    # an exact local midnight start is excluded (24 h from Friday 00:00 ends
    # on Saturday 00:00, whereas one business day later is Monday 00:00).
    fr = calendar_for()
    local_start = start.astimezone(PARIS)
    assume(fr.is_business_day(local_start.date()))
    assume(local_start.time() != dt.time(0, 0))
    # when / then
    assert fr.add_business_hours(start, 24 * n) == fr.add_business_days(start, n)
