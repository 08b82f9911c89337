"""Recurring series across daylight-saving changes, through unmodified exchangelib: as in
Exchange, a series keeps its wall-clock time in its own time zone (the StartTimeZone exchangelib
sends), so its UTC time moves by an hour at the March and October/November changes; all-day
series stay on their dates; a series in UTC keeps its UTC time."""

import datetime as dt

import pytest
from exchangelib import CalendarItem, EWSDate, EWSDateTime, EWSTimeZone
from exchangelib.recurrence import Recurrence, WeeklyPattern

HOUR = dt.timedelta(hours=1)


def _weekly_series(account, tz, first_monday, count, hour=9):
    start = EWSDateTime(first_monday.year, first_monday.month, first_monday.day, hour, tzinfo=tz)
    series = CalendarItem(
        account=account, folder=account.calendar, subject=f"weekly in {tz.key}",
        start=start, end=start + HOUR,
        recurrence=Recurrence(pattern=WeeklyPattern(interval=1, weekdays=[1]),
                              start=start.date(), number=count),
    )  # fmt: skip
    series.save()
    return series


# (zone, its Windows id, offsets in winter and summer, a Monday before the spring change,
#  the last Monday before and first Monday after the spring and autumn changes)
ZONES = [
    ("Europe/Berlin", "W. Europe Standard Time", (1, 2), dt.date(2026, 2, 2),
     (dt.date(2026, 3, 23), dt.date(2026, 3, 30)), (dt.date(2026, 10, 19), dt.date(2026, 10, 26))),
    ("America/Los_Angeles", "Pacific Standard Time", (-8, -7), dt.date(2026, 2, 2),
     (dt.date(2026, 3, 2), dt.date(2026, 3, 9)), (dt.date(2026, 10, 26), dt.date(2026, 11, 2))),
]  # fmt: skip


@pytest.mark.parametrize(("iana", "ms_id", "offsets", "first", "spring", "autumn"), ZONES)
def test_weekly_series_keeps_wall_clock_time_across_both_changes(
    account, iana, ms_id, offsets, first, spring, autumn
):
    tz = EWSTimeZone(iana)
    assert tz.ms_id == ms_id  # what exchangelib sends as the series' StartTimeZone
    series = _weekly_series(account, tz, first, count=45)  # February to December
    view = list(account.calendar.view(
        start=EWSDateTime(2026, 1, 1, tzinfo=tz), end=EWSDateTime(2027, 1, 1, tzinfo=tz)
    ))  # fmt: skip
    assert len(view) == 45 and {o.type for o in view} == {"Occurrence"}
    local = [o.start.astimezone(tz) for o in view]
    assert {(s.weekday(), s.hour, s.minute) for s in local} == {(0, 9, 0)}
    assert {o.end - o.start for o in view} == {HOUR}
    offset = {s.date(): s.utcoffset() for s in local}
    winter, summer = (dt.timedelta(hours=h) for h in offsets)
    assert (offset[spring[0]], offset[spring[1]]) == (winter, summer)
    assert (offset[autumn[0]], offset[autumn[1]]) == (summer, winter)
    utc = EWSTimeZone("UTC")
    assert len({o.start.astimezone(utc).time() for o in view}) == 2  # its UTC time moves by 1 h

    # An occurrence read by its index (OccurrenceItemId) and by its id agrees with the view.
    after_spring = [s.date() for s in local].index(spring[1]) + 1
    by_index = series.occurrence(index=after_spring)
    by_index.refresh()
    assert by_index.start == view[after_spring - 1].start
    assert by_index.start.astimezone(tz).time() == dt.time(9)
    assert by_index.end - by_index.start == HOUR
    by_id = account.calendar.get(id=view[-1].id)
    assert by_id.start.astimezone(tz).time() == dt.time(9) and by_id.start == view[-1].start
    master = by_id.recurring_master()  # GetItem by RecurringMasterItemId
    master.refresh()
    assert master.id == series.id and master.type == "RecurringMaster"
    assert master.start.astimezone(tz).time() == dt.time(9)


def test_deleting_an_occurrence_after_the_change_removes_that_one(account):
    tz = EWSTimeZone("Europe/Berlin")
    _weekly_series(account, tz, dt.date(2026, 3, 16), count=4)
    window = (EWSDateTime(2026, 3, 1, tzinfo=tz), EWSDateTime(2026, 5, 1, tzinfo=tz))
    view = list(account.calendar.view(*window))
    assert [o.start.astimezone(tz).date().day for o in view] == [16, 23, 30, 6]
    view[2].delete()  # 30 March, the first Monday of summer time
    left = list(account.calendar.view(*window))
    assert [o.start.astimezone(tz).date().day for o in left] == [16, 23, 6]
    assert {o.start.astimezone(tz).time() for o in left} == {dt.time(9)}


def test_all_day_series_stays_on_its_dates(account):
    tz = EWSTimeZone("Europe/Berlin")
    account.default_timezone = tz  # exchangelib sends an all-day item's dates in this zone
    series = CalendarItem(
        account=account, folder=account.calendar, subject="all-day weekly",
        start=EWSDate(2026, 3, 16), end=EWSDate(2026, 3, 16), is_all_day=True,
        recurrence=Recurrence(pattern=WeeklyPattern(interval=1, weekdays=[1]),
                              start=EWSDate(2026, 3, 16), number=4),
    )  # fmt: skip
    series.save()
    view = list(account.calendar.view(
        start=EWSDateTime(2026, 3, 1, tzinfo=tz), end=EWSDateTime(2026, 5, 1, tzinfo=tz)
    ))  # fmt: skip
    days = [EWSDate(2026, 3, 16), EWSDate(2026, 3, 23), EWSDate(2026, 3, 30), EWSDate(2026, 4, 6)]
    assert [o.start for o in view] == days and [o.end for o in view] == days
    assert all(o.is_all_day for o in view)
    # Midnight to midnight in Berlin: 23:00 UTC in winter, 22:00 UTC in summer.
    raw = account.calendar.view(
        start=EWSDateTime(2026, 3, 1, tzinfo=tz), end=EWSDateTime(2026, 5, 1, tzinfo=tz)
    ).only("start", "end")
    assert [o.start.astimezone(tz).time() for o in raw] == [dt.time(0)] * 4


def test_utc_series_keeps_its_utc_time(account):
    tz = EWSTimeZone("UTC")
    _weekly_series(account, tz, dt.date(2026, 3, 16), count=4)
    view = list(account.calendar.view(
        start=EWSDateTime(2026, 3, 1, tzinfo=tz), end=EWSDateTime(2026, 5, 1, tzinfo=tz)
    ))  # fmt: skip
    assert [(o.start.day, o.start.hour) for o in view] == [(16, 9), (23, 9), (30, 9), (6, 9)]
