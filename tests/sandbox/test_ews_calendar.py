"""Calendar items through unmodified exchangelib: booleans, all-day events as dates, and the
properties Exchange computes (CalendarItemType, IsRecurring, IsMeeting, Organizer), server time
zones and working hours, and recurring series expanded in calendar views."""

import datetime

import pytest
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
    assert got.duration == "P2DT0H0M0S"  # exchangelib sends the end date inclusive: 3rd-4th
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


def test_server_time_zones_are_the_windows_list(info, new_mailbox):
    from connectivity import ews

    me = new_mailbox("tz")
    creds = ews.basic_credentials(me["address"], me["password"])
    acc = ews.build_account(me["address"], creds, ews_url=info["ews_url"], ca_file=info["ca_file"])
    zones = {z.id: z for z in acc.protocol.get_timezones(return_full_timezone_data=True)}
    assert len(zones) >= 130
    assert {"W. Europe Standard Time", "AUS Eastern Standard Time", "UTC-11"} <= set(zones)
    sydney = zones["AUS Eastern Standard Time"]
    assert sydney.name.startswith("(UTC+10:00)")
    # Daylight saving starts in October in the southern hemisphere.
    (group,) = sydney.transitions_groups
    to_daylight = [t for t in group.transitions if t.to.endswith("Daylight")]
    assert [t.month for t in to_daylight] == [10]


def test_free_busy_carries_working_hours_with_time_zone(info, account, new_mailbox):
    from connectivity import ews

    me = new_mailbox("wh")
    creds = ews.basic_credentials(me["address"], me["password"])
    acc = ews.build_account(me["address"], creds, ews_url=info["ews_url"], ca_file=info["ca_file"])
    start = EWSDateTime(2026, 12, 7, tzinfo=acc.default_timezone)
    [view] = acc.protocol.get_free_busy_info(
        accounts=[(account, "Required", False)], start=start,
        end=start + datetime.timedelta(days=1), merged_free_busy_interval=60,
    )  # fmt: skip
    assert view.working_hours_timezone is not None and view.working_hours_timezone.bias == 0
    (period,) = view.working_hours
    assert (period.start, period.end) == (datetime.time(8), datetime.time(17))
    assert period.weekdays == [1, 2, 3, 4, 5]


def test_calendar_view_expands_a_series_and_occurrences_can_be_read_and_deleted(account):
    from exchangelib.errors import ErrorInvalidOperation
    from exchangelib.recurrence import WeeklyPattern

    tz = account.default_timezone
    start = EWSDateTime(2026, 12, 7, 9, 0, tzinfo=tz)  # a Monday
    series = CalendarItem(
        account=account, folder=account.calendar, subject="weekly sync",
        start=start, end=start + datetime.timedelta(minutes=30),
        recurrence=Recurrence(pattern=WeeklyPattern(interval=1, weekdays=[1, 3]),
                              start=start.date(), number=6),
    )  # fmt: skip
    series.save()
    window = (start - datetime.timedelta(days=1), start + datetime.timedelta(days=30))
    view = list(account.calendar.view(*window))
    assert [o.start.astimezone(tz).strftime("%a %d") for o in view] == [
        "Mon 07", "Wed 09", "Mon 14", "Wed 16", "Mon 21", "Wed 23",
    ]  # fmt: skip
    assert {o.type for o in view} == {"Occurrence"} and all(o.is_recurring for o in view)
    third = series.occurrence(index=3)
    third.refresh()
    assert third.start == start + datetime.timedelta(days=7) and third.type == "Occurrence"
    third.subject = "moved"
    with pytest.raises(ErrorInvalidOperation):
        third.save(update_fields=["subject"])
    view[1].delete()
    remaining = list(account.calendar.view(*window))
    assert len(remaining) == 5 and view[1].start not in {o.start for o in remaining}
    master = account.calendar.get(id=series.id)
    assert [d.start for d in master.deleted_occurrences] == [view[1].start]
    assert master.type == "RecurringMaster"
