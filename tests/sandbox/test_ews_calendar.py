"""Calendar items through unmodified exchangelib: booleans, all-day events as dates, and the
properties Exchange computes (CalendarItemType, IsRecurring, IsMeeting, Organizer)."""

import datetime

from exchangelib import CalendarItem, EWSDate, EWSDateTime
from exchangelib.recurrence import DailyPattern, Recurrence


def test_all_day_event_comes_back_as_dates_with_booleans(account):
    tz = account.default_timezone
    item = CalendarItem(
        account=account, folder=account.calendar, subject="offsite",
        start=EWSDate(2026, 12, 3), end=EWSDate(2026, 12, 4), is_all_day=True,
        reminder_is_set=True, reminder_minutes_before_start=30,
    )  # fmt: skip
    item.save()
    got = account.calendar.get(id=item.id)
    assert got.is_all_day is True and got.reminder_is_set is True
    assert got.start == EWSDate(2026, 12, 3) and isinstance(got.start, EWSDate)
    assert got.type == "Single" and got.is_recurring is False and got.is_meeting is False
    assert got.is_cancelled is False
    assert got.organizer.email_address == account.primary_smtp_address
    assert got.duration == "P1DT0H0M0S" or got.duration is not None
    start = EWSDateTime(2026, 12, 1, tzinfo=tz)
    view = account.calendar.view(start=start, end=start + datetime.timedelta(days=7))
    assert [i.subject for i in view] == ["offsite"]


def test_timed_event_and_recurring_master(account):
    tz = account.default_timezone
    start = EWSDateTime(2026, 12, 7, 9, 0, tzinfo=tz)
    single = CalendarItem(account=account, folder=account.calendar, subject="standup",
                          start=start, end=start + datetime.timedelta(minutes=15))  # fmt: skip
    single.save()
    got = account.calendar.get(id=single.id)
    assert got.is_all_day is False and got.start == start and got.type == "Single"
    series = CalendarItem(
        account=account, folder=account.calendar, subject="daily",
        start=start, end=start + datetime.timedelta(hours=1),
        recurrence=Recurrence(pattern=DailyPattern(interval=1), start=start.date(), number=5),
    )  # fmt: skip
    series.save()
    master = account.calendar.get(id=series.id)
    assert master.type == "RecurringMaster" and master.recurrence.pattern.interval == 1
